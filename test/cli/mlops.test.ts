import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runMlops, runMlopsJson, type CliResult } from '../support/mlops-cli.ts';
import type { AuditRecord, ModelRecord, ModelVersionRecord } from '#core/registry/records.ts';
import { trainLogisticRegression } from '#core/training/train-binary-classifier.ts';
import { startLocalPlatform, type LocalPlatform } from '../../local/platform.ts';
import { writePlatformFile } from '../../local/platform-file.ts';
import { CREDIT_INSTANCE } from '../support/credit-instances.ts';

/**
 * The `mlops` CLI against the local platform, driven in-process as a person would type it:
 * register a second credit version, promote it, predict, roll back, read the history; plus
 * canary, shadow, archive, soft delete, JSON output and one-line failures.
 */

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
let dataDir: string;
let workDir: string;
let platform: LocalPlatform;

const local = (args: string[]): string[] => ['--local', '--local-dir', dataDir, '--actor', 'tester@cli-test', ...args];
const mlops = (...args: string[]): Promise<CliResult> => runMlops(local(args), { cwd: workDir });
/** Runs a command that must succeed with `--json` and parses its output. */
const mlopsJson = <T>(...args: string[]): Promise<T> => runMlopsJson<T>(local(args), { cwd: workDir });

function expectOneLineFailure(result: CliResult, code: number, pattern: RegExp): void {
  expect(result.code).toBe(code);
  expect(result.stdout).toBe('');
  expect(result.stderr).toMatch(/^mlops: [^\n]+\n$/);
  expect(result.stderr).toMatch(pattern);
}

/** Trains a credit model as examples/credit/train.ts does, with other settings, into `dir`. */
function trainCreditVersion(dir: string, options: { seed: number; l2?: number }): { onnx: string; metadata: string } {
  const csv = readFileSync(join(repoRoot, 'examples/credit/credit_data.csv'));
  const { onnx, metadata } = trainLogisticRegression({
    csv: csv.toString('utf8'),
    target: 'Status',
    positiveLabel: 'bad',
    seed: options.seed,
    ...(options.l2 === undefined ? {} : { l2: options.l2 }),
    dataSha256: createHash('sha256').update(csv).digest('hex'),
  });
  const paths = { onnx: join(dir, 'model.onnx'), metadata: join(dir, 'metadata.json') };
  writeFileSync(paths.onnx, onnx);
  writeFileSync(paths.metadata, `${JSON.stringify(metadata, null, 2)}\n`);
  return paths;
}

const INSTANCES = JSON.stringify([CREDIT_INSTANCE]);

// A platform of its own for every test: each starts from the seeded reference model (credit version 1 in
// production) and sets up what else it needs, so the tests pass in any order and alone.
beforeEach(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'mlops-cli-platform-'));
  workDir = mkdtempSync(join(tmpdir(), 'mlops-cli-work-'));
  platform = await startLocalPlatform({ dataDir, apiKey: 'cli-test-key-0123456789', port: 0, registryCacheTtlSeconds: 0 });
  // What local/start.ts writes for the CLI's --local.
  writePlatformFile(dataDir, platform);
});

afterEach(async () => {
  await platform?.stop();
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(workDir, { recursive: true, force: true });
});

/** Registers a credit version trained with `options` and expects it to become `version`. */
async function registerCreditVersion(version: number, options: { seed: number; l2?: number }): Promise<void> {
  const paths = trainCreditVersion(mkdtempSync(join(workDir, `v${version}-`)), options);
  const registered = await mlopsJson<{ version: ModelVersionRecord }>('register', '--model', 'credit', '--onnx', paths.onnx, '--metadata', paths.metadata);
  expect(registered.version.version).toBe(version);
}

describe('mlops --local', () => {
  it('lists the seeded reference model as a table and as JSON', async () => {
    const table = await mlops('list');
    expect(table.code).toBe(0);
    expect(table.stdout.split('\n')[0]).toMatch(/^MODEL\s+PRODUCTION\s+CANARY\s+SHADOW/);
    expect(table.stdout).toMatch(/^credit\s+1\s/m);
    const models = await mlopsJson<ModelRecord[]>('list');
    expect(models.map((m) => [m.model, m.production_version])).toEqual([['credit', 1]]);
  });

  it('registers a second credit version, promotes it, predicts with it, rolls back and shows the history', async () => {
    const v2 = trainCreditVersion(mkdtempSync(join(workDir, 'v2-')), { seed: 7 });

    const registered = await mlops('register', '--model', 'credit', '--onnx', v2.onnx, '--metadata', v2.metadata, '--reason', 'retrained with seed 7');
    expect(registered).toMatchObject({ code: 0, stderr: '' });
    expect(registered.stdout).toMatch(/^credit: registered version 2 as a candidate$/m);
    expect(registered.stdout).toContain('artifact loads in onnxruntime');

    // The same bytes again: the existing version, nothing new.
    const again = await mlopsJson<{ deduplicated: boolean; version: ModelVersionRecord; checks: string[] }>(
      'register', '--model', 'credit', '--onnx', v2.onnx, '--metadata', v2.metadata,
    );
    expect(again.deduplicated).toBe(true);
    expect(again.version.version).toBe(2);

    const promoted = await mlops('promote', '--model', 'credit', '--version', '2', '--reason', 'better roc_auc');
    expect(promoted).toMatchObject({ code: 0, stderr: '' });
    expect(promoted.stdout).toContain('credit: promoted version 2 to production (production=2');

    const predicted = await mlops('predict', '--model', 'credit', '--instances', INSTANCES);
    expect(predicted).toMatchObject({ code: 0, stderr: '' });
    expect(predicted.stdout).toMatch(/^version\s+2$/m);
    expect(predicted.stdout).toMatch(/^variant\s+production$/m);
    expect(predicted.stdout).toMatch(/^\s+0\s+(good|bad)\s+0\.\d+$/m);

    const rolledBack = await mlops('rollback', '--model', 'credit', '--reason', 'drill');
    expect(rolledBack).toMatchObject({ code: 0, stderr: '' });
    expect(rolledBack.stdout).toContain('rolled back production from version 2 to version 1');

    const answer = await mlopsJson<{ model_version: number; variant: string; predictions: unknown[] }>(
      'predict', '--model', 'credit', '--instances', INSTANCES,
    );
    expect(answer).toMatchObject({ model_version: 1, variant: 'production' });
    expect(answer.predictions).toHaveLength(1);

    const history = await mlopsJson<AuditRecord[]>('history', '--model', 'credit');
    const mine = history.filter((r) => r.actor === 'tester@cli-test');
    expect(mine.map((r) => [r.action, r.version, r.outcome, r.reason])).toEqual([
      ['register', 2, 'applied', 'retrained with seed 7'],
      ['promote', 2, 'applied', 'better roc_auc'],
      ['rollback', 1, 'applied', 'drill'],
    ]);
    const table = await mlops('history', '--model', 'credit');
    expect(table.code).toBe(0);
    expect(table.stdout.split('\n')[0]).toMatch(/^AT\s+ACTOR\s+ACTION\s+VERSION\s+FROM\s+TO\s+OUTCOME\s+REASON$/);
    expect(table.stdout).toMatch(/tester@cli-test\s+rollback\s+1\s+production=2\s+production=1\s+applied\s+drill/);
  });

  it('reads the rows to score from a file', async () => {
    const file = join(workDir, 'rows.json');
    writeFileSync(file, JSON.stringify({ instances: [CREDIT_INSTANCE, CREDIT_INSTANCE] }));
    const answer = await mlopsJson<{ predictions: unknown[] }>('predict', '--model', 'credit', '--file', 'rows.json');
    expect(answer.predictions).toHaveLength(2);
  });

  it('sets and clears a canary and a shadow, then archives and soft-deletes the version', async () => {
    await registerCreditVersion(2, { seed: 7 });
    // Same split as production (seed 42), so the same features: it may share production's traffic.
    const v3 = trainCreditVersion(mkdtempSync(join(workDir, 'v3-')), { seed: 42, l2: 3 });
    expect((await mlops('register', '--model', 'credit', '--onnx', v3.onnx, '--metadata', v3.metadata)).code).toBe(0);

    const canary = await mlops('canary', 'set', '--model', 'credit', '--version', '3', '--share', '10%');
    expect(canary).toMatchObject({ code: 0, stderr: '' });
    expect(canary.stdout).toContain('canary=3@10%');
    let described = await mlopsJson<{ model: ModelRecord; versions: ModelVersionRecord[] }>('describe', '--model', 'credit');
    expect(described.model.canary).toEqual({ version: 3, share: 0.1 });
    const table = await mlops('describe', '--model', 'credit');
    expect(table.stdout).toMatch(/^canary\s+3 @ 10%$/m);
    expect(table.stdout).toMatch(/^\s+3\s+staging\s+canary 10%/m);
    expect((await mlops('canary', 'clear', '--model', 'credit')).code).toBe(0);

    const shadow = await mlopsJson<{ action: string; result: string; model: ModelRecord }>('shadow', 'set', '--model', 'credit', '--version', '3');
    expect(shadow).toMatchObject({ action: 'shadow_set', result: 'applied', model: { shadow_version: 3, canary: null } });
    expect((await mlops('shadow', 'clear', '--model', 'credit')).code).toBe(0);

    expect((await mlops('archive', '--model', 'credit', '--version', '3')).code).toBe(0);
    described = await mlopsJson('describe', '--model', 'credit');
    expect(described.versions.find((v) => v.version === 3)?.stage).toBe('archived');

    const deleted = await mlops('delete', '--model', 'credit', '--version', '3');
    expect(deleted.stdout).toContain('version 3 deleted (soft');
    const live = await mlopsJson<ModelVersionRecord[]>('versions', '--model', 'credit');
    expect(live.map((v) => v.version)).toEqual([1, 2]);
    const all = await mlopsJson<ModelVersionRecord[]>('versions', '--model', 'credit', '--all');
    expect(all.find((v) => v.version === 3)?.deleted_at).toEqual(expect.any(String));
  });

  it('answers a retry with the same client token without changing anything twice', async () => {
    await registerCreditVersion(2, { seed: 7 });
    const first = await mlopsJson<{ result: string }>('promote', '--model', 'credit', '--version', '2', '--client-token', 'retry-1');
    const retry = await mlops('promote', '--model', 'credit', '--version', '2', '--client-token', 'retry-1');
    expect(first.result).toBe('applied');
    expect(retry).toMatchObject({ code: 0, stderr: '' });
    expect(retry.stdout).toContain('already applied with the same --client-token; nothing changed (production=2');
    const history = await mlopsJson<AuditRecord[]>('history', '--model', 'credit');
    expect(history.filter((r) => r.action === 'promote' && r.actor === 'tester@cli-test')).toHaveLength(1);
  });

  it('fails with one line and exit code 1 when the registry refuses', async () => {
    await registerCreditVersion(2, { seed: 7 });
    expectOneLineFailure(await mlops('promote', '--model', 'credit', '--version', '9'), 1, /has no version 9 \(VERSION_NOT_FOUND\)/);
    expectOneLineFailure(await mlops('describe', '--model', 'nope'), 1, /model "nope" does not exist \(MODEL_NOT_FOUND\)/);
    expectOneLineFailure(
      await mlops('promote', '--model', 'credit', '--version', '2', '--expected-revision', '1'),
      1,
      /CONCURRENT_CHANGE/,
    );
    expectOneLineFailure(await mlops('predict', '--model', 'credit', '--instances', '[{"Age": 30}]'), 1, /HTTP 400/);
  });

  it('fails with one line and exit code 2 on wrong usage', async () => {
    expectOneLineFailure(await mlops('promote', '--model', 'credit'), 2, /required option '-v, --version <n>' not specified/);
    expectOneLineFailure(await mlops('promote', '--model', 'credit', '--version', 'two'), 2, /version is a whole number/);
    expectOneLineFailure(await mlops('canary', 'set', '--model', 'credit', '--version', '2', '--share', '1.5'), 2, /between 0 and 1/);
    expectOneLineFailure(await mlops('predict', '--model', 'credit'), 2, /exactly one of --instances JSON or --file FILE/);
    expectOneLineFailure(await mlops('promte'), 2, /unknown command 'promte' \(Did you mean promote\?\)/);
  });

  it('says when the local platform is not running', async () => {
    const empty = mkdtempSync(join(workDir, 'not-running-'));
    const { code, stderr } = await runMlops(['--local', '--local-dir', empty, 'list'], { cwd: workDir });
    expect(code).toBe(1);
    expect(stderr).toMatch(/^mlops: the local platform is not running: start it with npm start \(no .*platform\.json\)\n$/);
  });
});

describe('bin/mlops.mjs', () => {
  const execFileAsync = promisify(execFile);

  it('starts the CLI through the launcher', async () => {
    const { stdout } = await execFileAsync(process.execPath, ['bin/mlops.mjs', '--help'], { cwd: repoRoot });
    expect(stdout).toMatch(/^Usage: mlops \[options\] \[command\]/);
    expect(stdout).toContain('rollback');
  });

  it('exits non-zero with one line on failure', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'mlops-cli-empty-'));
    try {
      const failure = await execFileAsync(process.execPath, ['bin/mlops.mjs', '--local', '--local-dir', empty, 'list'], { cwd: repoRoot }).then(
        () => undefined,
        (error: unknown) => error as { code: number; stdout: string; stderr: string },
      );
      expect(failure?.code).toBe(1);
      expect(failure?.stdout).toBe('');
      expect(failure?.stderr).toMatch(/^mlops: the local platform is not running: start it with npm start[^\n]*\n$/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
