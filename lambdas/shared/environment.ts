/**
 * Plain environment reads of the handlers (names from `contracts/env.ts`). A variable carrying a setting of the
 * deployment config is read with `configEnv` / `parseJsonEnv` of the contracts instead, with the setting's schema.
 */

/** Thrown at cold start when the function is deployed without a setting it needs. */
export class MissingEnvironmentError extends Error {
  constructor(name: string, reason: string) {
    super(`environment variable ${name} ${reason}`);
    this.name = 'MissingEnvironmentError';
  }
}

/** Reads a required string variable. */
export function requireEnv(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const value = env[name];
  if (value === undefined || value === '') throw new MissingEnvironmentError(name, 'is not set');
  return value;
}

/** Reads an optional positive integer, falling back to `fallback` when unset. */
export function integerEnv(name: string, fallback: number, env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) {
    throw new MissingEnvironmentError(name, `must be a non-negative integer, got "${raw}"`);
  }
  return value;
}
