import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeRows } from '#core/model/encode.ts';
import { DEFAULT_MISSING_TOKENS } from '#contracts/missing-values.ts';
import type { TrainedBinaryClassifier } from '#core/training/train-binary-classifier.ts';
import { TrainingDataError, trainLogisticRegression } from '#core/training/train-binary-classifier.ts';

const creditCsv = readFileSync(new URL('../../../examples/credit/credit_data.csv', import.meta.url), 'utf8');
const train = (seed = 42) => trainLogisticRegression({ csv: creditCsv, target: 'Status', positiveLabel: 'bad', dataSha256: 'abc123', seed });

/** A small synthetic CSV: y depends on x; `z` is categorical. */
function syntheticCsv(rows: number, targetOf: (i: number) => string): string {
  const lines = ['y,x,z'];
  for (let i = 0; i < rows; i++) lines.push(`${targetOf(i)},${(i * 37) % 101},${i % 3 === 0 ? '' : `c${i % 4}`}`);
  return `${lines.join('\n')}\n`;
}

describe('trainLogisticRegression on the credit data', () => {
  let trained: TrainedBinaryClassifier;
  beforeAll(() => {
    trained = train();
  });

  it('reaches a holdout ROC AUC of at least 0.82', () => {
    expect(trained.metadata.metrics.roc_auc).toBeGreaterThanOrEqual(0.82);
    expect(trained.metadata.metrics).toMatchObject({ train_rows: 3340, holdout_rows: 1114 });
    for (const name of ['accuracy', 'precision', 'recall', 'f1', 'log_loss', 'positive_rate']) {
      expect(trained.metadata.metrics[name]).toBeGreaterThan(0);
    }
  });

  it('describes the model in its metadata', () => {
    const { metadata } = trained;
    expect(metadata.algorithm).toBe('logistic_regression');
    expect(metadata.output).toMatchObject({ positive_label: 'bad', negative_label: 'good' });
    // Chosen by maxF1 on 3-fold out-of-fold scores of the training rows; the holdout metrics are measured at it.
    expect(metadata.output.threshold_selection).toMatchObject({ policy: 'maxF1', chosen_on: 'cross_validation', folds: 3, parameters: {} });
    expect(metadata.output.threshold).toBeGreaterThan(0.1);
    expect(metadata.output.threshold).toBeLessThan(0.5);
    expect(metadata.metrics.threshold).toBe(metadata.output.threshold);
    expect(metadata.lineage).toEqual({
      data_sha256: 'abc123',
      rows: 4454,
      target: 'Status',
      seed: 42,
      parameters: { l2: 1, test_fraction: 0.25, max_iterations: 100, threshold_policy: 'maxF1', threshold_folds: 3, class_weight: 'none', missing_tokens: JSON.stringify(DEFAULT_MISSING_TOKENS) },
      trainer: 'builtin-logreg',
      trainer_version: '1.1.0',
    });
    const names = metadata.input_schema.features.map((f) => f.name);
    expect(names).not.toContain('Status');
    expect(names).toHaveLength(13);
    expect(Object.keys(metadata.baseline)).toEqual(names);
    expect(metadata.input_schema.features.find((f) => f.name === 'Income')).toEqual({ name: 'Income', type: 'numeric', nullable: true });
    expect(metadata.input_schema.features.find((f) => f.name === 'Home')).toMatchObject({ type: 'categorical', categories: ['ignore', 'other', 'owner', 'parents', 'priv', 'rent'] });
    expect(metadata.baseline.Age).toMatchObject({ type: 'numeric', count: 3340, missing_rate: 0 });
    // The metadata is a plain JSON document.
    expect(JSON.parse(JSON.stringify(metadata))).toEqual(metadata);
  });

  it('exports an ONNX model that matches the TypeScript model on the holdout to 1e-5', async () => {
    const { preprocessing } = trained.metadata;
    const rows = trained.holdout.rows;
    const session = await ort.InferenceSession.create(trained.onnx);
    const input = new ort.Tensor('float32', encodeRows(preprocessing, rows), [rows.length, preprocessing.columns]);
    const result = await session.run({ [preprocessing.input_name]: input });
    const output = result[preprocessing.output_name];
    expect(output?.dims).toEqual([rows.length, 1]);
    const onnxProbabilities = output?.data as Float32Array;
    let maxDifference = 0;
    for (let i = 0; i < rows.length; i++) {
      maxDifference = Math.max(maxDifference, Math.abs((onnxProbabilities[i] as number) - (trained.holdout.probabilities[i] as number)));
    }
    expect(maxDifference).toBeLessThan(1e-5);
  });

  it('gives identical bytes and metadata for the same seed, and a different split for another', () => {
    const again = train();
    expect(again.onnx).toEqual(trained.onnx);
    expect(again.metadata).toEqual(trained.metadata);
    expect(train(7).onnx).not.toEqual(trained.onnx);
  });
});

describe('trainLogisticRegression on bad data', () => {
  const base = { target: 'y', positiveLabel: 'p', dataSha256: 'x' };

  it('trains on any CSV with a binary target', () => {
    const result = trainLogisticRegression({ ...base, csv: syntheticCsv(200, (i) => ((i * 37) % 101 > 50 ? 'p' : 'n')) });
    expect(result.metadata.metrics.roc_auc).toBeGreaterThan(0.9);
    expect(result.metadata.input_schema.features).toEqual([
      { name: 'x', type: 'numeric', nullable: false },
      { name: 'z', type: 'categorical', nullable: true, categories: ['c0', 'c1', 'c2', 'c3'] },
    ]);
  });

  it('rejects a missing target column', () => {
    const csv = syntheticCsv(100, (i) => (i % 2 ? 'p' : 'n'));
    expect(() => trainLogisticRegression({ ...base, csv, target: 'label' })).toThrow(TrainingDataError);
    expect(() => trainLogisticRegression({ ...base, csv, target: 'label' })).toThrow(/target column "label" is not in the data/);
  });

  it('rejects a non-binary target', () => {
    const csv = syntheticCsv(100, (i) => ['p', 'n', 'q'][i % 3] as string);
    expect(() => trainLogisticRegression({ ...base, csv })).toThrow(TrainingDataError);
    expect(() => trainLogisticRegression({ ...base, csv })).toThrow(/exactly 2 distinct values/);
  });

  it('rejects an absent positive label, too few rows of a class and malformed CSV', () => {
    const csv = syntheticCsv(100, (i) => (i % 2 ? 'p' : 'n'));
    expect(() => trainLogisticRegression({ ...base, csv, positiveLabel: 'yes' })).toThrow(TrainingDataError);
    const rare = syntheticCsv(100, (i) => (i < 10 ? 'p' : 'n'));
    expect(() => trainLogisticRegression({ ...base, csv: rare })).toThrow(/at least 20 rows of each class, got 10 "p" and 90 "n"/);
    expect(() => trainLogisticRegression({ ...base, csv: 'y,x\np,1,2\n' })).toThrow(TrainingDataError);
  });

  it('rejects an identifier-like categorical feature that would encode to too many columns', () => {
    const lines = ['y,id,x'];
    for (let i = 0; i < 1600; i++) lines.push(`${i % 2 ? 'p' : 'n'},row${i},${i % 10}`);
    expect(() => trainLogisticRegression({ ...base, csv: lines.join('\n') })).toThrow(/more than 1000; drop or bin .*: id \(1200 categories\)/);
  });
});
