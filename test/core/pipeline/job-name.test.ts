import { describe, expect, it } from 'vitest';
import { MAX_JOB_PREFIX_LENGTH, MAX_SEED, TRAINING_JOB_NAME, trainingJobPrefix } from '#core/pipeline/job-name.ts';
import { DEFAULT_PIPELINE_CONFIG, normalizeRun } from '#core/pipeline/run.ts';

const UUID = '7f3c2a1e-9b4d-4c8e-a5f6-0123456789ab';

describe('trainingJobPrefix', () => {
  it.each([
    ['credit', UUID],
    ['credit_risk_v2', UUID],
    ['a'.repeat(40).replace(/a/g, (_, i: number) => (i % 5 === 4 ? '_' : 'a')), UUID],
    [`${'m'.repeat(62)}_`, UUID],
    ['x', 'drift-credit_risk-20261201T120000Z'],
    ['--weird__--name--', '---'],
  ])('names every seed of model %j (run %s) within SageMaker\'s rule', (model, runId) => {
    const prefix = trainingJobPrefix(model, runId);
    for (const seed of [0, 42, MAX_SEED]) {
      const name = `${prefix}-${seed}`;
      expect(name).toMatch(TRAINING_JOB_NAME);
      expect(name.length).toBeLessThanOrEqual(63);
    }
  });

  it('keeps the model readable and the run distinct', () => {
    expect(trainingJobPrefix('credit_risk', UUID)).toBe('credit-risk-0123456789ab');
    expect(trainingJobPrefix('credit', 'run-1')).not.toBe(trainingJobPrefix('credit', 'run-2'));
  });

  it('is what every normalised run carries, and seeds stay within the suffix the name has room for', () => {
    const run = normalizeRun({ model: 'credit_risk_model', dataset: { key: 'datasets/x.csv' }, target: 'y', positive_label: '1' }, DEFAULT_PIPELINE_CONFIG, new Date(0), () => UUID);
    expect(run.training_job_prefix).toBe(trainingJobPrefix('credit_risk_model', UUID));
    expect(() =>
      normalizeRun({ model: 'credit', dataset: { key: 'datasets/x.csv' }, target: 'y', positive_label: '1', seeds: [MAX_SEED + 1] }, DEFAULT_PIPELINE_CONFIG, new Date(0), () => UUID),
    ).toThrow(/seeds/);
  });
});

describe('training job names, exactly', () => {
  it('anchors the name rule at both ends', () => {
    expect(TRAINING_JOB_NAME.test('-credit-1')).toBe(false);
    expect(TRAINING_JOB_NAME.test('credit-1-')).toBe(false);
    expect(TRAINING_JOB_NAME.test('credit--1')).toBe(true);
    expect(TRAINING_JOB_NAME.test('a'.repeat(63))).toBe(true);
    expect(TRAINING_JOB_NAME.test('a'.repeat(64))).toBe(false);
  });

  it('turns each run of other characters into one dash and trims dashes at both ends', () => {
    expect(trainingJobPrefix('__credit__risk__', 'r1')).toBe('credit-risk-r1');
    expect(trainingJobPrefix('a.b', 'r1')).toBe('a-b-r1');
  });

  it('cuts a long model name to the room left by the run id, dropping the dashes the cut leaves', () => {
    // 52 − 12 − 1 = 39 characters of model; the 39th is the dash "_" became.
    const model = `${'m'.repeat(38)}_x${'y'.repeat(20)}`;
    expect(trainingJobPrefix(model, UUID)).toBe(`${'m'.repeat(38)}-0123456789ab`);
    expect(trainingJobPrefix('m'.repeat(63), UUID)).toBe(`${'m'.repeat(39)}-0123456789ab`);
    expect(trainingJobPrefix('m'.repeat(63), UUID)).toHaveLength(MAX_JOB_PREFIX_LENGTH);
  });

  it('falls back to "model" and "run" when nothing usable is left', () => {
    expect(trainingJobPrefix('__', '---')).toBe('model-run');
    expect(trainingJobPrefix('credit', '')).toBe('credit-run');
  });
});
