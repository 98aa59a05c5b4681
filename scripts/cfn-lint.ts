/**
 * Synthesizes the CDK app into a temporary directory and runs cfn-lint on every template (the data stack and the
 * serving stack).
 * Exits non-zero when synthesis fails (config error, unacknowledged cdk-nag finding) or cfn-lint reports an error;
 * cfn-lint warnings and informational findings are printed but do not fail.
 *
 *   npx tsx scripts/cfn-lint.ts [--keep]     (--keep leaves the synthesized assembly in place and prints its path)
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const PROJECT_ROOT = fileURLToPath(new URL('../', import.meta.url));

export interface LintResult {
  /** cfn-lint's exit status (0 when only warnings/informational findings). */
  readonly status: number;
  readonly output: string;
}

/** The `*.template.json` files of a cloud assembly directory. */
export function templatesIn(assemblyDir: string): string[] {
  return readdirSync(assemblyDir)
    .filter((name) => name.endsWith('.template.json'))
    .map((name) => join(assemblyDir, name));
}

/**
 * Runs cfn-lint on the templates; only errors make the status non-zero (`--non-zero-exit-code error`).
 * Status 127 means cfn-lint is not installed.
 */
export function runCfnLint(templates: readonly string[]): LintResult {
  if (templates.length === 0) return { status: 1, output: 'no templates to lint' };
  const result = spawnSync('cfn-lint', ['--non-zero-exit-code', 'error', '--', ...templates], { encoding: 'utf8' });
  if (result.error !== undefined) {
    return { status: 127, output: `could not run cfn-lint: ${result.error.message}` };
  }
  return { status: result.status ?? 1, output: `${result.stdout}${result.stderr}` };
}

function main(): number {
  const keep = process.argv.includes('--keep');
  const outdir = mkdtempSync(join(tmpdir(), 'mlops-cfn-lint-'));
  try {
    // Synthesis must never need credentials: make sure none leak in.
    const env = Object.fromEntries(
      Object.entries(process.env).filter(([key]) => !key.startsWith('AWS_') || key === 'AWS_REGION'),
    );
    const synth = spawnSync('npx', ['cdk', 'synth', '--quiet', '--output', outdir], {
      cwd: PROJECT_ROOT,
      env,
      stdio: 'inherit',
    });
    if (synth.status !== 0) {
      console.error(`cdk synth failed (exit ${synth.status ?? 'signal'})`);
      return 1;
    }
    const templates = templatesIn(outdir);
    const lint = runCfnLint(templates);
    if (lint.output.trim() !== '') console.log(lint.output.trimEnd());
    if (lint.status !== 0) {
      console.error(`cfn-lint found errors (exit ${lint.status})`);
      return 1;
    }
    console.log(`cfn-lint: ${templates.length} template(s) without errors`);
    return 0;
  } finally {
    if (keep) console.log(`assembly kept in ${outdir}`);
    else rmSync(outdir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = main();
}
