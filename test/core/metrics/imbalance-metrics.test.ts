import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { averagePrecision, brierScore, calibrationTable, classificationMetrics, rocAuc } from '#core/metrics/classification.ts';
import { chooseThreshold } from '#core/metrics/threshold.ts';

/** scikit-learn's values for the same vectors: scripts/sklearn-reference/metrics.py. */
interface SklearnCase {
  readonly name: string;
  readonly labels: number[];
  readonly scores: number[];
  readonly average_precision: number;
  readonly brier: number;
  readonly roc_auc: number;
  readonly calibration: { readonly prob_true: number[]; readonly prob_pred: number[] };
}
const vectors = JSON.parse(readFileSync(new URL('../../fixtures/metrics/sklearn-metrics.json', import.meta.url), 'utf8')) as { cases: SklearnCase[] };

describe('the imbalance metrics against scikit-learn', () => {
  it.each(vectors.cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    expect(averagePrecision(c.labels, c.scores)).toBeCloseTo(c.average_precision, 12);
    expect(brierScore(c.labels, c.scores)).toBeCloseTo(c.brier, 12);
    expect(rocAuc(c.labels, c.scores)).toBeCloseTo(c.roc_auc, 12);
    // calibration_curve leaves out empty bins; the table keeps them with nulls.
    const filled = calibrationTable(c.labels, c.scores).filter((b) => b.count > 0);
    expect(filled.map((b) => b.observed_rate)).toEqual(c.calibration.prob_true.map((v) => expect.closeTo(v, 12) as unknown));
    expect(filled.map((b) => b.mean_predicted)).toEqual(c.calibration.prob_pred.map((v) => expect.closeTo(v, 12) as unknown));
  });

  it('reports the threshold, the predicted positive rate and a 10-bin table that covers every row', () => {
    const metrics = classificationMetrics([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], 0.3);
    expect(metrics).toMatchObject({ threshold: 0.3, predicted_positive_rate: 0.75, recall: 1 });
    const table = calibrationTable([0, 1, 1], [0, 0.55, 1]);
    expect(table).toHaveLength(10);
    expect(table.reduce((n, b) => n + b.count, 0)).toBe(3);
    expect(table[0]).toMatchObject({ lower: 0, count: 1, observed_rate: 0 });
    expect(table[9]).toMatchObject({ count: 1, observed_rate: 1 });
  });
});

describe('chooseThreshold', () => {
  // Ten rows, scores descending; positives at ranks 1, 2, 4 and 7.
  const scores = [0.95, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1];
  const labels = [1, 1, 0, 1, 0, 0, 1, 0, 0, 0];

  it('maxF1 picks the cut with the best F1, between two training scores', () => {
    // Top 4: tp 3, fp 1, fn 1 → F1 0.75 (top 7 gives 8/11 ≈ 0.727).
    const chosen = chooseThreshold(labels, scores, { policy: 'maxF1' });
    expect(chosen.threshold).toBeCloseTo(0.65, 12);
    expect(chosen.objective).toBeCloseTo(0.75, 12);
    expect(classificationMetrics(labels, scores, chosen.threshold).f1).toBeCloseTo(0.75, 12);
  });

  it('youden maximises recall minus the false positive rate', () => {
    // Top 4: 3/4 − 1/6 ≈ 0.583; top 7: 1 − 3/6 = 0.5; top 2: 0.5.
    expect(chooseThreshold(labels, scores, { policy: 'youden' }).threshold).toBeCloseTo(0.65, 12);
  });

  it('targetRecall takes the highest threshold that reaches the recall', () => {
    expect(chooseThreshold(labels, scores, { policy: 'targetRecall', recall: 1 }).threshold).toBeCloseTo(0.35, 12);
    expect(chooseThreshold(labels, scores, { policy: 'targetRecall', recall: 0.5 }).threshold).toBeCloseTo(0.85, 12);
  });

  it('cost weighs false negatives against false positives', () => {
    // A missed positive costs 10 false alarms: catch them all (fp 3) rather than miss one.
    expect(chooseThreshold(labels, scores, { policy: 'cost', falsePositive: 1, falseNegative: 10 }).threshold).toBeCloseTo(0.35, 12);
    // A false alarm costs ten misses: only the top two, which are both positive (cost 2 against 4 for nothing positive).
    expect(chooseThreshold(labels, scores, { policy: 'cost', falsePositive: 10, falseNegative: 1 })).toEqual({ threshold: expect.closeTo(0.85, 12) as unknown, objective: 2 });
    // Each false alarm costs more than all misses together: nothing positive.
    expect(chooseThreshold([0, 1], [0.9, 0.2], { policy: 'cost', falsePositive: 10, falseNegative: 1 }).threshold).toBeGreaterThan(0.9);
  });

  it('fixed returns its threshold, and bad parameters are refused', () => {
    expect(chooseThreshold([], [], { policy: 'fixed', threshold: 0.3 })).toEqual({ threshold: 0.3, objective: null });
    expect(() => chooseThreshold(labels, scores, { policy: 'targetRecall', recall: 0 })).toThrow(RangeError);
    expect(() => chooseThreshold(labels, scores, { policy: 'cost', falsePositive: 0, falseNegative: 0 })).toThrow(RangeError);
    expect(() => chooseThreshold(labels, scores, { policy: 'fixed', threshold: 1 })).toThrow(RangeError);
    expect(() => chooseThreshold([], [], { policy: 'maxF1' })).toThrow(RangeError);
  });

  it('finds a threshold below 0.5 on imbalanced scores where 0.5 predicts no positive at all', () => {
    const rare = Array.from({ length: 1000 }, (_, i) => (i % 20 === 0 ? 1 : 0));
    const probabilities = rare.map((y, i) => 0.02 + 0.2 * y + 0.1 * ((i * 7919) % 97) / 97);
    expect(classificationMetrics(rare, probabilities, 0.5).recall).toBe(0);
    const chosen = chooseThreshold(rare, probabilities, { policy: 'maxF1' });
    expect(chosen.threshold).toBeLessThan(0.5);
    expect(classificationMetrics(rare, probabilities, chosen.threshold).recall).toBeGreaterThan(0.5);
  });
});
