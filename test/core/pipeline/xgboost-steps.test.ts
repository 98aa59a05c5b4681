import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { OnnxScoringEngine } from '#adapters/onnx-scoring-engine.ts';
import { compileSchema, validatePredictRequest } from '#core/api/predict-request.ts';
import { encodeRows } from '#core/model/encode.ts';
import { parseModelMetadata } from '#core/model/metadata-validation.ts';
import type { ModelMetadata } from '#core/model/metadata.ts';
import { DEFAULT_PIPELINE_CONFIG, normalizeRun, type PipelineConfig } from '#core/pipeline/run.ts';
import { PipelineStepError, PipelineSteps, type XgboostData } from '#core/pipeline/steps.ts';
import type { ScoringEngine } from '#core/serving/ports.ts';
import { splitLabelledCsv } from '#core/training/holdout.ts';
import { MemoryObjects } from '../../support/memory-objects.ts';
import { tarArchive } from '../../support/tar.ts';

/**
 * The xgboost trainer's two Lambda steps around SageMaker's built-in algorithm: the data it sends (shards, channels,
 * hyperparameters) and the conversion of what the algorithm writes (model.tar.gz with xgboost-model in XGBoost 1.7's
 * binary format, made by real XGBoost: scripts/xgboost-reference/sagemaker-artifact.py) into a scored ONNX candidate.
 */

const CREDIT_CSV = readFileSync(new URL('../../../examples/credit/credit_data.csv', import.meta.url));
const fixtures = new URL('../../fixtures/xgboost/', import.meta.url);
const readJson = (path: string): unknown => JSON.parse(readFileSync(new URL(path, fixtures), 'utf8'));
const { rows: fixtureRows } = readJson('rows.json') as { rows: Record<string, number | string | null>[] };

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

function setup(instanceCount = 1, runInput: Record<string, unknown> = {}, engine: ScoringEngine = new OnnxScoringEngine()) {
  const objects = new MemoryObjects();
  objects.objects.set('datasets/credit.csv', new Uint8Array(CREDIT_CSV));
  const config: PipelineConfig = { ...DEFAULT_PIPELINE_CONFIG, sagemaker: { ...DEFAULT_PIPELINE_CONFIG.sagemaker, instanceCount } };
  const steps = new PipelineSteps({
    objects,
    registry: {} as never,
    inspector: {} as never,
    approvals: {} as never,
    engine,
    config,
    sha256,
    newId: () => 'run-1',
  });
  const run = normalizeRun({ model: 'credit', dataset: { key: 'datasets/credit.csv' }, trainer: 'xgboost', ...runInput }, config, new Date('2026-01-01T00:00:00Z'), () => 'run-1');
  return { objects, steps, run };
}

describe('prepare_xgboost_data', () => {
  it('writes one shard per instance for each channel: label first, the encoded columns, every training row once, no holdout row', async () => {
    const { objects, steps, run } = setup(3);

    const data = await steps.prepareXgboostData(run, 42);

    expect(data.shards).toBe(3);
    expect(data.train_prefix).toBe('training-data/credit/run-1/seed-42/train/');
    expect(data.validation_prefix).toBe('training-data/credit/run-1/seed-42/validation/');
    const draft = parseModelMetadata(JSON.parse(objects.text(data.metadata_key)));
    const columns = draft.preprocessing.columns;
    const lines = (prefix: string) =>
      [...objects.objects.keys()]
        .filter((key) => key.startsWith(prefix))
        .sort()
        .map((key) => objects.text(key).trimEnd().split('\n'));
    const train = lines(data.train_prefix);
    const validation = lines(data.validation_prefix);
    expect(train.map((shard) => shard.length > 0)).toEqual([true, true, true]);
    expect(validation).toHaveLength(3);
    for (const line of [...train.flat(), ...validation.flat()]) {
      const cells = line.split(',');
      expect(cells).toHaveLength(1 + columns);
      expect(['0', '1']).toContain(cells[0]);
      expect(cells.every((cell) => Number.isFinite(Number(cell)) && cell !== '')).toBe(true);
    }
    // The counts add up to the data file, and the holdout is the evaluation's, untouched.
    const { holdout } = splitLabelledCsv({ csv: CREDIT_CSV.toString('utf8'), target: 'Status', positiveLabel: 'bad', seed: 42, testFraction: run.test_fraction });
    expect(train.flat().length).toBe(data.rows.fit);
    expect(validation.flat().length).toBe(data.rows.validation);
    expect(data.rows.holdout).toBe(holdout.rows.length);
    expect(data.rows.fit + data.rows.validation + data.rows.holdout).toBe(CREDIT_CSV.toString('utf8').trimEnd().split('\n').length - 1);
    expect(data.rows.validation / (data.rows.fit + data.rows.validation)).toBeCloseTo(0.2, 2);
    expect(draft.algorithm).toBe('xgboost');
    expect(draft.lineage.trainer).toBe('sagemaker-xgboost');
    expect(draft.lineage.trainer_version).toBe('1.7-1');
  });

  it('passes the configured hyperparameters by XGBoost names, the seed, the run overrides and balanced class weights', async () => {
    const { steps, run } = setup(1, { parameters: { max_depth: 3, num_round: 40 }, class_weight: 'balanced' });
    const { hyperparameters } = await steps.prepareXgboostData(run, 7);
    expect(hyperparameters).toMatchObject({
      objective: 'binary:logistic',
      eval_metric: 'auc',
      seed: '7',
      num_round: '40',
      max_depth: '3',
      eta: '0.3',
      tree_method: 'hist',
    });
    expect(hyperparameters).not.toHaveProperty('early_stopping_rounds');
    expect(Number(hyperparameters['scale_pos_weight'])).toBeGreaterThan(1);
  });

  it('reads the run’s missing tokens as missing, as the evaluation does, and imputes them before the job', async () => {
    const { objects, steps, run } = setup(1, { missing_tokens: ['-999'] });
    const lines = CREDIT_CSV.toString('utf8').trimEnd().split('\n');
    // Income (the 10th column) unknown for 60 applicants, written as -999.
    const marked = lines.map((line, i) => (i > 0 && i <= 60 ? line.split(',').map((cell, c) => (c === 9 ? '-999' : cell)).join(',') : line));
    objects.objects.set('datasets/credit.csv', new TextEncoder().encode(`${marked.join('\n')}\n`));

    const data = await steps.prepareXgboostData(run, 42);

    const draft = parseModelMetadata(JSON.parse(objects.text(data.metadata_key)));
    const income = draft.baseline['Income'];
    expect(income).toMatchObject({ type: 'numeric' });
    expect(income?.missing).toBeGreaterThan(30);
    expect(income?.type === 'numeric' ? income.min : undefined).toBeGreaterThanOrEqual(0);
    expect(draft.lineage.parameters['missing_tokens']).toBe('["-999"]');
    const shard = objects.text(`${data.train_prefix}part-00000.csv`);
    expect(shard).not.toMatch(/-999/);
    expect(shard).not.toMatch(/,,|,$/m);
  });

  it('refuses a run parameter XGBoost does not have, naming the ones it has, in a run that did not come through normalizeRun', async () => {
    // normalizeRun refuses it first (test/core/pipeline/run.test.ts); the step still does not pass it on unchecked.
    const { steps, run: checked } = setup(1);
    const run = { ...checked, parameters: { trees: 10 } };
    await expect(steps.prepareXgboostData(run, 42)).rejects.toThrow(PipelineStepError);
    await expect(steps.prepareXgboostData(run, 42)).rejects.toThrow(/run parameter "trees" is not an xgboost trainer parameter \(alpha, colsample_bytree/);
  });

  it('writes the shards as text/csv under part-00000.csv, part-00001.csv…, and the draft as JSON beside the run', async () => {
    const { objects, steps, run } = setup(2);

    const data = await steps.prepareXgboostData(run, 42);

    expect(data.metadata_key).toBe('pipeline-runs/credit/run-1/xgboost-seed-42/metadata-draft.json');
    expect(objects.contentTypes.get(data.metadata_key)).toBe('application/json');
    expect(objects.puts).toEqual([
      'training-data/credit/run-1/seed-42/train/part-00000.csv',
      'training-data/credit/run-1/seed-42/train/part-00001.csv',
      'training-data/credit/run-1/seed-42/validation/part-00000.csv',
      'training-data/credit/run-1/seed-42/validation/part-00001.csv',
      data.metadata_key,
    ]);
    for (const key of objects.puts.slice(0, 4)) expect(objects.contentTypes.get(key)).toBe('text/csv');
  });

  it('answers data the xgboost split cannot use (not CSV, one class) as a step error with the split’s message', async () => {
    const { objects, steps, run } = setup(1);
    objects.objects.set('datasets/credit.csv', new TextEncoder().encode('Status,Income\n"bad,1\n'));
    await expect(steps.prepareXgboostData(run, 42)).rejects.toThrow(PipelineStepError);
    await expect(steps.prepareXgboostData(run, 42)).rejects.toThrow(/^the data is not valid CSV: /);
    const oneClass = ['Status,Income', ...Array.from({ length: 200 }, (_, i) => `good,${i}`)].join('\n');
    objects.objects.set('datasets/credit.csv', new TextEncoder().encode(oneClass));
    await expect(steps.prepareXgboostData(run, 42)).rejects.toThrow(PipelineStepError);
  });

  it('refuses more instances than rows to shard', async () => {
    const { objects, steps, run } = setup(100);
    const small = CREDIT_CSV.toString('utf8').split('\n').slice(0, 300).join('\n');
    objects.objects.set('datasets/credit.csv', new TextEncoder().encode(small));
    await expect(steps.prepareXgboostData(run, 42)).rejects.toThrow(/rows cannot fill 100 shards \(one per training instance\)/);
  });
});

describe('import_xgboost_model', () => {
  async function convert(variant: string, engine?: ScoringEngine) {
    const { objects, steps, run } = setup(1, {}, engine);
    const data: XgboostData = {
      train_prefix: 'training-data/credit/run-1/seed-42/train/',
      validation_prefix: 'training-data/credit/run-1/seed-42/validation/',
      metadata_key: 'pipeline-runs/credit/run-1/xgboost-seed-42/metadata-draft.json',
      hyperparameters: {},
      shards: 1,
      rows: { fit: 0, validation: 0, holdout: 0 },
    };
    // The draft the data step would have written for this model: the fixture's preprocessing.
    objects.objects.set(data.metadata_key, readFileSync(new URL(`${variant}/metadata.json`, fixtures)));
    objects.objects.set('training-jobs/credit/run-1/credit-run-1-42/output/model.tar.gz', readFileSync(new URL(`${variant}/sagemaker-model.tar.gz`, fixtures)));
    const job = { model_artifacts: 's3://artifacts/training-jobs/credit/run-1/credit-run-1-42/output/model.tar.gz' };
    return { objects, candidate: await steps.importXgboostModel(run, 42, job, data), steps, run, data, job };
  }

  it.each(['missing-default-directions', 'imputed'])(
    '%s: the ONNX candidate from model.tar.gz gives XGBoost’s own probabilities to 1e-6 on every fixture row',
    async (variant) => {
      const { objects, candidate } = await convert(variant);

      const metadata = parseModelMetadata(JSON.parse(objects.text(candidate.metadata_key))) as ModelMetadata;
      const onnx = objects.objects.get(candidate.artifact_key) as Uint8Array;
      expect(candidate.sha256).toBe(sha256(onnx));
      expect(candidate.algorithm).toBe('xgboost');
      const { probabilities: expected } = readJson(`${variant}/expected.json`) as { probabilities: number[] };
      const validated = validatePredictRequest(compileSchema(metadata.input_schema), { instances: fixtureRows }, fixtureRows.length);
      const session = await ort.InferenceSession.create(onnx);
      const columns = metadata.preprocessing.columns;
      const input = encodeRows(metadata.preprocessing, validated);
      const result = await session.run({ features: new ort.Tensor('float32', input, [validated.length, columns]) }, ['probability']);
      await session.release();
      const actual = (result['probability'] as ort.Tensor).data as Float32Array;
      let worst = 0;
      for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs((actual[i] as number) - (expected[i] as number)));
      expect(actual.length).toBe(expected.length);
      expect(worst).toBeLessThanOrEqual(1e-6);

      // Threshold chosen by the run's policy on the validation rows, holdout metrics recorded like the built-ins'.
      expect(metadata.output.threshold_selection).toMatchObject({ policy: 'fixed', chosen_on: 'fixed' });
      expect(metadata.output.threshold).toBe(0.5);
      expect(metadata.metrics['roc_auc']).toBeGreaterThan(0.7);
      expect(metadata.metrics['holdout_rows']).toBeGreaterThan(0);
      expect(metadata.prediction_profile).toBeDefined();
    },
  );

  it('stores the converted model as application/octet-stream and its metadata as application/json', async () => {
    const { objects, candidate } = await convert('imputed');
    expect(candidate.artifact_key).toBe('pipeline-runs/credit/run-1/xgboost-seed-42/model.onnx');
    expect(candidate.metadata_key).toBe('pipeline-runs/credit/run-1/xgboost-seed-42/metadata.json');
    expect(objects.contentTypes.get(candidate.artifact_key)).toBe('application/octet-stream');
    expect(objects.contentTypes.get(candidate.metadata_key)).toBe('application/json');
    // A converted model never comes from the step cache: the training job made it.
    expect(candidate.cache_hit).toBe(false);
  });

  it('releases the session it scores the validation and holdout rows in', async () => {
    const onnx = new OnnxScoringEngine();
    const sessions = { opened: 0, released: 0 };
    const engine: ScoringEngine = {
      async createSession(bytes, preprocessing) {
        const session = await onnx.createSession(bytes, preprocessing);
        sessions.opened += 1;
        return { score: (input, rows) => session.score(input, rows), release: async () => { sessions.released += 1; await session.release(); } };
      },
    };
    await convert('imputed', engine);
    expect(sessions).toEqual({ opened: 1, released: 1 });
  });

  it('answers a dataset changed under the job that the split cannot use as a step error', async () => {
    const { objects, steps, run, data, job } = await convert('imputed');
    objects.objects.set('datasets/credit.csv', new TextEncoder().encode('Status,Income\n"bad,1\n'));
    await expect(steps.importXgboostModel(run, 42, job, data)).rejects.toThrow(PipelineStepError);
    await expect(steps.importXgboostModel(run, 42, job, data)).rejects.toThrow(/^the data is not valid CSV: /);
  });

  it('chooses the threshold on the validation rows with a policy that needs scores', async () => {
    const { objects, steps, run, data, job } = await convert('imputed');
    const maxF1 = { ...run, decision_threshold: { policy: 'maxF1' as const } };
    const candidate = await steps.importXgboostModel(maxF1, 42, job, data);
    const metadata = parseModelMetadata(JSON.parse(objects.text(candidate.metadata_key)));
    expect(metadata.output.threshold_selection).toMatchObject({ policy: 'maxF1', chosen_on: 'validation' });
    expect(metadata.output.threshold).not.toBe(0.5);
  });

  it('refuses an archive without xgboost-model, an unreadable model and one that does not fit the preprocessing', async () => {
    const { objects, steps, run, data, job } = await convert('imputed');
    const key = 'training-jobs/credit/run-1/credit-run-1-42/output/model.tar.gz';
    objects.objects.set(key, tarArchive({ 'model.bin': new Uint8Array([1, 2, 3]) }));
    await expect(steps.importXgboostModel(run, 42, job, data)).rejects.toThrow(/model.tar.gz holds no xgboost-model \(it holds model.bin\)/);
    objects.objects.set(key, tarArchive({ 'xgboost-model': new Uint8Array([0x7b, 0x4c, 0, 0]) }));
    await expect(steps.importXgboostModel(run, 42, job, data)).rejects.toThrow(/the training job's xgboost-model: .*UBJSON is not read/);
    // The other fixture's draft has a different number of columns than this model's features.
    objects.objects.set(key, readFileSync(new URL('imputed/sagemaker-model.tar.gz', fixtures)));
    const draft = JSON.parse(objects.text(data.metadata_key)) as { input_schema: { features: { name: string }[] }; preprocessing: { columns: number; encodings: { feature: string }[] } };
    const dropped = draft.input_schema.features.findIndex((feature) => feature.name === 'Seniority');
    draft.input_schema.features.splice(dropped, 1);
    draft.preprocessing.encodings = draft.preprocessing.encodings.filter((encoding) => encoding.feature !== 'Seniority');
    draft.preprocessing.columns -= 1;
    objects.objects.set(data.metadata_key, new TextEncoder().encode(JSON.stringify(draft)));
    await expect(steps.importXgboostModel(run, 42, job, data)).rejects.toThrow(PipelineStepError);
    await expect(steps.importXgboostModel(run, 42, job, data)).rejects.toThrow(/xgboost model has \d+ features but the metadata's preprocessing produces \d+ columns/);
  });
});
