import { describe, expect, it } from 'vitest';
import type { GateCheckName, GateDecision, GateInput } from '#core/pipeline/gate.ts';
import { evaluateGate } from '#core/pipeline/gate.ts';

const metrics = { roc_auc: 0.83, accuracy: 0.8, precision: 0.7, recall: 0.5, f1: 0.6, log_loss: 0.45 };
const fairness = { demographic_parity_ratio: 0.85, disparate_impact: 1.2, equal_opportunity_difference: -0.05 };

const allThresholds = {
  minRocAuc: 0.8,
  minAccuracy: 0.75,
  maxLogLoss: 0.5,
  minDemographicParityRatio: 0.8,
  minDisparateImpact: 0.8,
  maxEqualOpportunityDifference: 0.1,
};

function gate(overrides: Partial<GateInput> = {}): GateDecision {
  return evaluateGate({ candidate: { metrics, fairness }, thresholds: allThresholds, maxRegression: 0.01, ...overrides });
}

function reason(decision: GateDecision, check: GateCheckName) {
  const found = decision.reasons.find((r) => r.check === check);
  if (found === undefined) throw new Error(`no reason "${check}"`);
  return found;
}

const failed = (decision: GateDecision) => decision.reasons.filter((r) => !r.passed).map((r) => r.check);

describe('evaluateGate thresholds', () => {
  it('passes with one reason per configured threshold', () => {
    const decision = gate();
    expect(decision.passed).toBe(true);
    expect(decision.reasons.map((r) => r.check)).toEqual([
      'min_roc_auc',
      'min_accuracy',
      'max_log_loss',
      'min_demographic_parity_ratio',
      'min_disparate_impact',
      'max_equal_opportunity_difference',
    ]);
    expect(reason(decision, 'min_roc_auc')).toEqual({ check: 'min_roc_auc', passed: true, value: 0.83, threshold: 0.8, message: 'ROC AUC 0.83 is at least the min 0.8' });
    expect(reason(decision, 'max_equal_opportunity_difference')).toMatchObject({ value: 0.05, threshold: 0.1 });
  });

  it('checks only the configured thresholds, and passes with none', () => {
    expect(gate({ thresholds: { minAccuracy: 0.5 } }).reasons.map((r) => r.check)).toEqual(['min_accuracy']);
    expect(gate({ thresholds: {} })).toEqual({ passed: true, reasons: [] });
  });

  const failing: [GateCheckName, Partial<GateInput>][] = [
    ['min_roc_auc', { thresholds: { ...allThresholds, minRocAuc: 0.84 } }],
    ['min_accuracy', { thresholds: { ...allThresholds, minAccuracy: 0.81 } }],
    ['max_log_loss', { thresholds: { ...allThresholds, maxLogLoss: 0.4 } }],
    ['min_demographic_parity_ratio', { thresholds: { ...allThresholds, minDemographicParityRatio: 0.9 } }],
    ['min_disparate_impact', { candidate: { metrics, fairness: { ...fairness, disparate_impact: 0.7 } } }],
    ['max_equal_opportunity_difference', { candidate: { metrics, fairness: { ...fairness, equal_opportunity_difference: 0.15 } } }],
  ];
  it.each(failing)('fails %s alone when its bound is not met', (check, overrides) => {
    const decision = gate(overrides);
    expect(decision.passed).toBe(false);
    expect(failed(decision)).toEqual([check]);
  });

  it('passes every metric that sits exactly at its bound (the bounds are inclusive)', () => {
    const atBounds = gate({
      candidate: { metrics: { ...metrics, roc_auc: 0.8, accuracy: 0.75, log_loss: 0.5 }, fairness: { demographic_parity_ratio: 0.8, disparate_impact: 0.8, equal_opportunity_difference: -0.1 } },
    });
    expect(failed(atBounds)).toEqual([]);
    expect(atBounds.passed).toBe(true);
    expect(reason(atBounds, 'min_roc_auc').message).toBe('ROC AUC 0.8 is at least the min 0.8');
    expect(reason(atBounds, 'max_log_loss').message).toBe('log loss 0.5 is at most the max 0.5');
    expect(reason(atBounds, 'max_equal_opportunity_difference')).toMatchObject({ passed: true, value: 0.1, threshold: 0.1 });
  });

  it('says what was compared', () => {
    expect(reason(gate({ thresholds: { maxLogLoss: 0.4 } }), 'max_log_loss').message).toBe('log loss 0.45 is above the max 0.4');
    const negativeEod = gate({ candidate: { metrics, fairness: { ...fairness, equal_opportunity_difference: -0.2 } } });
    expect(reason(negativeEod, 'max_equal_opportunity_difference')).toMatchObject({
      passed: false,
      value: 0.2,
      message: '|equal opportunity difference| 0.2 is above the max 0.1',
    });
  });

  it('fails a threshold whose metric is missing or undefined', () => {
    const noFairness = gate({ candidate: { metrics } });
    expect(failed(noFairness)).toEqual(['min_demographic_parity_ratio', 'min_disparate_impact', 'max_equal_opportunity_difference']);
    expect(reason(noFairness, 'min_disparate_impact')).toMatchObject({ value: null, message: 'disparate impact was not measured, so it cannot be held to min 0.8' });

    const nullDi = gate({ candidate: { metrics, fairness: { ...fairness, disparate_impact: null } } });
    expect(failed(nullDi)).toEqual(['min_disparate_impact']);
    expect(reason(nullDi, 'min_disparate_impact').message).toContain('zero denominator');

    const noAuc = gate({ candidate: { metrics: { accuracy: 0.9 }, fairness } });
    expect(failed(noAuc)).toEqual(['min_roc_auc', 'max_log_loss']);
  });

  it('throws on a threshold that is not a finite number', () => {
    expect(() => gate({ thresholds: { minRocAuc: Number.NaN } })).toThrow(/threshold minRocAuc must be a finite number/);
    expect(() => gate({ maxRegression: Number.POSITIVE_INFINITY })).toThrow(/maxRegression/);
  });
});

describe('evaluateGate messages and bad input', () => {
  it('names each check and its relation when it fails', () => {
    const low = gate({ candidate: { metrics: { ...metrics, roc_auc: 0.7, accuracy: 0.7 }, fairness: { ...fairness, demographic_parity_ratio: 0.5 } } });
    expect(reason(low, 'min_roc_auc').message).toBe('ROC AUC 0.7 is below the min 0.8');
    expect(reason(low, 'min_accuracy').message).toBe('accuracy 0.7 is below the min 0.75');
    expect(reason(low, 'min_demographic_parity_ratio').message).toBe('demographic parity ratio 0.5 is below the min 0.8');
    const noAccuracy = gate({ candidate: { metrics: { roc_auc: 0.9 }, fairness }, thresholds: { minAccuracy: 0.5 } });
    expect(reason(noAccuracy, 'min_accuracy').message).toBe('accuracy is not among the candidate metrics, so it cannot be held to min 0.5');
    const spread = gate({ seedSpread: { metric: 'roc_auc', std: 0.02, max: 0.01 } });
    expect(reason(spread, 'seed_spread').message).toBe('roc_auc std across seeds 0.02 is above the max 0.01');
  });

  it('ignores a threshold given as undefined, and refuses a seed spread that is not a finite number', () => {
    expect(gate({ thresholds: { minRocAuc: undefined } as GateInput['thresholds'] })).toEqual({ passed: true, reasons: [] });
    expect(() => gate({ seedSpread: { metric: 'roc_auc', std: Number.NaN, max: 0.01 } })).toThrow('seedSpread.std must be a finite number, got NaN');
    expect(() => gate({ seedSpread: { metric: 'roc_auc', std: 0.01, max: Number.POSITIVE_INFINITY } })).toThrow('seedSpread.max must be a finite number, got Infinity');
  });

  it('says whether a regression is allowed or an improvement required, at and around zero', () => {
    const champion = { metrics: { ...metrics } };
    expect(reason(gate({ champion, maxRegression: 0 }), 'champion_regression')).toMatchObject({
      passed: true,
      value: 0,
      message: 'candidate roc_auc 0.83 vs champion 0.83 (better by 0): a regression of at most 0 is allowed',
    });
    expect(reason(gate({ champion, maxRegression: -0.02 }), 'champion_regression')).toMatchObject({
      passed: false,
      threshold: 0.02,
      message: 'candidate roc_auc 0.83 vs champion 0.83 (better by 0): an improvement of at least 0.02 is required',
    });
  });
});

describe('evaluateGate against the champion', () => {
  const champion = (roc_auc: number, log_loss = 0.45) => ({ metrics: { ...metrics, roc_auc, log_loss } });

  it('adds no champion check without a champion', () => {
    expect(gate({ champion: undefined }).reasons.some((r) => r.check === 'champion_regression')).toBe(false);
  });

  it('passes a better candidate and a regression within the margin', () => {
    const better = reason(gate({ champion: champion(0.8) }), 'champion_regression');
    expect(better).toMatchObject({ passed: true, threshold: -0.01 });
    expect(better.value).toBeCloseTo(0.03, 12);
    expect(better.message).toBe('candidate roc_auc 0.83 vs champion 0.8 (better by 0.03): a regression of at most 0.01 is allowed');

    const within = gate({ champion: champion(0.835) });
    expect(within.passed).toBe(true);
    expect(reason(within, 'champion_regression').value).toBeCloseTo(-0.005, 12);
  });

  it('passes a regression of exactly the margin despite floating-point noise', () => {
    // 0.83 − 0.84 is −0.010000000000000009 in floating point.
    expect(gate({ champion: champion(0.84) }).passed).toBe(true);
  });

  it('fails a regression beyond the margin', () => {
    const decision = gate({ champion: champion(0.85) });
    expect(decision.passed).toBe(false);
    expect(failed(decision)).toEqual(['champion_regression']);
    expect(reason(decision, 'champion_regression').message).toBe(
      'candidate roc_auc 0.83 vs champion 0.85 (worse by 0.02): a regression of at most 0.01 is allowed',
    );
  });

  it('can demand an improvement and compare on log loss, where lower is better', () => {
    expect(gate({ champion: champion(0.825), maxRegression: -0.01 }).passed).toBe(false);
    expect(gate({ champion: champion(0.815), maxRegression: -0.01 }).passed).toBe(true);

    const worseLoss = gate({ champion: champion(0.83, 0.4), compareMetric: 'log_loss' });
    expect(reason(worseLoss, 'champion_regression')).toMatchObject({ passed: false });
    expect(reason(worseLoss, 'champion_regression').message).toContain('worse by 0.05, lower is better');
    expect(gate({ champion: champion(0.83, 0.5), compareMetric: 'log_loss' }).passed).toBe(true);
  });

  it('fails when the champion lacks the compared metric', () => {
    const decision = gate({ champion: { metrics: { accuracy: 0.8 } } });
    expect(reason(decision, 'champion_regression')).toMatchObject({ passed: false, value: null, message: 'the champion has no roc_auc, so the two cannot be compared' });
  });

  it('fails naming the candidate when the candidate lacks the compared metric', () => {
    const decision = gate({ champion: { metrics: { ...metrics, brier: 0.1 } }, compareMetric: 'brier' });
    expect(reason(decision, 'champion_regression')).toMatchObject({ passed: false, value: null, message: 'the candidate has no brier, so the two cannot be compared' });
  });
});

describe('evaluateGate seed spread', () => {
  it('passes a spread within the max and fails one above it', () => {
    const within = gate({ seedSpread: { metric: 'roc_auc', std: 0.004, max: 0.01 } });
    expect(reason(within, 'seed_spread')).toEqual({
      check: 'seed_spread',
      passed: true,
      value: 0.004,
      threshold: 0.01,
      message: 'roc_auc std across seeds 0.004 is at most the max 0.01',
    });
    expect(reason(gate({ seedSpread: { metric: 'roc_auc', std: 0.01, max: 0.01 } }), 'seed_spread').passed).toBe(true);
    const above = gate({ seedSpread: { metric: 'roc_auc', std: 0.02, max: 0.01 } });
    expect(above.passed).toBe(false);
    expect(failed(above)).toEqual(['seed_spread']);
  });
});

describe('evaluateGate on imbalance', () => {
  const imbalanced = { ...metrics, pr_auc: 0.14, brier: 0.048, recall: 0.3, precision: 0.17, f1: 0.22, predicted_positive_rate: 0.09, threshold: 0.14 };

  it('refuses a candidate that predicts one class only on the holdout, whatever its ROC AUC', () => {
    // The lending-club model at a fixed 0.5: no holdout row reaches it, every served label is "good".
    const decision = evaluateGate({ candidate: { metrics: { ...imbalanced, recall: 0, precision: 0, f1: 0, predicted_positive_rate: 0, threshold: 0.5 } }, thresholds: { minRocAuc: 0.7 }, maxRegression: 0.01 });
    expect(decision.passed).toBe(false);
    expect(failed(decision)).toEqual(['single_class']);
    expect(reason(decision, 'single_class').message).toBe('every holdout row is predicted negative at threshold 0.5: the served label would never change');
    expect(failed(evaluateGate({ candidate: { metrics: { ...imbalanced, predicted_positive_rate: 1 } }, thresholds: {}, maxRegression: 0 }))).toEqual(['single_class']);
  });

  it('passes both classes, and leaves the check out for metrics that never measured the rate', () => {
    expect(reason(evaluateGate({ candidate: { metrics: imbalanced }, thresholds: {}, maxRegression: 0 }), 'single_class').passed).toBe(true);
    expect(evaluateGate({ candidate: { metrics }, thresholds: {}, maxRegression: 0 }).reasons.map((r) => r.check)).not.toContain('single_class');
  });

  it('names the threshold in the single-class message only when the metrics hold one', () => {
    const { threshold: _threshold, ...withoutThreshold } = imbalanced;
    const oneClass = evaluateGate({ candidate: { metrics: { ...withoutThreshold, predicted_positive_rate: 1 } }, thresholds: {}, maxRegression: 0 });
    expect(reason(oneClass, 'single_class').message).toBe('every holdout row is predicted positive: the served label would never change');
    const both = evaluateGate({ candidate: { metrics: withoutThreshold }, thresholds: {}, maxRegression: 0 });
    expect(reason(both, 'single_class').message).toBe('9% of the holdout rows are predicted positive: both classes are predicted');
    const withThreshold = evaluateGate({ candidate: { metrics: imbalanced }, thresholds: {}, maxRegression: 0 });
    expect(reason(withThreshold, 'single_class').message).toBe('9% of the holdout rows are predicted positive at threshold 0.14: both classes are predicted');
  });

  it('holds PR AUC, recall, precision, F1 and the Brier score to configured bounds', () => {
    const decision = evaluateGate({
      candidate: { metrics: imbalanced },
      thresholds: { minPrAuc: 0.2, minRecall: 0.25, minPrecision: 0.2, minF1: 0.2, maxBrier: 0.04 },
      maxRegression: 0,
    });
    expect(failed(decision)).toEqual(['min_pr_auc', 'min_precision', 'max_brier']);
    expect(reason(decision, 'min_recall')).toMatchObject({ passed: true, value: 0.3, threshold: 0.25 });
    expect(reason(decision, 'max_brier').message).toBe('Brier score 0.048 is above the max 0.04');
    // Each bound under its own check name and label, passing or not.
    expect(decision.reasons.filter((r) => r.check !== 'single_class').map((r) => [r.check, r.passed, r.message])).toEqual([
      ['min_pr_auc', false, 'PR AUC 0.14 is below the min 0.2'],
      ['min_recall', true, 'recall 0.3 is at least the min 0.25'],
      ['min_precision', false, 'precision 0.17 is below the min 0.2'],
      ['min_f1', true, 'F1 0.22 is at least the min 0.2'],
      ['max_brier', false, 'Brier score 0.048 is above the max 0.04'],
    ]);
  });

  it('compares the Brier score with the champion as lower is better', () => {
    const decision = evaluateGate({ candidate: { metrics: imbalanced }, champion: { metrics: { ...imbalanced, brier: 0.05 } }, thresholds: {}, maxRegression: 0, compareMetric: 'brier' });
    expect(reason(decision, 'champion_regression')).toMatchObject({ passed: true });
    expect(reason(decision, 'champion_regression').value).toBeCloseTo(0.002, 12);
  });
});
