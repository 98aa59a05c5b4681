import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fitGradientBoosting, predictGradientBoosting, resolveGradientBoostingOptions } from '#core/training/gradient-boosting.ts';
import { fitLogisticRegression, predictProbabilities } from '#core/training/logistic-regression.ts';
import { TrainingDataError, encodeTrainingData, trainGradientBoosting, trainLogisticRegression } from '#core/training/train-binary-classifier.ts';

// What the trainers' benchmark (bench/trainers.bench.ts) fits and hands to scikit-learn must be what the trainers fit.
const csv = readFileSync(new URL('../../../examples/credit/credit_data.csv', import.meta.url), 'utf8');
const input = { csv, target: 'Status', positiveLabel: 'bad', dataSha256: '0'.repeat(64), seed: 7, thresholdPolicy: { policy: 'fixed', threshold: 0.5 } } as const;

describe('encodeTrainingData', () => {
  const data = encodeTrainingData(input);
  const trainRows = data.trainLabels.length;
  const holdoutRows = data.holdoutLabels.length;

  it('gives row-major matrices of the split the trainers use, without class weights by default', () => {
    expect(data.trainEncoded.length).toBe(trainRows * data.columns);
    expect(data.trainScaled.length).toBe(trainRows * data.columns);
    expect(data.holdoutEncoded.length).toBe(holdoutRows * data.columns);
    expect(data.holdoutScaled.length).toBe(holdoutRows * data.columns);
    expect(data.sampleWeights).toBeUndefined();
    expect(data.trainScaled.every(Number.isFinite)).toBe(true);
  });

  it('reproduces the logistic regression trainer: a fit on its scaled matrix gives the same holdout probabilities', () => {
    const trained = trainLogisticRegression(input);
    const model = fitLogisticRegression(data.trainScaled, data.trainLabels, trainRows, data.columns, { l2: 1 });
    expect(Array.from(data.holdoutLabels)).toEqual(Array.from(trained.holdout.labels));
    expect(Array.from(predictProbabilities(model, data.holdoutScaled, holdoutRows, data.columns))).toEqual(Array.from(trained.holdout.probabilities));
  });

  it('reproduces the gradient-boosting trainer: a fit on its encoded matrix gives the same holdout probabilities', () => {
    const trained = trainGradientBoosting({ ...input, trees: 20 });
    const model = fitGradientBoosting(data.trainEncoded, data.trainLabels, trainRows, data.columns, resolveGradientBoostingOptions({ trees: 20, seed: input.seed }));
    expect(Array.from(predictGradientBoosting(model, data.holdoutEncoded, holdoutRows, data.columns))).toEqual(Array.from(trained.holdout.probabilities));
  });

  it('rejects unusable data as the trainers do', () => {
    expect(() => encodeTrainingData({ ...input, target: 'nope' })).toThrow(TrainingDataError);
  });
});
