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
