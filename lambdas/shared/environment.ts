/**
 * The one place handlers read their environment. The names match what the CDK sets
 * (lib/constructs/environment.ts) and what the local platform sets (local/).
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

/** Reads a comma-separated list; empty when unset. */
export function listEnv(name: string, env: NodeJS.ProcessEnv = process.env): string[] {
  return (env[name] ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

/** Reads an optional finite number in [min, max], falling back to `fallback` when unset. */
export function numberEnv(name: string, fallback: number, min: number, max: number, env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new MissingEnvironmentError(name, `must be a number from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

/** Reads an optional string that must be one of `options`, falling back to `fallback` when unset. */
export function oneOfEnv<T extends string>(name: string, options: readonly T[], fallback: T, env: NodeJS.ProcessEnv = process.env): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const match = options.find((option) => option === raw);
  if (match === undefined) throw new MissingEnvironmentError(name, `must be one of ${options.join(', ')}, got "${raw}"`);
  return match;
}
