import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMAND_DONE, extractReadmeBlocks, matchesExpectedJson, parseMarker, runnableScript, splitCommands, type ReadmeBlock } from './support/readme-blocks.ts';

/**
 * The README's command blocks, run in order as a reader runs them, against `npm start` (spawned on a free port with
 * its own data directory and no drift schedule, so each verdict is the one the README's own check gives).
 * Each ```sh block is marked with an HTML comment just above it (test/support/readme-blocks.ts): `run` blocks are
 * run here, `skip: <reason>` blocks are not (AWS only, or npm itself), and an unmarked block fails the test.
 * The blocks are written for the defaults; here `http://127.0.0.1:3000` is the platform's URL, `.mlops-local/` its
 * data directory and `/tmp/` a temporary directory.
 */

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

let work: string;
let dataDir: string;
let platform: ChildProcess | undefined;
let platformLog = '';
let url: string;

/** The environment a reader has: none of the settings vitest gives the tests (silent Powertools, fake AWS keys). */
function readerEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (name.startsWith('POWERTOOLS_') || name.startsWith('AWS_') || name.startsWith('VITEST') || name === 'NODE_OPTIONS') continue;
    env[name] = value;
  }
  return { ...env, MLOPS_LOCAL_DIR: dataDir, PATH: `${join(ROOT, 'node_modules/.bin')}:${env.PATH ?? ''}` };
}

async function waitFor(file: string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!existsSync(file)) {
    if (platform?.exitCode !== null && platform?.exitCode !== undefined) throw new Error(`npm start exited ${platform.exitCode}:\n${platformLog}`);
    if (Date.now() > until) throw new Error(`npm start did not write ${file} within ${timeoutMs} ms:\n${platformLog}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'mlops-readme-'));
  dataDir = join(work, 'mlops-local');
  // `npm start` as a reader runs it (npm's own script), in its own process group so that the test stops all of it.
  platform = spawn('npm', ['start', '--silent'], {
    cwd: ROOT,
    env: { ...readerEnv(), PORT: '0', MLOPS_DRIFT_INTERVAL_SECONDS: '0' },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  platform.stdout?.on('data', (chunk: Buffer) => (platformLog += chunk.toString()));
  platform.stderr?.on('data', (chunk: Buffer) => (platformLog += chunk.toString()));
  await waitFor(join(dataDir, 'platform.json'), 100_000);
  url = (JSON.parse(readFileSync(join(dataDir, 'platform.json'), 'utf8')) as { api_url: string }).api_url.replace(/\/+$/, '');
}, 120_000);

afterAll(async () => {
  const child = platform;
  if (child?.pid !== undefined && child.exitCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const signal = (name: NodeJS.Signals): void => {
      try {
        process.kill(-(child.pid as number), name);
      } catch {
        // The group has already gone.
      }
    };
    signal('SIGINT');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 20_000))]);
    if (child.exitCode === null) signal('SIGKILL');
  }
  rmSync(work, { recursive: true, force: true });
}, 30_000);

/** The block's text for this test's platform, data directory and temporary directory. */
function localised(text: string): string {
  const local: Record<string, string> = { 'http://127.0.0.1:3000': url, '.mlops-local/': `${dataDir}/`, '/tmp/': `${work}/` };
  return text.replace(/http:\/\/127\.0\.0\.1:3000|\.mlops-local\/|\/tmp\//g, (found) => local[found] ?? found);
}

/** Runs `command` to its end without blocking this process (npm start's log keeps arriving meanwhile). */
function run(file: string, args: readonly string[], timeoutMs: number): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd: ROOT, env: readerEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** Runs a block's commands in one bash (variables carry over), each command's stdout apart; stops at the first failure. */
async function runBlock(block: ReadmeBlock): Promise<string[]> {
  const commands = splitCommands(localised(block.code));
  const result = await run('bash', ['-c', runnableScript(commands)], 240_000);
  const outputs = result.stdout.split(new RegExp(`\\n?${COMMAND_DONE}\\n`));
  if (result.status !== 0) {
    const failed = commands[outputs.length - 1] ?? '?';
    throw new Error(`README line ${block.line}: \`${failed}\` exited ${result.status}\nstdout:\n${outputs.at(-1) ?? ''}\nstderr:\n${result.stderr}`);
  }
  return outputs.slice(0, commands.length);
}

/** Waits until npm start's log has a line matching `pattern` (its output arrives through a pipe, a little after the request). */
async function logLine(pattern: RegExp): Promise<string | undefined> {
  for (let i = 0; i < 50; i++) {
    const line = platformLog.split('\n').find((l) => pattern.test(l));
    if (line !== undefined) return line;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return undefined;
}

/** What a named block must print, beyond exiting 0: what the README says around it. */
const CHECKS: Record<string, (outputs: string[]) => Promise<void>> = {
  shadow: async (outputs) => {
    // "the npm start log shows each comparison": at npm start's own log level, one line per request of 50 rows.
    expect(await logLine(/^INFO shadow scored model=credit production_version=\d+ shadow_version=2 rows=50 disagreements=\d+ mean_abs_diff=/), platformLog).toBeDefined();
    const report = /^credit +(\d+) +2 +(\d+) +(\d+) +([\d.]+)%/m.exec(outputs[2] ?? '');
    expect(report, outputs[2]).not.toBeNull();
    expect(Number(report?.[3])).toBeGreaterThanOrEqual(50);
  },
  'drift-walkthrough': async (outputs) => {
    const [, , before = '', , after = ''] = outputs;
    // "verdict ok, 0 of 13 features drifted", however much the blocks above sent in the last hour.
    expect(before).toMatch(/^rows +500$/m);
    expect(before).toMatch(/^verdict +ok$/m);
    expect(before).toMatch(/^drifted +0 of 13$/m);
    // "critical: Home critical (chi-square, PSI about 0.3), Income warning (KS, Wasserstein about 0.47), no other feature flagged".
    expect(after).toMatch(/^rows +1000$/m);
    expect(after).toMatch(/^verdict +critical$/m);
    expect(after).toMatch(/^Home +chi_square +.* critical$/m);
    expect(after).toMatch(/^Income +ks +.* warning$/m);
    expect(after.split('\n').filter((line) => /^\w+ +(ks|chi_square) .* (warning|critical)$/.test(line))).toHaveLength(2);
    const runId = /^retraining +requested, run (drift-credit-\d{8}T\d{6}Z)/m.exec(after)?.[1];
    expect(runId, after).toBeDefined();
    // The retraining that follows, with the gradient-boosted version of the blocks above in production: it trains as
    // that version was trained (its trainer and settings, its own data), so the candidate is that version again; it
    // passes the gate and, as a drift-triggered run does by default, waits for a person. Rejected, nothing changes.
    const production = async (): Promise<unknown> => (JSON.parse(await mlops('describe', '--model', 'credit', '--json')) as { production_version: unknown }).production_version;
    const before_ = await production();
    const report = async (): Promise<Record<string, unknown>> => JSON.parse(await mlops('runs', 'get', runId as string, '--json')) as Record<string, unknown>;
    let waiting = await report();
    for (let polls = 0; waiting.approval_id === null && waiting.status === 'running' && polls < 240; polls++) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      waiting = await report();
    }
    expect(waiting, JSON.stringify(waiting)).toMatchObject({ status: 'running', approval_id: expect.any(String) });
    await mlops('reject', waiting.approval_id as string, '--reason', 'the same version as production');
    const outcome = JSON.parse(await mlops('runs', 'get', runId as string, '--wait', '--json')) as Record<string, unknown>;
    expect(outcome).toMatchObject({ status: 'succeeded', outcome: 'rejected' });
    expect(JSON.stringify(outcome)).toContain('champion');
    expect(await production()).toBe(before_);
  },
};

async function mlops(...args: string[]): Promise<string> {
  const result = await run(process.execPath, [join(ROOT, 'bin/mlops.mjs'), '--local', ...args], 120_000);
  if (result.status !== 0) throw new Error(`mlops ${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  return result.stdout;
}

describe("the README's command blocks", () => {
  const blocks = extractReadmeBlocks(README);

  it('are each marked run or skip, a skip with its reason', () => {
    expect(blocks.length).toBeGreaterThan(0);
    for (const block of blocks) {
      expect(block.marker, `README line ${block.line}: a sh block needs <!-- readme-test: run --> or <!-- readme-test: skip: <reason> --> above it`).toBeDefined();
      if (block.marker?.kind === 'skip') expect(block.marker.reason.length, `README line ${block.line}`).toBeGreaterThan(10);
    }
    // Every named check has its block, so renaming one does not silently drop it.
    const ids = blocks.map((b) => (b.marker?.kind === 'run' ? b.marker.id : undefined));
    for (const id of Object.keys(CHECKS)) expect(ids).toContain(id);
  });

  it('run in order against npm start and print what the README says', { timeout: 600_000 }, async () => {
    const runnable = blocks.filter((b) => b.marker?.kind === 'run');
    expect(runnable.length).toBeGreaterThanOrEqual(5);
    for (const block of runnable) {
      const marker = block.marker as Extract<ReadmeBlock['marker'], { kind: 'run' }>;
      const outputs = await runBlock(block);
      if (marker.expectJson) {
        expect(block.followingJson, `README line ${block.line}: expect-json needs a json block right after`).toBeDefined();
        const mismatch = matchesExpectedJson(JSON.parse(outputs.at(-1) ?? 'null'), JSON.parse(block.followingJson as string));
        expect(mismatch, `README line ${block.line}`).toBeUndefined();
      }
      if (marker.id !== undefined) await CHECKS[marker.id]?.(outputs);
    }
    // npm start said nothing that reads as a warning while the README ran against it (its last lines included), but
    // for what the walkthrough says it logs: the shifted incomes beyond the training range.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const warnings = platformLog.split('\n').filter((line) => /\bwarn|No application metrics/i.test(line));
    const shiftedIncome = (line: string): boolean =>
      line.startsWith('WARN out-of-range values served model=credit ') && [...line.matchAll(/\\?"feature\\?":\\?"(\w+)/g)].every((m) => m[1] === 'Income');
    expect(warnings.filter((line) => !shiftedIncome(line))).toEqual([]);
  });
});

describe('the README test itself', () => {
  it('refuses a mark it does not know, so a typo cannot turn a block off', () => {
    expect(() => parseMarker('rnu')).toThrow('unknown readme-test mark "rnu"');
    expect(() => parseMarker('run, expect-jsno')).toThrow('unknown readme-test option "expect-jsno"');
    expect(parseMarker('skip: AWS only')).toEqual({ kind: 'skip', reason: 'AWS only' });
    expect(parseMarker('run, expect-json, id=x-1')).toEqual({ kind: 'run', expectJson: true, id: 'x-1' });
  });

  it('finds unmarked blocks and the json block after a marked one', () => {
    const blocks = extractReadmeBlocks('text\n```sh\nls\n```\n\n<!-- readme-test: run, expect-json -->\n```sh\necho \\\n  1\n# note\n```\n\n```json\n{"a":1}\n```\n');
    expect(blocks).toEqual([
      { line: 2, code: 'ls' },
      { line: 7, code: 'echo \\\n  1\n# note', marker: { kind: 'run', expectJson: true }, followingJson: '{"a":1}' },
    ]);
    expect(splitCommands(blocks[1]?.code ?? '')).toEqual(['echo \\\n  1']);
  });

  it('compares JSON to the digits the README writes, "…" for any value, and names the first difference', () => {
    expect(matchesExpectedJson({ p: 0.46398, id: 'x' }, { p: 0.464, id: '…' })).toBeUndefined();
    expect(matchesExpectedJson({ p: 0.4651 }, { p: 0.464 })).toBe('$.p: expected 0.464, got 0.4651');
    expect(matchesExpectedJson({ p: 0.35928353667259216 }, { p: 0.35928353667259216 })).toBeUndefined();
    expect(matchesExpectedJson({ p: 0.359283536672592 }, { p: 0.35928353667259216 })).toBe('$.p: expected 0.35928353667259216, got 0.359283536672592');
    expect(matchesExpectedJson({ a: [1, 2] }, { a: [1] })).toBe('$.a: expected 1 items, got [1,2]');
    expect(matchesExpectedJson({ a: 1, b: 2 }, { a: 1 })).toBe('$: unexpected keys b');
    expect(matchesExpectedJson({}, { a: 1 })).toBe('$.a: missing');
    expect(matchesExpectedJson({ a: '1' }, { a: 1 })).toBe('$.a: expected the number 1, got "1"');
  });
});
