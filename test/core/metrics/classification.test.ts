import { describe, expect, it } from 'vitest';
import { classificationMetrics, logLoss, rocAuc } from '#core/metrics/classification.ts';

describe('rocAuc', () => {
  it('matches hand-computed values', () => {
    expect(rocAuc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])).toBe(0.75);
    expect(rocAuc([0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4])).toBe(1);
    expect(rocAuc([1, 1, 0, 0], [0.1, 0.2, 0.3, 0.4])).toBe(0);
  });

  it('counts ties between a positive and a negative as one half', () => {
    expect(rocAuc([0, 1], [0.5, 0.5])).toBe(0.5);
    // Pairs (neg, pos): (0.1,0.4)=1, (0.1,0.8)=1, (0.4,0.4)=0.5, (0.4,0.8)=1 → 3.5 / 4.
    expect(rocAuc([0, 0, 1, 1], [0.1, 0.4, 0.4, 0.8])).toBe(0.875);
    expect(rocAuc([0, 0, 0, 1, 1], [0.3, 0.3, 0.3, 0.3, 0.3])).toBe(0.5);
  });

  it('needs both classes and matching lengths', () => {
    expect(() => rocAuc([1, 1], [0.2, 0.3])).toThrow(RangeError);
    expect(() => rocAuc([0, 1], [0.2])).toThrow(RangeError);
  });
});

describe('classificationMetrics', () => {
  it('computes threshold metrics from the confusion matrix', () => {
    // Predictions at 0.5: [0, 1, 1, 1, 0]; labels [0, 0, 1, 1, 1] → tp 2, fp 1, tn 1, fn 1.
    const m = classificationMetrics([0, 0, 1, 1, 1], [0.2, 0.6, 0.5, 0.9, 0.1], 0.5);
    expect(m.accuracy).toBeCloseTo(3 / 5, 12);
    expect(m.precision).toBeCloseTo(2 / 3, 12);
    expect(m.recall).toBeCloseTo(2 / 3, 12);
    expect(m.f1).toBeCloseTo(2 / 3, 12);
    // Pairs (neg, pos) ranked correctly: 0.2<0.5, 0.2<0.9, 0.6<0.9 → 3 of 6.
    expect(m.roc_auc).toBe(0.5);
  });

  it('uses 0 for precision, recall and F1 with an empty denominator', () => {
    const m = classificationMetrics([0, 1], [0.1, 0.2], 0.5);
    expect(m.precision).toBe(0);
    expect(m.recall).toBe(0);
    expect(m.f1).toBe(0);
  });

  it('computes a clipped log loss', () => {
    expect(logLoss([1, 0], [0.8, 0.4])).toBeCloseTo(-(Math.log(0.8) + Math.log(0.6)) / 2, 12);
    expect(logLoss([1], [0])).toBeCloseTo(-Math.log(1e-15), 6);
    expect(Number.isFinite(logLoss([0], [1]))).toBe(true);
  });
});
