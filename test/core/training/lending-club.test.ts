import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { trainGradientBoosting, trainLogisticRegression } from '#core/training/train-binary-classifier.ts';

/** Lending Club loan data (R package modeldata 1.1.0, MIT): 9857 rows, 5.2 % "bad", a 50-level addr_state. */
const lendingCsv = readFileSync(new URL('../../../examples/lending-club/lending_club.csv', import.meta.url), 'utf8');
const data = { csv: lendingCsv, target: 'Class', positiveLabel: 'bad', dataSha256: 'lending' };

describe('the built-in trainers on the lending club data', () => {
  it('train a logistic regression with a holdout ROC AUC of at least 0.72', () => {
    // 0.7282 with l2 = 1 and seed 42 (0.727 on average over 8 seeds). scikit-learn's reference
    // figure of about 0.775 is not reached by this pipeline on any seed tried; l2 = 100 gives 0.748.
    const trained = trainLogisticRegression(data);
    expect(trained.metadata.metrics.roc_auc).toBeGreaterThanOrEqual(0.72);
    expect(trained.metadata.preprocessing.columns).toBe(119);
  });

  it('train gradient-boosted trees with a holdout ROC AUC of at least 0.71', () => {
    // 0.7240 with the defaults and seed 42.
    const trained = trainGradientBoosting(data);
    expect(trained.metadata.metrics.roc_auc).toBeGreaterThanOrEqual(0.71);
  });
});

describe('the decision threshold on the lending club data (5 % positives)', () => {
  it('is chosen on out-of-fold training scores, where 0.5 would label almost every holdout row good', () => {
    const fixed = trainLogisticRegression({ ...data, thresholdPolicy: { policy: 'fixed', threshold: 0.5 } }).metadata;
    // At 0.5 one holdout row of 2464 is labelled bad, and it is good: recall 0.
    expect(fixed.metrics.recall).toBe(0);
    expect(fixed.metrics.predicted_positive_rate).toBeLessThan(0.001);

    const trained = trainLogisticRegression(data).metadata;
    expect(trained.output.threshold_selection).toMatchObject({ policy: 'maxF1', chosen_on: 'cross_validation', folds: 3 });
    expect(trained.output.threshold).toBeLessThan(0.5);
    expect(trained.metrics.threshold).toBe(trained.output.threshold);
    expect(trained.metrics.recall).toBeGreaterThan(0.1);
    expect(trained.metrics.pr_auc).toBeGreaterThan(0.1);
    expect(trained.metrics.brier).toBeLessThan(0.06);
    expect(trained.lineage.parameters).toMatchObject({ threshold_policy: 'maxF1', threshold_folds: 3, class_weight: 'none' });
  });

  it('reaches a target recall on the holdout it never saw, roughly', () => {
    const trained = trainLogisticRegression({ ...data, thresholdPolicy: { policy: 'targetRecall', recall: 0.6 } }).metadata;
    expect(trained.metrics.recall).toBeGreaterThan(0.45);
  });

  it('weighs the classes with classWeight balanced, which moves the probabilities up and the threshold with them', () => {
    const balanced = trainLogisticRegression({ ...data, classWeight: 'balanced' }).metadata;
    expect(balanced.output.threshold).toBeGreaterThan(0.4);
    expect(balanced.metrics.roc_auc).toBeGreaterThan(0.7);
    expect(balanced.metrics.recall).toBeGreaterThan(0.1);
  });
});
