import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../cli/program.ts';
import type { RunReport } from '../../cli/run-report.ts';
import { startLocalPlatform, type LocalPlatform } from '../../local/platform.ts';
import { writePlatformFile } from '../../local/platform-file.ts';

/**
 * `mlops train`, `mlops approve|reject ID` and `mlops runs get` against the local platform,
 * driven in-process as a person would type them: the real training pipeline ASL runs in
 * aws-local-stepfunctions with the real step code and onnxruntime-node.
 */

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const CREDIT_CSV = join(repoRoot, 'examples/credit/credit_data.csv');
let dataDir: string;
let workDir: string;
let platform: LocalPlatform;

interface Result {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI; `stderr` is readable while the command runs through `watch`. */
function start(args: readonly string[], watch?: { stderr: string }): Promise<Result> {
  let stdout = '';
  let stderr = '';
  return run(['--local', '--local-dir', dataDir, '--actor', 'tester@cli-test', ...args], {
    io: {
      stdout: (text) => (stdout += text),
      stderr: (text) => {
        stderr += text;
        if (watch !== undefined) watch.stderr = stderr;
      },
    },
    env: {},
    cwd: workDir,
  }).then((code) => ({ code, stdout, stderr }));
}

function mlops(...args: string[]): Promise<Result> {
  return start(args);
}

function train(model: string, ...args: string[]): Promise<Result> {
  return mlops('train', '--data', CREDIT_CSV, '--target', 'Status', '--positive', 'bad', '--model', model, ...args);
}

function parse(result: Result): RunReport {
  return JSON.parse(result.stdout) as RunReport;
}

async function eventually<T>(look: () => Promise<T | undefined> | T | undefined): Promise<T> {
  for (let i = 0; i < 2000; i++) {
    const value = await look();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error('never happened');
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'mlops-cli-train-platform-'));
  workDir = mkdtempSync(join(tmpdir(), 'mlops-cli-train-work-'));
  platform = await startLocalPlatform({
    dataDir,
    apiKey: 'cli-train-test-key-0123456789',
    port: 0,
    registryCacheTtlSeconds: 0,
    pipeline: { retryIntervalMs: 0, approvalPollMs: 20 },
  });
  writePlatformFile(dataDir, platform);
});

afterAll(async () => {
  await platform?.stop();
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(workDir, { recursive: true, force: true });
});

describe('mlops --local train', () => {
  it('trains the seeded credit model again: the same bytes as version 1, which stays promoted', async () => {
    const result = await train('credit', '--json');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const report = parse(result);
    expect(report).toMatchObject({ status: 'succeeded', outcome: 'promoted', version: 1, mode: 'production', approval_id: null, error: null });
    expect(report.metrics?.roc_auc).toBeGreaterThanOrEqual(0.825);
    expect(Object.keys(report.metrics ?? {})).toEqual(expect.arrayContaining(['roc_auc', 'accuracy', 'precision', 'recall', 'f1', 'log_loss']));
    // The champion (version 1) scores the same holdout the same way.
    expect(report.champion).toEqual({ version: 1, metrics: report.metrics });
    expect(report.fairness?.disparate_impact).toEqual(expect.any(Number));
    expect(report.gate?.passed).toBe(true);
    expect(report.gate?.reasons.map((r) => r.check)).toEqual(expect.arrayContaining(['min_roc_auc', 'champion_regression']));
    expect(report.message).toContain('model credit version 1 promoted to production');
    const model = await platform.registryService.getModel('credit');
    expect([model.production_version, model.latest_version]).toEqual([1, 1]);
    // The data went to the artifact bucket, content-addressed.
    const runState = (await (await fetch(`${platform.url}/local/v1/pipeline/runs/${report.run_id}`, { headers: { 'x-api-key': platform.apiKey } })).json()) as {
      output: { dataset: { key: string; sha256: string } };
    };
    expect(runState.output.dataset.key).toBe(`datasets/credit/${runState.output.dataset.sha256}.csv`);

    // The same outcome for people, read again with runs get.
    const text = await mlops('runs', 'get', report.run_id);
    expect(text).toMatchObject({ code: 0, stderr: '' });
    expect(text.stdout).toMatch(/^outcome\s+promoted$/m);
    expect(text.stdout).toMatch(/^HOLDOUT METRIC\s+CANDIDATE\s+CHAMPION V1$/m);
    expect(text.stdout).toMatch(/^roc_auc\s+(0\.\d{4})\s+\1$/m);
    expect(text.stdout).toMatch(/^fairness\s+protected group \d+ rows, reference \d+ rows$/m);
    expect(text.stdout).toMatch(/^ {2}disparate impact\s+\d\.\d{4}$/m);
    expect(text.stdout).toMatch(/^ {2}✓ champion_regression: /m);
    // The candidate's global importance, measured by Evaluate: every feature, largest first.
    expect(Object.keys(report.importance?.mean_abs_shap ?? {})).toHaveLength(13);
    expect(text.stdout).toMatch(/^global importance: mean \|SHAP\| in log-odds on 100 holdout rows \(linear_exact\)$/m);
    const shares = [...text.stdout.matchAll(/^\w+\s+(\d\.\d{4})\s+\d+\.\d %$/gm)].map((m) => Number(m[1]));
    expect(shares).toHaveLength(13);
    expect(shares).toEqual([...shares].sort((a, b) => b - a));
  });

  it('shows progress on stderr and the outcome as a report for people', async () => {
    const result = await train('credit-cli', '--seeds', '1,2', '--reason', 'first model');
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/^training run [0-9a-f-]{36} of model credit-cli on datasets\/credit-cli\/[0-9a-f]{64}\.csv\n/);
    // Each step by a readable name with its duration, as it finishes; the per-seed states are one step.
    const steps = result.stderr.split('\n').filter((line) => line.startsWith('  ✓ '));
    for (const line of steps) expect(line).toMatch(/^ {2}✓ [a-z:A-Z ]+? {2,}(\d+ ms|\d+\.\d s|\d+ min \d+ s)$/);
    expect(steps.map((line) => line.slice(4).replace(/ {2,}.*$/, ''))).toEqual([
      'validate the data',
      'train and evaluate',
      'compare with the champion',
      'gate',
      'register the version',
      'promote',
      'notify: promoted',
      'event: ModelPromoted',
    ]);
    expect(result.stderr).not.toMatch(/UseValidatedRun|DataValid\?|GatePassed\?/);
    expect(result.stdout).toMatch(/^status\s+succeeded$/m);
    expect(result.stdout).toMatch(/^outcome\s+promoted$/m);
    expect(result.stdout).toMatch(/^version\s+1$/m);
    expect(result.stdout).toMatch(/^mode\s+production$/m);
    expect(result.stdout).toMatch(/^HOLDOUT METRIC\s+CANDIDATE$/m);
    expect(result.stdout).toMatch(/^roc_auc\s+0\.\d{4}$/m);
    expect(result.stdout).toMatch(/^log_loss\s+0\.\d{4}$/m);
    expect(result.stdout).not.toContain('fairness'); // no protected attribute configured for this model
    expect(result.stdout).toMatch(/^gate passed$/m);
    expect(result.stdout).toMatch(/^ {2}✓ min_roc_auc: ROC AUC 0\.\d+ is at least the min 0\.7$/m);
    expect(result.stdout).toMatch(/^ {2}✓ seed_spread: /m);
    const history = await platform.registryService.history('credit-cli');
    expect(history.find((r) => r.action === 'register')?.reason).toMatch(/: first model$/);
  });

  it('trains gradient-boosted trees with parameters, and rejects a weaker candidate against the champion (exit 3)', async () => {
    const promoted = parse(await train('credit-gbdt', '--trainer', 'gbdt', '--param', 'trees=20', '--json'));
    expect(promoted).toMatchObject({ outcome: 'promoted', version: 1, champion: null });
    expect(promoted.gate?.reasons.some((r) => r.check === 'champion_regression')).toBe(false);

    const weak = await train('credit-gbdt', '--trainer', 'gbdt', '--param', 'trees=1', '--param', 'maxDepth=1', '--json');
    expect(weak.code).toBe(3);
    expect(weak.stderr).toMatch(/^mlops: training run [0-9a-f-]{36} of model credit-gbdt rejected at Gate: .+\n$/);
    const report = parse(weak);
    expect(report).toMatchObject({ status: 'succeeded', outcome: 'rejected', version: 2, mode: null, champion: { version: 1 } });
    expect(report.gate?.passed).toBe(false);
    expect(report.gate?.reasons.find((r) => r.check === 'champion_regression')?.passed).toBe(false);
    expect(report.message).toMatch(/rejected at Gate: /);
    expect((await platform.registryService.getModel('credit-gbdt')).production_version).toBe(1);
    expect((await platform.registryService.getVersion('credit-gbdt', 2)).stage).toBe('rejected');
  });

  it('refuses a parameter the trainer does not take: before uploading with --trainer, at the run\'s first step without', async () => {
    const named = await train('credit-params', '--trainer', 'logreg', '--param', 'l2=0.5', '--param', 'maxIteration=5');
    expect(named).toMatchObject({
      code: 2,
      stdout: '',
      stderr: 'mlops: --param maxIteration=5: maxIteration is not a parameter of the logreg trainer, did you mean "maxIterations"? (it takes l2, maxIterations, thresholdFolds)\n',
    });
    const outOfRange = await train('credit-params', '--trainer', 'gbdt', '--param', 'maxDepth=40');
    expect(outOfRange.stderr).toBe('mlops: --param maxDepth=40: maxDepth must be an integer from 1 to 16, got 40\n');
    await expect(platform.registryService.getModel('credit-params')).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });

    // The trainer comes from the pipeline config (logreg): the run's first step refuses the run setting before reading the data.
    const unnamed = await train('credit-params', '--param', 'seed=3', '--json');
    expect(unnamed.code).toBe(1);
    const report = parse(unnamed);
    expect(report).toMatchObject({ status: 'failed', outcome: 'failed', version: null });
    expect(report.message).toBe(
      `training run ${report.run_id} of model credit-params failed: RequestValidationError: run field "parameters.seed" is not a parameter of the logreg trainer but a setting of its own: set the run's "seeds" instead (it takes l2, maxIterations, thresholdFolds)`,
    );
    expect(unnamed.stderr).toMatch(/^mlops: training run [0-9a-f-]{36} failed: /);
    await expect(platform.registryService.getModel('credit-params')).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });
  });

  it('promotes as a canary with --canary', async () => {
    expect(parse(await train('credit-canary', '--json')).outcome).toBe('promoted');
    const canary = parse(await train('credit-canary', '--param', 'l2=3', '--canary', '20%', '--json'));
    expect(canary).toMatchObject({ outcome: 'promoted', version: 2, mode: 'canary at 0.2' });
    expect((await platform.registryService.getModel('credit-canary')).canary).toEqual({ version: 2, share: 0.2 });
  });

  it('fails with exit code 1 when the data does not pass validation', async () => {
    writeFileSync(join(workDir, 'broken.csv'), 'Status,Age\ngood,30\nbad,40\n');
    const result = await mlops('train', '--data', 'broken.csv', '--target', 'Status', '--positive', 'bad', '--model', 'broken', '--json');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^mlops: training run [0-9a-f-]{36} failed: DataValidationFailed\n$/);
    const report = parse(result);
    expect(report).toMatchObject({ status: 'failed', outcome: 'failed', version: null, metrics: null, error: { name: 'DataValidationFailed' } });
    expect(report.message).toMatch(/rejected at ValidateData: /);

    const text = await mlops('train', '--data', 'broken.csv', '--target', 'Status', '--positive', 'bad', '--model', 'broken');
    expect(text.code).toBe(1);
    expect(text.stderr).toMatch(/^ {2}✓ validate the data {2,}\S/m);
    expect(text.stderr).not.toContain('train and evaluate');
    expect(text.stdout).toMatch(/^outcome\s+failed$/m);
    expect(text.stdout).toMatch(/^error\s+DataValidationFailed: /m);
    await expect(platform.registryService.getModel('broken')).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });
  });

  it('waits for an approval that a second call gives, then promotes', async () => {
    const watch = { stderr: '' };
    const training = start(['train', '--data', CREDIT_CSV, '--target', 'Status', '--positive', 'bad', '--model', 'credit-approved', '--approval'], watch);
    const id = await eventually(() => /waiting for approval: mlops --local approve ([0-9a-f]{12}) {2}or {2}mlops --local reject \1\n/.exec(watch.stderr)?.[1]);

    const approved = await mlops('approve', id, '--reason', 'checked the fairness report');
    expect(approved).toMatchObject({ code: 0, stderr: '' });
    expect(approved.stdout).toMatch(new RegExp(`^approval ${id} approved: training run [0-9a-f-]{36} of model credit-approved goes on to register and promote its candidate\\n$`));

    const result = await training;
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/^ {2}✓ wait for approval {2,}\S/m);
    expect(result.stdout).toMatch(/^outcome\s+promoted$/m);
    expect((await platform.registryService.getModel('credit-approved')).production_version).toBe(1);
    expect((await platform.approvals.get(id))?.status).toBe('approved');

    const again = await mlops('approve', id);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^mlops: approval [0-9a-f]{12} was decided already \(approved\) \(ALREADY_DECIDED, HTTP 409\)\n$/);
  });

  it('starts without waiting, finds the approval with runs get, and a rejection ends the run rejected', async () => {
    const started = await train('credit-rejected', '--approval', '--no-wait', '--json');
    expect(started.code).toBe(0);
    const { run_id: runId, status, outcome } = parse(started);
    expect([status, outcome]).toEqual(['running', 'running']);

    const id = await eventually(async () => {
      const look = parse(await mlops('--json', 'runs', 'get', runId));
      return look.approval_id ?? undefined;
    });
    const waiting = await mlops('runs', 'get', runId);
    expect(waiting.stdout).toMatch(/^status\s+running$/m);
    expect(waiting.stdout).toContain(`waiting: mlops --local approve ${id}`);

    const rejected = await mlops('reject', id, '--reason', 'not this week');
    expect(rejected).toMatchObject({ code: 0, stderr: '' });
    expect(rejected.stdout).toMatch(/records the rejection; the champion stays\n$/);

    const ended = await mlops('--json', 'runs', 'get', runId, '--wait');
    expect(ended.code).toBe(0);
    const report = parse(ended);
    expect(report).toMatchObject({ status: 'succeeded', outcome: 'rejected', approval_id: null });
    expect(report.message).toContain('rejected by tester@cli-test: not this week');
    await expect(platform.registryService.getModel('credit-rejected')).resolves.toMatchObject({ production_version: null });
  });

  it('fails with one line on unknown approvals, runs and wrong usage', async () => {
    const unknown = await mlops('approve', '0123456789ab');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe('mlops: no approval 0123456789ab (APPROVAL_NOT_FOUND, HTTP 404)\n');
    const noRun = await mlops('runs', 'get', 'nope');
    expect(noRun.code).toBe(1);
    expect(noRun.stderr).toBe('mlops: no run nope (RUN_NOT_FOUND, HTTP 404)\n');
    const both = await mlops('reject', '0123456789ab', '--model', 'credit', '--version', '1');
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/^mlops: give either an approval id .* not both\n$/);
    const missing = await mlops('train', '--data', 'nope.csv', '--target', 'Status', '--positive', 'bad', '--model', 'x');
    expect(missing).toMatchObject({ code: 1, stdout: '', stderr: 'mlops: data file nope.csv does not exist\n' });
    const badParam = await mlops('train', '--data', CREDIT_CSV, '--target', 'Status', '--positive', 'bad', '--model', 'x', '--param', 'l2');
    expect(badParam.code).toBe(2);
    expect(badParam.stderr).toMatch(/a parameter is name=number/);
    const badTrainer = await mlops('train', '--data', CREDIT_CSV, '--target', 'Status', '--positive', 'bad', '--model', 'x', '--trainer', 'svm');
    expect(badTrainer.code).toBe(2);
    expect(badTrainer.stderr).toMatch(/Allowed choices are logreg, gbdt, sagemaker/);
  });
});
