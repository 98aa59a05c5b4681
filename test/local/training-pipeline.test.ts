import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3ServiceException } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCsv } from '#core/data/csv.ts';
import { toLabelledTable } from '#core/data/table.ts';
import { datasetKey } from '#core/pipeline/run.ts';
import { TransientError } from '#core/pipeline/steps.ts';
import { startLocalPlatform, type LocalPlatform } from '../../local/platform.ts';

/**
 * The training pipeline's real ASL, run end to end by aws-local-stepfunctions against the
 * local platform (dynalite + s3rver), with the real step code and onnxruntime-node.
 */

const CREDIT_CSV = readFileSync(new URL('../../examples/credit/credit_data.csv', import.meta.url));
let dataDir: string;
let platform: LocalPlatform;
const faults = new Map<string, number>();
const calls = new Map<string, number>();
/** S3 faults: calls of the pipeline's S3 client on a key under the prefix fail with SlowDown that many times. */
const s3Faults = new Map<string, number>();

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'mlops-pipeline-'));
  platform = await startLocalPlatform({
    dataDir,
    apiKey: 'k',
    registryCacheTtlSeconds: 0,
    pipeline: {
      retryIntervalMs: 0,
      approvalPollMs: 20,
      // Fault injection: a step named in `faults` throws a transient error that many times.
      stepOverride: async (step, payload, next) => {
        const key = `${String((payload.run as { model?: string }).model)}:${step}`;
        calls.set(key, (calls.get(key) ?? 0) + 1);
        const remaining = faults.get(key) ?? 0;
        if (remaining > 0) {
          faults.set(key, remaining - 1);
          throw new TransientError(`injected fault in ${step}`);
        }
        return next();
      },
      s3Fault: (_command, input) => {
        const key = typeof input.Key === 'string' ? input.Key : '';
        for (const [prefix, remaining] of s3Faults) {
          if (key.startsWith(prefix) && remaining > 0) {
            s3Faults.set(prefix, remaining - 1);
            return new S3ServiceException({
              name: 'SlowDown',
              $fault: 'server',
              $metadata: { httpStatusCode: 503 },
              message: 'Please reduce your request rate.',
            });
          }
        }
        return undefined;
      },
    },
  });
});

afterAll(async () => {
  await platform?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

async function upload(model: string, bytes: Uint8Array): Promise<{ key: string; sha256: string }> {
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const key = datasetKey(model, sha256);
  await platform.artifacts.putBytes(key, bytes, 'text/csv');
  return { key, sha256 };
}

async function run(input: Record<string, unknown>) {
  const { done } = platform.pipeline.start({ target: 'Status', positive_label: 'bad', requested_by: 'test', ...input });
  return done;
}

function eventsOf(runId: string, detailType: string) {
  return platform.pipeline.events.filter((e) => e.run_id === runId && e.detail_type === detailType);
}

describe('training pipeline (local Step Functions)', () => {
  it('validates, trains, evaluates in onnxruntime, gates, registers and promotes the credit model', async () => {
    const dataset = await upload('credit-e2e', CREDIT_CSV);

    const result = await run({ model: 'credit-e2e', dataset });

    expect(result.status).toBe('succeeded');
    expect(result.progress).toEqual(
      expect.arrayContaining(['ValidateData', 'TrainSeeds', 'Train', 'Evaluate', 'CompareWithChampion', 'Gate', 'Register', 'Promote']),
    );
    const model = await platform.registryService.getModel('credit-e2e');
    expect(model.production_version).toBe(1);
    const version = await platform.registryService.getVersion('credit-e2e', 1);
    expect(version.metadata.metrics.roc_auc).toBeGreaterThanOrEqual(0.825);
    // Evaluate measured the global importance on the holdout, stored with the version: every feature, the closed form.
    const importance = version.metadata.feature_importance;
    expect(importance).toMatchObject({ method: 'linear_exact', rows: 100, background_rows: 100 });
    expect(Object.keys(importance?.mean_abs_shap ?? {})).toEqual(version.metadata.input_schema.features.map((f) => f.name));
    expect(Math.max(...Object.values(importance?.mean_abs_shap ?? {}))).toBeGreaterThan(0.1);
    const [promoted] = eventsOf(result.run_id, 'ModelPromoted');
    expect(promoted?.body).toMatchObject({ model: 'credit-e2e', version: 1, mode: 'production' });
    expect(platform.pipeline.events.some((e) => e.run_id === result.run_id && e.kind === 'notification')).toBe(true);
  });

  it('stops bad data at ValidateData with a report, and promotes nothing', async () => {
    const broken = new TextEncoder().encode('Status,Age\ngood,30\nbad,40\n');
    const dataset = await upload('bad-data', broken);

    const result = await run({ model: 'bad-data', dataset });

    expect(result.status).toBe('failed');
    expect(result.error?.name).toBe('DataValidationFailed');
    expect(result.progress).not.toContain('Train');
    const report = await platform.artifacts.getBytesIfExists(`pipeline-runs/bad-data/${result.run_id}/data-quality.json`);
    expect(JSON.parse(new TextDecoder().decode(report))).toMatchObject({ passed: false });
    expect(eventsOf(result.run_id, 'ModelRejected')).toHaveLength(1);
    await expect(platform.registryService.getModel('bad-data')).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });
  });

  it("reads the run's missing tokens as missing, so a numeric column with such cells stays numeric", async () => {
    // Every 10th Income cell says `unknown`: without the token the column would be categorical.
    const [header, ...lines] = new TextDecoder().decode(CREDIT_CSV).trimEnd().split('\n');
    const income = (header as string).split(',').indexOf('"Income"');
    expect(income).toBeGreaterThan(0);
    const edited = lines.map((line, i) => (i % 10 === 0 ? line.split(',').map((cell, c) => (c === income ? 'unknown' : cell)).join(',') : line));
    const dataset = await upload('credit-tokens', new TextEncoder().encode([header, ...edited].join('\n') + '\n'));

    const result = await run({ model: 'credit-tokens', dataset, missing_tokens: ['unknown', 'NA'] });

    expect(result.status).toBe('succeeded');
    const version = await platform.registryService.getVersion('credit-tokens', 1);
    expect(version.metadata.input_schema.features.find((f) => f.name === 'Income')?.type).toBe('numeric');
    const profile = version.metadata.baseline['Income'];
    expect(profile?.type === 'numeric' ? profile.missing_rate : 0).toBeGreaterThan(0.15);

    // The predict API labels by the threshold the trainer chose and stored (maxF1 here, not 0.5).
    const { threshold, positive_label: positive, negative_label: negative } = version.metadata.output;
    expect(threshold).not.toBe(0.5);
    const required = version.metadata.input_schema.features.filter((f) => !f.nullable).map((f) => f.name);
    const instances = toLabelledTable(parseCsv(new TextDecoder().decode(CREDIT_CSV)), 'Status', 'bad')
      .rows.filter((row) => required.every((name) => row[name] !== null))
      .slice(0, 300);
    const response = await fetch(`${platform.url}/v1/models/credit-tokens/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'k' },
      body: JSON.stringify({ instances }),
    });
    const body = (await response.json()) as unknown;
    expect(response.status, JSON.stringify(body)).toBe(200);
    const { predictions } = body as { predictions: { label: string; probability: number }[] };
    for (const p of predictions) expect(p.label).toBe(p.probability >= threshold ? positive : negative);
    // Some answers lie between the stored threshold and 0.5, where a fixed 0.5 would label them the other way.
    const between = predictions.filter((p) => (p.probability - threshold) * (p.probability - 0.5) < 0);
    expect(between.length).toBeGreaterThan(0);
  });

  it('rejects a candidate worse than the champion, and the champion stays', async () => {
    const dataset = await upload('champion', CREDIT_CSV);
    const first = await run({ model: 'champion', dataset });
    expect(first.status).toBe('succeeded');

    const weak = await run({ model: 'champion', dataset, trainer: 'gbdt', parameters: { trees: 1, maxDepth: 1 } });

    expect(weak.status).toBe('succeeded');
    expect(weak.progress).toContain('RecordRejection');
    expect(weak.progress).not.toContain('Promote');
    const model = await platform.registryService.getModel('champion');
    expect(model.production_version).toBe(1);
    const [rejected] = eventsOf(weak.run_id, 'ModelRejected');
    expect(rejected?.body).toMatchObject({ stage: 'Gate' });
    expect((await platform.registryService.getVersion('champion', 2)).stage).toBe('rejected');
  });

  it('retries a task that fails twice, then goes on', async () => {
    const dataset = await upload('flaky', CREDIT_CSV);
    faults.set('flaky:train', 2);

    const result = await run({ model: 'flaky', dataset });

    expect(result.status).toBe('succeeded');
    expect(calls.get('flaky:train')).toBe(3);
    expect((await platform.registryService.getModel('flaky')).production_version).toBe(1);
  });

  it('catches a task that keeps failing, records it and notifies', async () => {
    const dataset = await upload('broken-eval', CREDIT_CSV);
    faults.set('broken-eval:evaluate', 100);

    const result = await run({ model: 'broken-eval', dataset });

    expect(result.status).toBe('failed');
    expect(result.error?.name).toBe('PipelineFailed');
    expect(calls.get('broken-eval:evaluate')).toBe(4);
    expect(result.progress).toEqual(expect.arrayContaining(['RecordFailure', 'NotifyFailure', 'EmitFailure']));
    const [failed] = eventsOf(result.run_id, 'PipelineFailed');
    expect(failed?.body).toMatchObject({ model: 'broken-eval', error: 'TransientError' });
    await expect(platform.registryService.getModel('broken-eval')).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });
  });

  it('runs the xgboost trainer up to its SageMaker job: the encoded shards are written, then the run fails saying the algorithm needs AWS', async () => {
    const dataset = await upload('xgb-local', CREDIT_CSV);

    const result = await run({ model: 'xgb-local', dataset, trainer: 'xgboost' });

    expect(result.status).toBe('failed');
    expect(result.progress).toEqual(expect.arrayContaining(['PrepareXgboostData', 'TrainXgboostOnSageMaker', 'RecordFailure', 'NotifyFailure']));
    expect(result.progress).not.toContain('ConvertXgboostModel');
    const shard = await platform.artifacts.getBytesIfExists(`training-data/xgb-local/${result.run_id}/seed-42/train/part-00000.csv`);
    expect(new TextDecoder().decode(shard).split('\n')[0]).toMatch(/^[01](,-?[\d.e+-]+)+$/);
    const [failed] = eventsOf(result.run_id, 'PipelineFailed');
    expect(failed?.body).toMatchObject({ model: 'xgb-local', error: 'PipelineStepError' });
    expect(JSON.stringify(failed?.body)).toMatch(/built-in XGBoost algorithm, which needs AWS.*register --xgboost/);
    await expect(platform.registryService.getModel('xgb-local')).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });
  });

  it('retries a transient S3 error: the handler maps SlowDown to TransientError, the ASL Retry runs the step again and the run succeeds', async () => {
    // Prepare: the first read of the dataset by the pipeline's S3 client fails as S3 does under load.
    const dataset = await upload('flaky-s3', CREDIT_CSV);
    s3Faults.set('datasets/flaky-s3/', 1);

    // Act
    const result = await run({ model: 'flaky-s3', dataset });

    // Assess: the fault fired, the step ran twice, and nothing of it shows in the outcome.
    expect(s3Faults.get('datasets/flaky-s3/')).toBe(0);
    expect(calls.get('flaky-s3:validate_data')).toBe(2);
    expect(result.status).toBe('succeeded');
    expect((await platform.registryService.getModel('flaky-s3')).production_version).toBe(1);
  });

  it('reuses the artifact of a finished run with the same inputs', async () => {
    // A byte-different copy of the data, so no earlier test's run has trained on it.
    const dataset = await upload('cached', new Uint8Array(Buffer.concat([CREDIT_CSV, Buffer.from('\n')])));
    const first = await run({ model: 'cached', dataset });
    const second = await run({ model: 'cached', dataset });
    expect(first.status).toBe('succeeded');
    expect(second.status).toBe('succeeded');
    const candidateOf = (result: typeof first) =>
      (result.output as { seed_runs: { candidate: { cache_hit: boolean; sha256: string } }[] }).seed_runs[0]?.candidate;
    expect(candidateOf(first)?.cache_hit).toBe(false);
    expect(candidateOf(second)?.cache_hit).toBe(true);
    expect(candidateOf(second)?.sha256).toBe(candidateOf(first)?.sha256);
    // The same bytes register as the same version: nothing new to promote.
    expect((await platform.registryService.getModel('cached')).latest_version).toBe(1);
  });

  it('trains several seeds in parallel and reports their spread', async () => {
    const dataset = await upload('seeds', CREDIT_CSV);
    const result = await run({ model: 'seeds', dataset, seeds: [1, 2, 3] });
    expect(result.status).toBe('succeeded');
    const output = result.output as { comparison: { result: { seeds: { runs: number; metrics: Record<string, { std: number }> } } } };
    expect(output.comparison.result.seeds.runs).toBe(3);
    expect(output.comparison.result.seeds.metrics.roc_auc?.std).toBeGreaterThan(0);
  });

  it('waits for a manual approval and promotes once approved', async () => {
    const dataset = await upload('approved', CREDIT_CSV);
    const { run: started, done } = platform.pipeline.start({
      model: 'approved', dataset, target: 'Status', positive_label: 'bad', approval_required: true,
    });
    let approvalId: string | undefined;
    for (let i = 0; i < 400 && approvalId === undefined; i++) {
      const request = platform.pipeline.events.find((e) => e.run_id === started.run_id && e.subject?.includes('approval'));
      approvalId = request === undefined ? undefined : /approve ([0-9a-f]{12})/.exec(String(request.body))?.[1];
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(approvalId).toBeDefined();
    expect(await platform.approvals.decide(approvalId as string, { approved: true, by: 'alice', reason: 'looks good', at: new Date().toISOString() })).toBe(true);

    const result = await done;

    expect(result.status).toBe('succeeded');
    expect(result.progress).toEqual(expect.arrayContaining(['ManualApproval', 'Register', 'Promote']));
    expect((await platform.registryService.getModel('approved')).production_version).toBe(1);
  });
});
