import { expect } from 'vitest';
import { run } from '../../cli/program.ts';
import type { RunEnvironment } from '../../cli/context.ts';

/** What one in-process `mlops` call printed and its exit code. */
export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI in-process with an empty environment, collecting what it prints. */
export async function runMlops(args: readonly string[], options: Omit<RunEnvironment, 'io' | 'env'> & { readonly cwd: string }): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const code = await run([...args], {
    ...options,
    io: { stdout: (text) => (stdout += text), stderr: (text) => (stderr += text) },
    env: {},
  });
  return { code, stdout, stderr };
}

/** The same with `--json` first, for a call that must succeed quietly: its parsed output. */
export async function runMlopsJson<T>(args: readonly string[], options: Parameters<typeof runMlops>[1]): Promise<T> {
  const result = await runMlops(['--json', ...args], options);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as T;
}
