import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { describe, expect, it, vi } from 'vitest';
import { OnnxArtifactInspector } from '#adapters/onnx-artifact-inspector.ts';
import { OnnxScoringEngine } from '#adapters/onnx-scoring-engine.ts';
import { ConflictError } from '#core/errors.ts';
import { pipelineConfig } from '#contracts/pipeline.ts';
import type { ApprovalRecord, ApprovalRequest, ApprovalStore } from '#core/pipeline/ports.ts';
import { normalizeRun, type PipelineRun } from '#core/pipeline/run.ts';
import { PipelineStepError, PipelineSteps, type Candidate, type Comparison, type Evaluation, type SeedRun } from '#core/pipeline/steps.ts';
import { stepCacheKey } from '#core/pipeline/step-cache.ts';
import { splitLabelledCsv } from '#core/training/holdout.ts';
import { GBDT_TRAINER, GBDT_TRAINER_VERSION, TRAINER, TRAINER_VERSION } from '#core/training/train-binary-classifier.ts';
import { RegistryService } from '#core/registry/registry-service.ts';
import type { ScoringEngine } from '#core/serving/ports.ts';
import { groupFromAttribute } from '#core/pipeline/fairness.ts';
import { encodeRows } from '#core/model/encode.ts';
import { globalImportance } from '#core/explain/importance.ts';
import type { ModelMetadata } from '#core/model/metadata.ts';
import { InMemoryRegistryStore } from '../../support/in-memory-registry-store.ts';
import { MemoryObjects } from '../../support/memory-objects.ts';
import { tarArchive } from '../../support/tar.ts';
import onnxProto from 'onnx-proto';

/**
 * The training pipeline's steps in process: the credit data in an object store in memory, the registry over the
 * in-memory store, onnxruntime-node scoring the candidates. What each step returns and writes, and how it refuses.
 * (test/local/training-pipeline.test.ts runs the same steps through the real ASL on the local platform.)
 */

const FULL_CSV = new Uint8Array(readFileSync(new URL('../../../examples/credit/credit_data.csv', import.meta.url)));
/** The first 800 rows of the credit data: enough to train and judge, and quick, as the mutation run repeats it. */
const CREDIT_CSV = new TextEncoder().encode(`${new TextDecoder().decode(FULL_CSV).split('\n').slice(0, 801).join('\n')}\n`);
const DATASET = 'datasets/credit.csv';
const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
const NOW = new Date('2026-12-02T10:00:00.000Z');
const inspector = new OnnxArtifactInspector();
const onnx = new OnnxScoringEngine();
/** onnxruntime-node, counting the sessions the steps open and release. */
const sessions = { opened: 0, released: 0 };
const engine: ScoringEngine = {
  async createSession(bytes, preprocessing) {
    const session = await onnx.createSession(bytes, preprocessing);
    sessions.opened += 1;
    return {
      score: (input, rows) => session.score(input, rows),
      release: async () => {
        sessions.released += 1;
        await session.release();
      },
    };
  },
};

const config = pipelineConfig.parse({
  models: {
    credit: { target: 'Status', positiveLabel: 'bad', datasetKey: DATASET, decisionThreshold: { policy: 'fixed', threshold: 0.5 } },
    fair: {
      target: 'Status',
      positiveLabel: 'bad',
      datasetKey: DATASET,
      decisionThreshold: { policy: 'fixed', threshold: 0.5 },
      protectedAttribute: { feature: 'Age', kind: 'numeric_below', value: 25 },
    },
  },
});

class MemoryApprovals implements ApprovalStore {
  readonly created: ApprovalRequest[] = [];
  async create(request: ApprovalRequest): Promise<void> {
    this.created.push(request);
  }
  async get(): Promise<ApprovalRecord | undefined> {
    return undefined;
  }
  async decide(): Promise<boolean> {
    return false;
  }
}

/** Steps over fresh stores; `elapsed` moves on by 5 ms a call, so every scored batch takes 5 ms. */
function setup() {
  const objects = new MemoryObjects();
  objects.objects.set(DATASET, CREDIT_CSV);
  const store = new InMemoryRegistryStore();
  let tokens = 0;
  const registry = new RegistryService({ store, clock: () => NOW, newToken: () => `token-${++tokens}` });
  const approvals = new MemoryApprovals();
  let ms = 0;
  const steps = new PipelineSteps({
    objects,
    registry,
    inspector,
    engine,
    approvals,
    config,
    sha256,
    clock: () => NOW,
    elapsed: () => (ms += 5),
    newId: () => 'run-1',
  });
  return { objects, store, registry, approvals, steps };
}

function runOf(input: Record<string, unknown> = {}): PipelineRun {
  return normalizeRun({ model: 'credit', requested_by: 'ci', reason: 'nightly', ...input }, config, NOW, () => 'run-1');
}

async function refusal(promise: Promise<unknown> | (() => unknown)): Promise<Error> {
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (error) {
    if (error instanceof Error) return error;
    throw error;
  }
  throw new Error('expected the step to fail');
}

/** A run state as the ASL accumulates it up to the comparison. */
function withComparison(run: PipelineRun, seedRuns: SeedRun[], champion: Comparison['champion'] = null, runs = seedRuns.length) {
  const first = seedRuns[0] as SeedRun;
  return {
    ...run,
    seed_runs: seedRuns,
    comparison: {
      result: {
        candidate: first,
        champion,
        champion_note: 'note',
        seeds: { runs, metrics: { roc_auc: { mean: first.evaluation.metrics.roc_auc as number, std: 0.5, min: 0, max: 1 } } },
      },
    },
  };
}

/**
 * Trained, and evaluated, once for the tests that only read them: inside the first test that asks, not in a
 * `beforeAll`, so that the mutation run sees which test ran the code (code run outside tests makes every mutant in it
 * "static", re-tested with every test of the folder).
 */
let candidateOnce: Promise<{ candidate: Candidate; objects: MemoryObjects; run: PipelineRun; steps: PipelineSteps }> | undefined;
let evaluationOnce: Promise<Evaluation> | undefined;

function trainedCandidate() {
  candidateOnce ??= (async () => {
    const { steps, objects } = setup();
    const run = runOf({ dataset: { key: DATASET, sha256: sha256(CREDIT_CSV) } });
    const candidate = (await steps.dispatch({ step: 'train', run, seed: 42 })) as Candidate;
    return { candidate, objects, run, steps };
  })();
  return candidateOnce;
}

async function training(): Promise<{ candidate: Candidate; evaluation: Evaluation; objects: MemoryObjects; run: PipelineRun }> {
  const { candidate, objects, run, steps } = await trainedCandidate();
  evaluationOnce ??= steps.dispatch({ step: 'evaluate', run, seed: '42', candidate }) as Promise<Evaluation>;
  return { candidate, objects, run, evaluation: await evaluationOnce };
}

describe('PipelineSteps.dispatch', () => {
  it('refuses a step it does not know, naming it', async () => {
    const { steps } = setup();
    const error = await refusal(steps.dispatch({ step: 'deploy', run: runOf() }));
    expect(error).toBeInstanceOf(PipelineStepError);
    expect(error.message).toBe('unknown pipeline step "deploy"');
  });
});

describe('validate_data', () => {
  it('fills the run, checks the data, writes the report and sums it up', async () => {
    const { steps, objects } = setup();
    const result = (await steps.dispatch({ step: 'validate_data', run: { model: 'credit', requested_by: 'ci' } })) as PipelineRun & {
      validation: { passed: boolean; report_key: string; summary: string };
    };
    const report = objects.json('pipeline-runs/credit/run-1/data-quality.json') as { rows: number; columns: number; passed: boolean };
    expect(objects.contentTypes.get('pipeline-runs/credit/run-1/data-quality.json')).toBe('application/json');
    expect(report.passed).toBe(true);
    expect(result).toMatchObject({
      run_id: 'run-1',
      model: 'credit',
      started_at: NOW.toISOString(),
      dataset: { key: DATASET, sha256: sha256(CREDIT_CSV) },
      validation: { passed: true, report_key: 'pipeline-runs/credit/run-1/data-quality.json', summary: `${report.rows} rows, ${report.columns} columns: every check passed` },
    });
    expect(report.columns).toBe(14);
  });

  it('sums up failed data by the messages of its failed checks', async () => {
    const { steps, objects } = setup();
    objects.objects.set('datasets/tiny.csv', new TextEncoder().encode('Status,Age\nbad,30\n'));
    const result = await steps.validateData({ model: 'credit', dataset: { key: 'datasets/tiny.csv' } });
    const report = objects.json(result.validation.report_key) as { checks: { passed: boolean; message: string }[] };
    const failed = report.checks.filter((c) => !c.passed).map((c) => c.message);
    expect(failed.length).toBeGreaterThan(1);
    expect(result.validation).toEqual({ passed: false, report_key: 'pipeline-runs/credit/run-1/data-quality.json', summary: failed.join('; ') });
  });

  it('refuses a dataset whose bytes do not match the sha256 the run names', async () => {
    const { steps } = setup();
    const error = await refusal(steps.validateData({ model: 'credit', dataset: { key: DATASET, sha256: 'f'.repeat(64) } }));
    expect(error).toBeInstanceOf(PipelineStepError);
    expect(error.message).toBe(`dataset ${DATASET} does not match its sha256 ${'f'.repeat(64)}`);
  });
});

describe('train', () => {
  it.each(['sagemaker', 'xgboost'])('leaves the %s trainer to its SageMaker job', async (trainer) => {
    const { steps } = setup();
    const error = await refusal(steps.train(runOf({ trainer }), 42));
    expect(error).toBeInstanceOf(PipelineStepError);
    expect(error.message).toBe(`the ${trainer} trainer runs as a SageMaker training job`);
  });

  it('trains a candidate under the cache key of its inputs, metadata and artifact side by side', async () => {
    const trained = await trainedCandidate();
    const { candidate, objects, run } = trained;
    const cacheKey = stepCacheKey({
      dataSha256: sha256(CREDIT_CSV),
      parameters: {
        seed: 42,
        target: 'Status',
        positive_label: 'bad',
        test_fraction: run.test_fraction,
        decision_threshold: JSON.stringify({ policy: 'fixed', threshold: 0.5 }),
        class_weight: 'none',
        missing_tokens: JSON.stringify(run.missing_tokens),
      },
      trainer: TRAINER,
      trainerVersion: TRAINER_VERSION,
      step: 'train',
    });
    const artifact = objects.objects.get(`training-cache/${cacheKey}/model.onnx`) as Uint8Array;
    expect(candidate).toEqual({
      seed: 42,
      artifact_key: `training-cache/${cacheKey}/model.onnx`,
      metadata_key: `training-cache/${cacheKey}/metadata.json`,
      sha256: sha256(artifact),
      size_bytes: artifact.byteLength,
      algorithm: 'logistic_regression',
      cache_key: cacheKey,
      cache_hit: false,
    });
    expect(objects.json(candidate.metadata_key)).toMatchObject({ algorithm: 'logistic_regression', lineage: { seed: 42, data_sha256: sha256(CREDIT_CSV) } });
    // Metadata first: an artifact is never there without it.
    expect(objects.puts.filter((key) => key.startsWith('training-cache/'))).toEqual([candidate.metadata_key, candidate.artifact_key]);
    expect(objects.contentTypes.get(candidate.metadata_key)).toBe('application/json');
    expect(objects.contentTypes.get(candidate.artifact_key)).toBe('application/octet-stream');
  });

  it('reuses the cached artifact of the same inputs, and trains again when its metadata is missing', async () => {
    const trained = await trainedCandidate();
    const { steps, objects } = setup();
    for (const [key, bytes] of trained.objects.objects) if (key.startsWith('training-cache/')) objects.objects.set(key, bytes);
    // The run without a dataset sha256 hashes the data itself: same key.
    const hit = await steps.train(runOf(), 42);
    expect(hit).toEqual({ ...trained.candidate, cache_hit: true });
    expect(objects.puts).toEqual([]);

    objects.objects.delete(trained.candidate.metadata_key);
    const miss = await steps.train(runOf(), 42);
    expect(miss).toEqual({ ...trained.candidate, cache_hit: false });
    expect(objects.puts).toEqual([trained.candidate.metadata_key, trained.candidate.artifact_key]);
  });

  it('trains with the run\'s own seed and holdout even when its parameters name them (a run not checked by normalizeRun)', async () => {
    const { steps, objects } = setup();
    const checked = runOf({ test_fraction: 0.2, parameters: { l2: 2 } });
    // normalizeRun refuses such names (run.test.ts); the step must not let them through either.
    const run: PipelineRun = { ...checked, parameters: { ...checked.parameters, seed: 1, testFraction: 0.5 } };

    const candidate = await steps.train(run, 42);

    const metadata = objects.json(candidate.metadata_key) as ModelMetadata;
    expect(metadata.lineage.seed).toBe(42);
    expect(metadata.lineage.parameters).toMatchObject({ l2: 2, test_fraction: 0.2 });
    expect(metadata.metrics['holdout_rows']).toBe(Math.round(800 * 0.2));
  });

  it('keys another seed, other parameters and the gbdt trainer apart', async () => {
    const trained = await trainedCandidate();
    const { steps } = setup();
    const gbdt = await steps.train(runOf({ trainer: 'gbdt', parameters: { trees: 3, maxDepth: 2 } }), 42);
    expect(gbdt.algorithm).toBe('gradient_boosted_trees');
    expect(gbdt.cache_key).toBe(
      stepCacheKey({
        dataSha256: sha256(CREDIT_CSV),
        parameters: {
          trees: 3,
          maxDepth: 2,
          seed: 42,
          target: 'Status',
          positive_label: 'bad',
          test_fraction: trained.run.test_fraction,
          decision_threshold: JSON.stringify({ policy: 'fixed', threshold: 0.5 }),
          class_weight: 'none',
          missing_tokens: JSON.stringify(trained.run.missing_tokens),
        },
        trainer: GBDT_TRAINER,
        trainerVersion: GBDT_TRAINER_VERSION,
        step: 'train',
      }),
    );
    const other = await steps.train(runOf({ parameters: { l2: 3 } }), 7);
    expect(new Set([gbdt.cache_key, other.cache_key, trained.candidate.cache_key]).size).toBe(3);
    expect(other.cache_key).toBe(
      stepCacheKey({
        dataSha256: sha256(CREDIT_CSV),
        parameters: {
          l2: 3,
          seed: 7,
          target: 'Status',
          positive_label: 'bad',
          test_fraction: trained.run.test_fraction,
          decision_threshold: JSON.stringify({ policy: 'fixed', threshold: 0.5 }),
          class_weight: 'none',
          missing_tokens: JSON.stringify(trained.run.missing_tokens),
        },
        trainer: TRAINER,
        trainerVersion: TRAINER_VERSION,
        step: 'train',
      }),
    );
  });
});

describe('import_sagemaker_model', () => {
  const location = 's3://artifact-bucket/training-jobs/credit/run-1/output/model.tar.gz';
  const key = 'training-jobs/credit/run-1/output/model.tar.gz';

  it('takes model.onnx and metadata.json out of the job’s model.tar.gz into the run’s prefix', async () => {
    const trained = await trainedCandidate();
    const { steps, objects } = setup();
    const onnx = trained.objects.objects.get(trained.candidate.artifact_key) as Uint8Array;
    const metadata = trained.objects.objects.get(trained.candidate.metadata_key) as Uint8Array;
    objects.objects.set(key, gzipSync(tarArchive({ 'model.onnx': onnx, 'metadata.json': metadata })));
    const candidate = (await steps.dispatch({ step: 'import_sagemaker_model', run: runOf(), seed: 7, sagemaker: { model_artifacts: location } })) as Candidate;
    expect(candidate).toEqual({
      seed: 7,
      artifact_key: 'pipeline-runs/credit/run-1/sagemaker-seed-7/model.onnx',
      metadata_key: 'pipeline-runs/credit/run-1/sagemaker-seed-7/metadata.json',
      sha256: sha256(onnx),
      size_bytes: onnx.byteLength,
      algorithm: 'logistic_regression',
      cache_key: sha256(onnx),
      cache_hit: false,
    });
    expect(sha256(objects.objects.get(candidate.artifact_key) as Uint8Array)).toBe(sha256(onnx));
    expect(objects.contentTypes.get(candidate.artifact_key)).toBe('application/octet-stream');
    expect(objects.contentTypes.get(candidate.metadata_key)).toBe('application/json');
    expect(objects.json(candidate.metadata_key)).toEqual(JSON.parse(new TextDecoder().decode(metadata)));
  });

  it('refuses a location outside S3, and an archive without the two files', async () => {
    const { steps, objects } = setup();
    const outside = await refusal(steps.importSageMakerModel(runOf(), 7, { model_artifacts: 'https://example.com/model.tar.gz' }));
    expect([outside instanceof PipelineStepError, outside.message]).toEqual([true, 'unexpected model artifacts location https://example.com/model.tar.gz']);
    const bucketOnly = await refusal(steps.importSageMakerModel(runOf(), 7, { model_artifacts: 's3://bucket/' }));
    expect(bucketOnly.message).toBe('unexpected model artifacts location s3://bucket/');
    objects.objects.set(key, tarArchive({ 'model.onnx': new Uint8Array([1]) }));
    const missing = await refusal(steps.importSageMakerModel(runOf(), 7, { model_artifacts: location }));
    expect([missing instanceof PipelineStepError, missing.message]).toEqual([true, 'the training job must write model.onnx and metadata.json to /opt/ml/model']);
    objects.objects.set(key, tarArchive({ 'metadata.json': new Uint8Array([1]) }));
    expect((await refusal(steps.importSageMakerModel(runOf(), 7, { model_artifacts: location }))).message).toMatch(/^the training job must write/);
  });
});

describe('evaluate', () => {
  it('scores the holdout of its seed in onnxruntime: rounded metrics, calibration, latency and importance', async () => {
    const trained = await training();
    const { evaluation, objects, run } = trained;
    const holdout = splitLabelledCsv({ csv: new TextDecoder().decode(CREDIT_CSV), target: 'Status', positiveLabel: 'bad', seed: 42, testFraction: run.test_fraction, missingTokens: run.missing_tokens }).holdout;
    expect(evaluation.seed).toBe(42);
    expect(evaluation.holdout_rows).toBe(holdout.rows.length);
    expect(Object.keys(evaluation.metrics)).toEqual(expect.arrayContaining(['roc_auc', 'accuracy', 'f1']));
    for (const value of Object.values(evaluation.metrics)) expect(Math.round(value * 1e6) / 1e6).toBe(value);
    expect(evaluation.metrics.roc_auc).toBeGreaterThan(0.7);
    expect(evaluation.fairness).toBeNull();
    expect(evaluation.calibration).toHaveLength(10);
    expect(evaluation.calibration.reduce((sum, bin) => sum + bin.count, 0)).toBe(holdout.rows.length);
    for (const bin of evaluation.calibration) {
      for (const value of [bin.mean_predicted, bin.observed_rate]) if (value !== null) expect(Math.round(value * 1e6) / 1e6).toBe(value);
    }
    expect(evaluation.calibration.some((bin) => bin.mean_predicted === null)).toBe(evaluation.calibration.some((bin) => bin.count === 0));
    // One batch (fewer than 1000 rows), 5 ms by the fake clock.
    expect(evaluation.latency).toEqual({ total_ms: 5, ms_per_1000_rows: Math.round((5 / holdout.rows.length) * 1000 * 1e6) / 1e6 });
    const features = (objects.json(trained.candidate.metadata_key) as { input_schema: { features: { name: string }[] } }).input_schema.features.map((f) => f.name);
    expect(Object.keys(evaluation.importance?.mean_abs_shap ?? {}).sort()).toEqual([...features].sort());
    for (const value of Object.values(evaluation.importance?.mean_abs_shap ?? {})) expect(Math.round(value * 1e6) / 1e6).toBe(value);
    expect(objects.json('pipeline-runs/credit/run-1/evaluation-seed-42.json')).toEqual(JSON.parse(JSON.stringify(evaluation)));
    expect(objects.contentTypes.get('pipeline-runs/credit/run-1/evaluation-seed-42.json')).toBe('application/json');
  });

  it('scores a holdout of more than 1000 rows in batches of 1000', async () => {
    const trained = await training();
    const { steps, objects } = setup();
    for (const [key, bytes] of trained.objects.objects) objects.objects.set(key, bytes);
    objects.objects.set(DATASET, FULL_CSV);
    const evaluation = await steps.evaluate(runOf({ test_fraction: 0.5 }), 42, trained.candidate);
    expect(evaluation.holdout_rows).toBeGreaterThan(2000);
    expect(evaluation.holdout_rows).toBeLessThanOrEqual(3000);
    expect(evaluation.latency.total_ms).toBe(15);
    expect(evaluation.calibration.reduce((sum, bin) => sum + bin.count, 0)).toBe(evaluation.holdout_rows);
  });

  it('measures fairness on the protected attribute, with the favourable outcome either way', async () => {
    const trained = await training();
    const { steps, objects } = setup();
    for (const [key, bytes] of trained.objects.objects) objects.objects.set(key, bytes);
    const favourable = (outcome: 'positive' | 'negative') => ({ ...runOf({ model: 'fair' }), favorable_outcome: outcome });
    const positive = await steps.evaluate(favourable('positive'), 42, trained.candidate);
    const negative = await steps.evaluate(favourable('negative'), 42, trained.candidate);
    const p = positive.fairness;
    const n = negative.fairness;
    if (p === null || n === null) throw new Error('expected fairness reports');
    expect(p.protected.count).toBeGreaterThan(0);
    expect(p.protected.count + p.reference.count).toBe(positive.holdout_rows);
    for (const group of ['protected', 'reference'] as const) {
      expect(n[group].count).toBe(p[group].count);
      expect(n[group].predicted_positive).toBe(p[group].count - p[group].predicted_positive);
      expect(n[group].actual_positive).toBe(p[group].count - p[group].actual_positive);
    }
    expect(positive.metrics).toEqual(negative.metrics);
    // Anchored to the labels: with the positive class favourable, the groups' actual positives are the holdout's "bad" rows.
    const run = favourable('positive');
    const holdout = splitLabelledCsv({ csv: new TextDecoder().decode(CREDIT_CSV), target: 'Status', positiveLabel: 'bad', seed: 42, testFraction: run.test_fraction, missingTokens: run.missing_tokens }).holdout;
    expect(p.protected.actual_positive + p.reference.actual_positive).toBe(Array.from(holdout.labels).filter((l) => l === 1).length);
  });

  it('releases every scoring session it opens', async () => {
    const trained = await training();
    const { steps, objects } = setup();
    for (const [key, bytes] of trained.objects.objects) objects.objects.set(key, bytes);
    const before = { ...sessions };
    await steps.evaluate(runOf(), 42, trained.candidate);
    expect(sessions.opened).toBeGreaterThan(before.opened);
    expect(sessions.released - before.released).toBe(sessions.opened - before.opened);
  });

  it('leaves the calibration bins without predictions null, and rounds the others', async () => {
    const trained = await training();
    const { steps, objects } = setup();
    for (const [key, bytes] of trained.objects.objects) objects.objects.set(key, bytes);
    // 40 rows: a holdout of 10, too few to fill ten bins.
    objects.objects.set(DATASET, new TextEncoder().encode(`${new TextDecoder().decode(CREDIT_CSV).split('\n').slice(0, 41).join('\n')}\n`));
    const evaluation = await steps.evaluate(runOf(), 42, trained.candidate);
    expect(evaluation.calibration.some((bin) => bin.count === 0)).toBe(true);
    for (const bin of evaluation.calibration) {
      expect([bin.mean_predicted === null, bin.observed_rate === null]).toEqual([bin.count === 0, bin.count === 0]);
      for (const value of [bin.mean_predicted, bin.observed_rate]) if (value !== null) expect(Math.round(value * 1e6) / 1e6).toBe(value);
    }
  });

  it('counts a probability exactly at the threshold as the positive prediction in the fairness report', async () => {
    const trained = await training();
    const { steps, objects } = setup();
    for (const [key, bytes] of trained.objects.objects) objects.objects.set(key, bytes);
    const run = { ...runOf({ model: 'fair' }), favorable_outcome: 'positive' as const };
    const holdout = splitLabelledCsv({ csv: new TextDecoder().decode(CREDIT_CSV), target: 'Status', positiveLabel: 'bad', seed: 42, testFraction: run.test_fraction, missingTokens: run.missing_tokens }).holdout;
    const metadata = objects.json(trained.candidate.metadata_key) as ModelMetadata;
    const session = await onnx.createSession(objects.objects.get(trained.candidate.artifact_key) as Uint8Array, metadata.preprocessing);
    const probabilities = Array.from(await session.score(encodeRows(metadata.preprocessing, holdout.rows), holdout.rows.length));
    await session.release();
    const group = groupFromAttribute(holdout.rows, { feature: 'Age', kind: 'numeric_below', value: 25 });
    // The threshold at a protected row's own probability, which p > threshold would leave out.
    const ranked = probabilities.filter((_, i) => group[i]).sort((a, b) => a - b);
    const threshold = ranked[Math.floor(ranked.length / 2)] as number;
    objects.objects.set(trained.candidate.metadata_key, new TextEncoder().encode(JSON.stringify({ ...metadata, output: { ...metadata.output, threshold } })));
    const fairness = (await steps.evaluate(run, 42, { ...trained.candidate })).fairness;
    const positives = (inGroup: boolean) => probabilities.filter((p, i) => group[i] === inGroup && p >= threshold).length;
    expect(fairness?.protected.predicted_positive).toBe(positives(true));
    expect(fairness?.reference.predicted_positive).toBe(positives(false));
    expect(positives(true)).toBeGreaterThan(0);
    expect(positives(true)).toBeLessThan(group.filter(Boolean).length);
  });

  it('explains a graph without an exact SHAP method by sampling through one session of the candidate, and releases it', async () => {
    // A SageMaker job may write any graph: here the logistic regression's Sigmoid output squared (not linear before a
    // Sigmoid, not trees), so importance falls back to permutation sampling, which scores through a session.
    const trained = await training();
    const { steps, objects } = setup();
    const model = onnxProto.onnx.ModelProto.decode(trained.objects.objects.get(trained.candidate.artifact_key) as Uint8Array);
    const graph = model.graph as onnxProto.onnx.GraphProto;
    const metadata = trained.objects.json(trained.candidate.metadata_key) as ModelMetadata;
    const last = graph.node[graph.node.length - 1] as onnxProto.onnx.NodeProto;
    last.output = ['sigmoid_out'];
    graph.node.push(onnxProto.onnx.NodeProto.create({ opType: 'Mul', input: ['sigmoid_out', 'sigmoid_out'], output: [metadata.preprocessing.output_name] }));
    const squared = onnxProto.onnx.ModelProto.encode(model).finish();
    const key = 'training-jobs/credit/run-1/output/model.tar.gz';
    objects.objects.set(key, gzipSync(tarArchive({ 'model.onnx': squared, 'metadata.json': new TextEncoder().encode(JSON.stringify(metadata)) })));
    const candidate = await steps.importSageMakerModel(runOf(), 42, { model_artifacts: `s3://artifact-bucket/${key}` });

    const before = { ...sessions };
    const evaluation = await steps.evaluate(runOf(), 42, candidate);
    // One session scores the holdout, one more is opened for the sampling: once, for its 100 rows in two batches.
    expect([sessions.opened - before.opened, sessions.released - before.released]).toEqual([2, 2]);

    const run = runOf();
    const holdout = splitLabelledCsv({ csv: new TextDecoder().decode(CREDIT_CSV), target: 'Status', positiveLabel: 'bad', seed: 42, testFraction: run.test_fraction, missingTokens: run.missing_tokens }).holdout;
    expect(holdout.rows.length).toBeGreaterThan(100);
    const session = await onnx.createSession(squared, metadata.preprocessing);
    const expected = await globalImportance(squared, metadata, holdout.rows, (input, count) => session.score(input, count));
    await session.release();
    expect(expected.method).toBe('sampling');
    expect(evaluation.importance).toEqual({
      ...expected,
      rows: 100,
      mean_abs_shap: Object.fromEntries(Object.entries(expected.mean_abs_shap).map(([feature, value]) => [feature, Math.round(value * 1e6) / 1e6])),
    });
    expect(Object.values(evaluation.importance?.mean_abs_shap ?? {}).some((value) => value > 0)).toBe(true);
  });

  it('refuses an artifact whose bytes no longer match the candidate’s sha256', async () => {
    const trained = await training();
    const { steps, objects } = setup();
    for (const [key, bytes] of trained.objects.objects) objects.objects.set(key, bytes);
    // A copy: Buffer.prototype.slice would share the trained bytes.
    const bytes = new Uint8Array(objects.objects.get(trained.candidate.artifact_key) as Uint8Array);
    bytes[0] = 0xff - (bytes[0] ?? 0);
    objects.objects.set(trained.candidate.artifact_key, bytes);
    const error = await refusal(steps.evaluate(runOf(), 42, trained.candidate));
    expect([error instanceof PipelineStepError, error.message]).toEqual([true, `artifact ${trained.candidate.artifact_key} does not match its recorded sha256`]);
  });
});

/** The steps after evaluation, over a registry of their own with the trained candidate's objects. */
async function afterEvaluation() {
  const trained = await training();
  const context = setup();
  for (const [key, bytes] of trained.objects.objects) context.objects.objects.set(key, bytes);
  const seedRun: SeedRun = { seed: 42, candidate: trained.candidate, evaluation: trained.evaluation };
  return { ...context, seedRun };
}

describe('compare_with_champion', () => {
  it('refuses a run without seed runs', async () => {
    const { steps } = await afterEvaluation();
    const error = await refusal(steps.compareWithChampion({ ...runOf(), seed_runs: [] }));
    expect([error instanceof PipelineStepError, error.message]).toEqual([true, 'no seed produced a candidate']);
    expect((await refusal(steps.compareWithChampion(runOf()))).message).toBe('no seed produced a candidate');
  });

  it('has no champion for a new model, nor for one without a production version', async () => {
    const { steps, seedRun } = await afterEvaluation();
    const comparison = (await steps.dispatch({ step: 'compare_with_champion', run: { ...runOf(), seed_runs: [seedRun, { ...seedRun, seed: 7 }] } })) as Comparison;
    expect(comparison).toMatchObject({ candidate: seedRun, champion: null, champion_note: 'model "credit" has no production version yet' });
    expect(comparison.seeds.runs).toBe(2);
    expect(comparison.seeds.metrics.roc_auc).toMatchObject({ mean: seedRun.evaluation.metrics.roc_auc, std: 0 });

    await steps.register(withComparison(runOf(), [seedRun]));
    expect((await steps.compareWithChampion({ ...runOf(), seed_runs: [seedRun] })).champion).toBeNull();
  });

  it('looks for the run’s own model, not another model’s production version', async () => {
    const { steps, seedRun, registry } = await afterEvaluation();
    const { version } = await steps.register(withComparison(runOf(), [seedRun]));
    await registry.promote({ model: 'credit', version, actor: 'a' });
    const comparison = await steps.compareWithChampion({ ...runOf({ model: 'fair' }), seed_runs: [seedRun] });
    expect(comparison).toMatchObject({ champion: null, champion_note: 'model "fair" has no production version yet' });
  });

  it('scores the production version on the candidate’s holdout', async () => {
    const { steps, seedRun, registry } = await afterEvaluation();
    const { version } = await steps.register(withComparison(runOf(), [seedRun]));
    await registry.promote({ model: 'credit', version, actor: 'a' });
    const comparison = await steps.compareWithChampion({ ...runOf(), seed_runs: [seedRun] });
    expect(comparison.champion).toEqual({ version: 1, metrics: seedRun.evaluation.metrics });
    expect(comparison.champion_note).toBe(`version 1 scored on the candidate's ${seedRun.evaluation.holdout_rows}-row holdout`);
  });
});

describe('gate', () => {
  it('refuses a run without a comparison', async () => {
    const { steps } = await afterEvaluation();
    const error = await refusal(() => steps.gate(runOf()));
    expect([error instanceof PipelineStepError, error.message]).toEqual([true, 'the run has no comparison with the champion']);
  });

  it('drops the fairness thresholds for a model without a protected attribute, and holds a model with one to them', async () => {
    const { steps, seedRun } = await afterEvaluation();
    const plain = (await steps.dispatch({ step: 'gate', run: withComparison(runOf(), [seedRun]) })) as ReturnType<PipelineSteps['gate']>;
    expect(plain.passed).toBe(true);
    expect(plain.reasons.map((r) => r.check)).toEqual(['min_roc_auc', 'single_class']);

    const fair = steps.gate(withComparison(runOf({ model: 'fair' }), [seedRun]));
    expect(fair.passed).toBe(false);
    expect(fair.reasons.map((r) => r.check)).toEqual(expect.arrayContaining(['min_roc_auc', 'min_demographic_parity_ratio']));
  });

  it('hands the gate the candidate’s fairness report when it has one, and says “not measured” when it has none', async () => {
    const { steps, seedRun } = await afterEvaluation();
    const unmeasured = steps.gate(withComparison(runOf({ model: 'fair' }), [seedRun]));
    expect(unmeasured.reasons.find((r) => r.check === 'min_demographic_parity_ratio')?.message).toMatch(/was not measured/);

    const fairness = { demographic_parity_ratio: 0.95, disparate_impact: 1.02, equal_opportunity_difference: 0.01 } as unknown as Evaluation['fairness'];
    const measured = steps.gate(withComparison(runOf({ model: 'fair' }), [{ ...seedRun, evaluation: { ...seedRun.evaluation, fairness } }]));
    const checks = Object.fromEntries(measured.reasons.map((r) => [r.check, r.passed]));
    expect(checks).toMatchObject({ min_demographic_parity_ratio: true, min_disparate_impact: true, max_equal_opportunity_difference: true });
  });

  it('checks the champion when there is one, and the seed spread of several seeds', async () => {
    const { steps, seedRun } = await afterEvaluation();
    const champion = { version: 3, metrics: { ...seedRun.evaluation.metrics, roc_auc: 0.99 } };
    const decision = steps.gate(withComparison(runOf(), [seedRun, seedRun], champion));
    expect(decision.passed).toBe(false);
    expect(decision.reasons.map((r) => [r.check, r.passed])).toEqual([
      ['min_roc_auc', true],
      ['single_class', true],
      ['champion_regression', false],
      ['seed_spread', false],
    ]);
  });
});

describe('request_approval', () => {
  it('stores the request under a short id of the token, with a summary of candidate and champion', async () => {
    const { steps, seedRun, approvals } = await afterEvaluation();
    const m = seedRun.evaluation.metrics;
    const line = (metrics: Record<string, number>) => `roc_auc ${(metrics.roc_auc as number).toFixed(4)}, accuracy ${(metrics.accuracy as number).toFixed(4)}, f1 ${(metrics.f1 as number).toFixed(4)}`;
    const result = await steps.dispatch({ step: 'request_approval', run: withComparison(runOf(), [seedRun]), token: 'task-token-1' });
    const id = sha256(new TextEncoder().encode('task-token-1')).slice(0, 12);
    expect(result).toEqual({ approval_id: id });
    expect(approvals.created).toEqual([
      {
        id,
        task_token: 'task-token-1',
        model: 'credit',
        run_id: 'run-1',
        summary: `candidate ${seedRun.candidate.sha256.slice(0, 12)} (seed 42): ${line(m)}; no champion`,
        requested_at: NOW.toISOString(),
      },
    ]);
    await steps.requestApproval(withComparison(runOf(), [seedRun], { version: 2, metrics: { roc_auc: 0.5, f1: 0.25 } }), 't2');
    expect(approvals.created[1]?.summary).toBe(`candidate ${seedRun.candidate.sha256.slice(0, 12)} (seed 42): ${line(m)}; champion v2: roc_auc 0.5000, f1 0.2500`);
  });
});

describe('register', () => {
  it('registers the candidate with the metrics measured here, its importance, and the run as actor, reason and token', async () => {
    const { steps, seedRun, store, objects } = await afterEvaluation();
    const result = (await steps.dispatch({ step: 'register', run: withComparison(runOf(), [seedRun]) })) as { version: number; deduplicated: boolean; checks: string[] };
    expect(result).toMatchObject({ version: 1, deduplicated: false });
    expect(result.checks.at(-1)).toBe(`registered version 1 as a candidate (sha256 ${seedRun.candidate.sha256})`);
    const version = await store.getVersion('credit', 1);
    expect(version?.metadata.metrics).toMatchObject(seedRun.evaluation.metrics);
    expect(version?.metadata.feature_importance).toEqual(seedRun.evaluation.importance);
    expect(version?.artifact.key).toBe(`models/credit/${seedRun.candidate.sha256}.onnx`);
    expect(objects.contentTypes.get(`models/credit/${seedRun.candidate.sha256}.onnx`)).toBe('application/octet-stream');
    expect(await store.history('credit')).toMatchObject([{ actor: 'pipeline:ci', reason: 'training run run-1: nightly', client_token: 'register-run-1' }]);
  });

  it('adds the fairness numbers to the metrics, leaves out undefined ones, and says the run without a reason', async () => {
    const { steps, seedRun, store } = await afterEvaluation();
    const fairness = {
      protected: { count: 1, actual_positive: 0, predicted_positive: 0, true_positive: 0, selection_rate: 0, true_positive_rate: null },
      reference: { count: 1, actual_positive: 0, predicted_positive: 0, true_positive: 0, selection_rate: 0, true_positive_rate: null },
      demographic_parity_ratio: 0.912345678,
      disparate_impact: 0.8765432101,
      equal_opportunity_difference: -0.0123456789,
      notes: [],
    };
    const { importance: _, ...withoutImportance } = seedRun.evaluation;
    const run = withComparison({ ...runOf(), reason: '' }, [{ ...seedRun, evaluation: { ...withoutImportance, fairness } }]);
    await steps.register(run);
    const version = await store.getVersion('credit', 1);
    expect(version?.metadata.metrics).toMatchObject({ demographic_parity_ratio: 0.912346, disparate_impact: 0.876543, equal_opportunity_difference: -0.012346 });
    expect(version?.metadata.feature_importance).toBeUndefined();
    expect((await store.history('credit'))[0]?.reason).toBe('training run run-1');

    const { steps: other, store: otherStore } = await afterEvaluation();
    const partial = { ...fairness, demographic_parity_ratio: null, disparate_impact: null, equal_opportunity_difference: null };
    await other.register(withComparison(runOf(), [{ ...seedRun, evaluation: { ...seedRun.evaluation, fairness: partial } }]));
    const metrics = (await otherStore.getVersion('credit', 1))?.metadata.metrics ?? {};
    expect(Object.keys(metrics).filter((k) => /parity|disparate|opportunity/.test(k))).toEqual([]);
  });
});

describe('promote', () => {
  async function registered(mode: 'production' | 'canary' = 'production') {
    const context = await afterEvaluation();
    const run = withComparison(runOf({ promotion_mode: mode, canary_share: 0.2 }), [context.seedRun]);
    const { version } = await context.steps.register(run);
    return { ...context, run: { ...run, registered: { result: { version } } } };
  }

  it('refuses a run that registered nothing', async () => {
    const { steps, seedRun } = await afterEvaluation();
    const error = await refusal(steps.promote(withComparison(runOf(), [seedRun])));
    expect([error instanceof PipelineStepError, error.message]).toEqual([true, 'nothing was registered']);
  });

  it('promotes to production, writes the outcome and announces it', async () => {
    const { steps, run, registry, objects, store } = await registered();
    const m = run.comparison.result.candidate.evaluation.metrics;
    const result = await steps.dispatch({ step: 'promote', run });
    const line = `roc_auc ${(m.roc_auc as number).toFixed(4)}, accuracy ${(m.accuracy as number).toFixed(4)}, f1 ${(m.f1 as number).toFixed(4)}`;
    expect(result).toEqual({
      version: 1,
      mode: 'production',
      message: `model credit version 1 promoted to production by training run run-1: ${line}`,
      event: { model: 'credit', version: 1, mode: 'production', run_id: 'run-1', metrics: m },
    });
    expect((await registry.getModel('credit')).production_version).toBe(1);
    expect((await store.history('credit')).find((r) => r.action === 'promote')).toMatchObject({ actor: 'pipeline:ci', reason: 'training run run-1', client_token: 'promote-run-1' });
    expect(objects.json('pipeline-runs/credit/run-1/outcome.json')).toEqual({ model: 'credit', run_id: 'run-1', at: NOW.toISOString(), outcome: 'promoted', version: 1, mode: 'production', metrics: m });
    expect(objects.contentTypes.get('pipeline-runs/credit/run-1/outcome.json')).toBe('application/json');

    // A retry after the flip changes nothing and answers the same.
    const revision = (await registry.getModel('credit')).revision;
    expect(await steps.promote(run)).toEqual(result);
    expect((await registry.getModel('credit')).revision).toBe(revision);
  });

  it('sends the candidate to a canary share when the run says so and a champion serves, to production otherwise', async () => {
    const first = await registered('canary');
    expect(await first.steps.promote(first.run)).toMatchObject({ mode: 'production' });

    const { steps, run, registry, seedRun } = await registered('canary');
    await registry.register({ model: 'credit', artifact: { key: 'models/credit/x.onnx', sha256: 'a'.repeat(64), size_bytes: 1 }, metadata: (await registry.getVersion('credit', 1)).metadata, actor: 'a' });
    await registry.promote({ model: 'credit', version: 2, actor: 'a' });
    const result = await steps.promote(run);
    expect(result).toMatchObject({ version: 1, mode: 'canary at 0.2', event: { mode: 'canary at 0.2' } });
    expect(result.message).toMatch(/^model credit version 1 promoted to canary at 0\.2 by training run run-1: roc_auc /);
    expect(await registry.getModel('credit')).toMatchObject({ production_version: 2, canary: { version: 1, share: 0.2 } });
    expect(seedRun.seed).toBe(42);
  });

  it('promotes straight to production in production mode even when a champion serves', async () => {
    const { steps, run, registry } = await registered('production');
    await registry.register({ model: 'credit', artifact: { key: 'models/credit/x.onnx', sha256: 'a'.repeat(64), size_bytes: 1 }, metadata: (await registry.getVersion('credit', 1)).metadata, actor: 'a' });
    await registry.promote({ model: 'credit', version: 2, actor: 'a' });
    expect(await steps.promote(run)).toMatchObject({ version: 1, mode: 'production' });
    expect(await registry.getModel('credit')).toMatchObject({ production_version: 1, canary: null });
  });

  it('leaves a candidate someone already made production as it is, in canary mode too: no canary of itself, no second promotion', async () => {
    const { steps, run, registry, store } = await registered('canary');
    await registry.promote({ model: 'credit', version: 1, actor: 'a' });
    const revision = (await registry.getModel('credit')).revision;
    expect(await steps.promote(run)).toMatchObject({ version: 1, mode: 'production', event: { mode: 'production' } });
    expect(await registry.getModel('credit')).toMatchObject({ production_version: 1, canary: null, revision });
    expect((await store.history('credit')).filter((r) => r.action === 'promote').map((r) => r.actor)).toEqual(['a']);
  });
});

describe('record_rejection', () => {
  it('at ValidateData: the failed checks of the report, or a sentence when there is none; nothing registered', async () => {
    const { steps, objects } = await afterEvaluation();
    objects.objects.set('datasets/tiny.csv', new TextEncoder().encode('Status,Age\nbad,30\n'));
    const validated = await steps.validateData({ model: 'credit', dataset: { key: 'datasets/tiny.csv' } });
    const report = objects.json(validated.validation.report_key) as { checks: { passed: boolean; message: string }[] };
    const failed = report.checks.filter((c) => !c.passed).map((c) => c.message);
    const result = await steps.dispatch({ step: 'record_rejection', run: validated, stage: 'ValidateData' });
    expect(result).toEqual({
      message: `training run run-1 of model credit rejected at ValidateData: ${failed.join('; ')}`,
      event: { model: 'credit', run_id: 'run-1', stage: 'ValidateData', reasons: failed, version: null },
    });
    expect(objects.json('pipeline-runs/credit/run-1/outcome.json')).toEqual({
      model: 'credit',
      run_id: 'run-1',
      at: NOW.toISOString(),
      outcome: 'rejected',
      stage: 'ValidateData',
      reasons: failed,
      version: null,
    });
    expect((await steps.recordRejection(runOf(), 'ValidateData')).event).toMatchObject({ reasons: ['the data failed its checks'], version: null });
  });

  it('at the gate: registers the candidate as rejected with the failed checks', async () => {
    const { steps, seedRun, store } = await afterEvaluation();
    const gate = {
      passed: false,
      reasons: [
        { check: 'min_roc_auc', passed: true, value: 0.8, threshold: 0.7, message: 'fine' },
        { check: 'seed_spread', passed: false, value: 0.1, threshold: 0.02, message: 'too noisy' },
        { check: 'min_f1', passed: false, value: 0.1, threshold: 0.5, message: 'f1 too low' },
      ],
    };
    const result = await steps.recordRejection({ ...withComparison(runOf(), [seedRun]), gate: { result: gate } } as never, 'Gate');
    expect(result).toEqual({
      message: 'training run run-1 of model credit rejected at Gate: too noisy; f1 too low',
      event: { model: 'credit', run_id: 'run-1', stage: 'Gate', reasons: ['too noisy', 'f1 too low'], version: 1 },
    });
    expect((await store.getVersion('credit', 1))?.stage).toBe('rejected');
    expect((await store.history('credit')).at(-1)).toMatchObject({ action: 'reject', actor: 'pipeline:ci', reason: 'too noisy; f1 too low', client_token: 'reject-run-1' });
  });

  it('after a person’s rejection: who and why, as far as known', async () => {
    const { steps, seedRun } = await afterEvaluation();
    const base = withComparison(runOf(), [seedRun]);
    const reasons = async (approval: Record<string, unknown>) => (await steps.recordRejection({ ...base, approval } as never, 'Approval')).event.reasons;
    expect(await reasons({ approved: false, decided_by: 'alice', reason: 'too risky' })).toEqual(['rejected by alice: too risky']);
    expect(await reasons({ approved: false, decided_by: 'bob', reason: '' })).toEqual(['rejected by bob']);
    expect(await reasons({ approved: false })).toEqual(['rejected by a reviewer']);
    // Approved, or no gate result: no reasons to give.
    expect(await reasons({ approved: true })).toEqual([]);
  });

  it('leaves the production version serving when a rejected candidate is that version (a retrain on unchanged data)', async () => {
    const { steps, seedRun, registry, store } = await afterEvaluation();
    const run = withComparison(runOf(), [seedRun]);
    const { version } = await steps.register(run);
    await registry.promote({ model: 'credit', version, actor: 'ci', reason: 'first', clientToken: 'promote-first' });
    const rejected = await steps.recordRejection({ ...run, approval: { approved: false, decided_by: 'alice', reason: 'same as production' } } as never, 'Approval');
    expect(rejected.event).toMatchObject({ stage: 'Approval', reasons: ['rejected by alice: same as production'], version: null });
    expect((await store.getVersion('credit', version))?.stage).toBe('production');
    expect((await registry.getModel('credit')).production_version).toBe(version);
  });

  it('fails the step on any other registry conflict, so the state machine retries it', async () => {
    const { steps, seedRun, registry } = await afterEvaluation();
    vi.spyOn(registry, 'reject').mockRejectedValue(new ConflictError('REVISION_CONFLICT', 'the model changed while this ran'));
    await expect(steps.recordRejection(withComparison(runOf(), [seedRun]), 'Gate')).rejects.toThrow('the model changed while this ran');
  });

  it('records the rejection without a version when there is no comparison, or the candidate cannot be registered', async () => {
    const trained = await training();
    const { steps, seedRun, objects } = await afterEvaluation();
    expect((await steps.recordRejection(runOf(), 'Gate')).event).toMatchObject({ reasons: [], version: null });
    objects.objects.set(trained.candidate.artifact_key, new TextEncoder().encode('not a model'));
    expect((await steps.recordRejection(withComparison(runOf(), [seedRun]), 'Gate')).event.version).toBeNull();
    objects.objects.delete(trained.candidate.artifact_key);
    await expect(steps.recordRejection(withComparison(runOf(), [seedRun]), 'Gate')).rejects.toThrow(`no object ${trained.candidate.artifact_key}`);
  });
});

describe('record_failure', () => {
  it('keeps the message of a Lambda error’s JSON cause, or a plain cause as it is, and writes the outcome', async () => {
    const { steps, objects } = await afterEvaluation();
    const lambdaError = await steps.dispatch({ step: 'record_failure', run: { ...runOf(), error: { Error: 'PipelineStepError', Cause: JSON.stringify({ errorMessage: 'no seed produced a candidate', stack: ['x'] }) } } });
    expect(lambdaError).toEqual({
      message: 'training run run-1 of model credit failed: PipelineStepError: no seed produced a candidate',
      event: { model: 'credit', run_id: 'run-1', error: 'PipelineStepError', cause: 'no seed produced a candidate' },
    });
    expect(objects.json('pipeline-runs/credit/run-1/outcome.json')).toEqual({
      model: 'credit',
      run_id: 'run-1',
      at: NOW.toISOString(),
      outcome: 'failed',
      error: 'PipelineStepError',
      cause: 'no seed produced a candidate',
    });
    const other = JSON.stringify({ message: 'x' });
    expect((await steps.recordFailure({ ...runOf(), error: { Error: 'States.Timeout', Cause: other } })).event.cause).toBe(other);
    expect((await steps.recordFailure({ ...runOf(), error: { Error: 'E', Cause: 'plain words' } })).event.cause).toBe('plain words');
    expect((await steps.recordFailure(runOf())).message).toBe('training run run-1 of model credit failed: Unknown: ');
  });

  it('names an unknown model or run, and writes no outcome without both', async () => {
    const { steps, objects } = await afterEvaluation();
    const result = await steps.recordFailure({ error: { Error: 'States.Runtime' } } as never);
    expect(result).toEqual({
      message: 'training run unknown of model unknown failed: States.Runtime: ',
      event: { model: 'unknown', run_id: 'unknown', error: 'States.Runtime', cause: '' },
    });
    await steps.recordFailure({ model: 'credit', error: {} } as never);
    await steps.recordFailure({ run_id: 'r', error: {} } as never);
    expect([...objects.objects.keys()].filter((k) => k.endsWith('outcome.json'))).toEqual([]);
  });
});
