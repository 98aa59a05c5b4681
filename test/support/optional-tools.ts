import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/**
 * The tools `npm test` uses beyond Node, which `npm ci` does not install: cfn-lint (the synthesized templates) and
 * Debian's Chromium (the dashboard and the drift report in a browser). Where one is missing, the checks that need
 * it do not run and `test/global-setup.ts` says so in one line at the end; with `CI` set, a missing tool fails the
 * run instead (`.ci/run` installs both).
 */

/** The first `name` on `PATH`, or undefined. */
function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

/** The Chromium the browser tests drive: `MLOPS_CHROMIUM`, else `chromium` on `PATH` (Debian's /usr/bin/chromium). */
export const CHROMIUM = process.env.MLOPS_CHROMIUM ?? onPath('chromium') ?? '/usr/bin/chromium';

export interface OptionalTool {
  readonly name: string;
  /** What is not checked without it. */
  readonly checks: string;
  /** How to get it. */
  readonly install: string;
  readonly present: () => boolean;
}

let cfnLintPresent: boolean | undefined;

export const CFN_LINT: OptionalTool = {
  name: 'cfn-lint',
  checks: 'cfn-lint on the synthesized templates',
  install: 'pip install cfn-lint',
  present: () => (cfnLintPresent ??= spawnSync('cfn-lint', ['--version'], { stdio: 'ignore' }).status === 0),
};

export const BROWSER: OptionalTool = {
  name: 'chromium',
  checks: 'the dashboard and the drift report in a browser',
  install: `apt-get install chromium, or MLOPS_CHROMIUM=<path>`,
  present: () => existsSync(CHROMIUM),
};

export const OPTIONAL_TOOLS: readonly OptionalTool[] = [CFN_LINT, BROWSER];

/** Whether `CI` asks for every check (GitHub Actions and most CI services set `CI=true`; `.ci/run` does too). */
export function ciRequiresEveryCheck(env: NodeJS.ProcessEnv = process.env): boolean {
  const value = env.CI?.trim().toLowerCase();
  return value !== undefined && value !== '' && value !== 'false' && value !== '0';
}

/** The line `npm test` prints when tools are missing, or undefined when none is. */
export function notCheckedLine(missing: readonly OptionalTool[]): string | undefined {
  if (missing.length === 0) return undefined;
  const parts = missing.map((tool) => `${tool.checks} (${tool.name}: ${tool.install})`);
  return `not checked here: ${parts.join('; ')}; with CI=true they are required`;
}
