import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fairnessMetrics, groupFromAttribute } from '#core/pipeline/fairness.ts';
import { trainLogisticRegression } from '#core/training/train-binary-classifier.ts';

/**
 * Ten rows, the protected group interleaved with the reference group.
 *
 * protected (rows 0, 2, 4, 6): labels 1 1 0 0, predicted 1 1 1 0
 *   selection rate 3/4 = 0.75, TPR 2/2 = 1
 * reference (rows 1, 3, 5, 7, 8, 9): labels 1 1 1 0 0 0, predicted 1 1 0 0 1 0
 *   selection rate 3/6 = 0.5, TPR 2/3
 * demographic parity ratio 0.5 / 0.75 = 2/3, disparate impact 0.75 / 0.5 = 1.5,
 * equal opportunity difference 1 − 2/3 = 1/3.
 */
const protectedGroup = [true, false, true, false, true, false, true, false, false, false];
const labels = Uint8Array.from([1, 1, 1, 1, 0, 1, 0, 0, 0, 0]);
const predicted = Uint8Array.from([1, 1, 1, 1, 1, 0, 0, 0, 1, 0]);

describe('fairnessMetrics', () => {
  it('matches the hand-computed example', () => {
    const report = fairnessMetrics({ labels, predicted, protectedGroup });
    expect(report.protected).toEqual({ count: 4, actual_positive: 2, predicted_positive: 3, true_positive: 2, selection_rate: 0.75, true_positive_rate: 1 });
    expect(report.reference).toEqual({ count: 6, actual_positive: 3, predicted_positive: 3, true_positive: 2, selection_rate: 0.5, true_positive_rate: 2 / 3 });
    expect(report.demographic_parity_ratio).toBeCloseTo(2 / 3, 12);
    expect(report.disparate_impact).toBeCloseTo(1.5, 12);
    expect(report.equal_opportunity_difference).toBeCloseTo(1 / 3, 12);
    expect(report.notes).toEqual([]);
  });

  it('thresholds probabilities, a probability equal to the threshold counting as positive', () => {
    const probabilities = [0.9, 0.7, 0.3, 0.8, 0.6, 0.29, 0.1, 0.2, 0.3, 0.05];
    const fromProbabilities = fairnessMetrics({ labels, probabilities, threshold: 0.3, protectedGroup });
    expect(fromProbabilities).toEqual(fairnessMetrics({ labels, predicted, protectedGroup }));
    // At the default 0.5 the protected rows 0, 2, 4, 6 (0.9, 0.3, 0.6, 0.1) are predicted 1 0 1 0.
    expect(fairnessMetrics({ labels, probabilities, protectedGroup }).protected).toMatchObject({ predicted_positive: 2, true_positive: 1, true_positive_rate: 0.5 });
  });

  it('is symmetric in the parity ratio but not in disparate impact', () => {
    const swapped = fairnessMetrics({ labels, predicted, protectedGroup: protectedGroup.map((g) => !g) });
    expect(swapped.demographic_parity_ratio).toBeCloseTo(2 / 3, 12);
    expect(swapped.disparate_impact).toBeCloseTo(2 / 3, 12);
    expect(swapped.equal_opportunity_difference).toBeCloseTo(-1 / 3, 12);
  });

  it('gives null and a note for an empty group', () => {
    const report = fairnessMetrics({ labels, predicted, protectedGroup: protectedGroup.map(() => false) });
    expect(report.protected).toEqual({ count: 0, actual_positive: 0, predicted_positive: 0, true_positive: 0, selection_rate: null, true_positive_rate: null });
    expect(report.demographic_parity_ratio).toBeNull();
    expect(report.disparate_impact).toBeNull();
    expect(report.equal_opportunity_difference).toBeNull();
    expect(report.notes).toEqual([
      'the protected group is empty: demographic parity ratio and disparate impact are undefined',
      'the protected group has no actual positives: equal opportunity difference is undefined',
    ]);
  });

  it('gives a null equal opportunity difference when a group has no actual positives', () => {
    const report = fairnessMetrics({ labels: Uint8Array.from([0, 1, 0, 1]), predicted: [1, 1, 0, 0], protectedGroup: [true, false, true, false] });
    expect(report.protected.true_positive_rate).toBeNull();
    expect(report.reference.true_positive_rate).toBe(0.5);
    expect(report.demographic_parity_ratio).toBe(1);
    expect(report.equal_opportunity_difference).toBeNull();
    expect(report.notes).toEqual(['the protected group has no actual positives: equal opportunity difference is undefined']);
  });

  it('gives null when nobody is selected, and a zero parity ratio when only the reference group selects nobody', () => {
    const none = fairnessMetrics({ labels: Uint8Array.from([1, 1, 0, 0]), predicted: [0, 0, 0, 0], protectedGroup: [true, false, true, false] });
    expect(none.demographic_parity_ratio).toBeNull();
    expect(none.disparate_impact).toBeNull();
    expect(none.equal_opportunity_difference).toBe(0);
    expect(none.notes).toEqual([
      'neither group has a positive prediction: demographic parity ratio is undefined',
      'the reference group has no positive prediction: disparate impact is undefined',
    ]);

    const referenceNone = fairnessMetrics({ labels: Uint8Array.from([1, 1, 0, 0]), predicted: [1, 0, 0, 0], protectedGroup: [true, false, true, false] });
    expect(referenceNone.demographic_parity_ratio).toBe(0);
    expect(referenceNone.disparate_impact).toBeNull();
    expect(referenceNone.equal_opportunity_difference).toBe(1);

    const protectedNone = fairnessMetrics({ labels: Uint8Array.from([1, 1, 0, 0]), predicted: [0, 1, 0, 0], protectedGroup: [true, false, true, false] });
    expect(protectedNone.disparate_impact).toBe(0);
    expect(protectedNone.notes).toEqual([]);
  });

  it('throws on programming errors only', () => {
    expect(() => fairnessMetrics({ labels, predicted, protectedGroup: [true] })).toThrow(/protectedGroup \(1\) and labels \(10\) differ/);
    expect(() => fairnessMetrics({ labels, predicted: [1, 0], protectedGroup })).toThrow(/differ in length/);
    expect(() => fairnessMetrics({ labels, predicted: predicted.map(() => 2), protectedGroup })).toThrow(/predicted\[0\] must be 0 or 1/);
    expect(() => fairnessMetrics({ labels, probabilities: [...predicted], threshold: 2, protectedGroup })).toThrow(/threshold/);
  });
});

describe('groupFromAttribute', () => {
  const rows = [
    { Age: 24, Home: 'rent' },
    { Age: 25, Home: 'owner' },
    { Age: null, Home: null },
    { Age: 19.5, Home: 'parents' },
  ];

  it('marks numeric values below the bound, and missing values as reference', () => {
    expect(groupFromAttribute(rows, { feature: 'Age', kind: 'numeric_below', value: 25 })).toEqual([true, false, false, true]);
  });

  it('marks categories in the set', () => {
    expect(groupFromAttribute(rows, { feature: 'Home', kind: 'category_in', value: ['rent', 'parents'] })).toEqual([true, false, false, true]);
    expect(groupFromAttribute(rows, { feature: 'Age', kind: 'category_in', value: ['24'] })).toEqual([true, false, false, false]);
  });

  it('rejects a categorical feature for numeric_below, an absent feature and a malformed value', () => {
    expect(() => groupFromAttribute(rows, { feature: 'Home', kind: 'numeric_below', value: 3 })).toThrow(/feature "Home" is categorical \("rent" in row 1\)/);
    expect(() => groupFromAttribute(rows, { feature: 'Sex', kind: 'category_in', value: ['f'] })).toThrow(/row 1 has no feature "Sex"/);
    expect(() => groupFromAttribute(rows, { feature: 'Age', kind: 'numeric_below', value: Number.NaN })).toThrow(/finite number/);
  });
});

describe('fairness of the credit model by age', () => {
  it('compares applicants under 25 with the others on the holdout', () => {
    const csv = readFileSync(new URL('../../../examples/credit/credit_data.csv', import.meta.url), 'utf8');
    const { holdout, metadata } = trainLogisticRegression({ csv, target: 'Status', positiveLabel: 'bad', dataSha256: 'abc123' });
    const group = groupFromAttribute(holdout.rows, { feature: 'Age', kind: 'numeric_below', value: 25 });
    const report = fairnessMetrics({ labels: holdout.labels, probabilities: holdout.probabilities, threshold: metadata.output.threshold, protectedGroup: group });

    expect(report.protected.count + report.reference.count).toBe(holdout.labels.length);
    expect(report.protected.count).toBe(group.filter(Boolean).length);
    expect(report.protected.count).toBeGreaterThan(50);
    expect(report.notes).toEqual([]);
    for (const value of [report.demographic_parity_ratio, report.disparate_impact]) expect(value).toBeGreaterThan(0);
    expect(report.demographic_parity_ratio).toBeLessThanOrEqual(1);
    expect(Math.abs(report.equal_opportunity_difference ?? Number.NaN)).toBeLessThanOrEqual(1);
  });
});

describe('fairness edges: messages, bounds and empty groups', () => {
  it('names both groups when both are empty or both lack positives', () => {
    const empty = fairnessMetrics({ labels: [], predicted: [], protectedGroup: [] });
    expect(empty.notes).toEqual([
      'the protected and reference groups are empty: demographic parity ratio and disparate impact are undefined',
      'the protected and reference groups have no actual positives: equal opportunity difference is undefined',
    ]);
    const reference = fairnessMetrics({ labels: [1, 0], predicted: [1, 0], protectedGroup: [true, true] });
    expect(reference.notes).toEqual([
      'the reference group is empty: demographic parity ratio and disparate impact are undefined',
      'the reference group has no actual positives: equal opportunity difference is undefined',
    ]);
    expect(reference.reference).toEqual({ count: 0, actual_positive: 0, predicted_positive: 0, true_positive: 0, selection_rate: null, true_positive_rate: null });
    expect(reference.protected).toEqual({ count: 2, actual_positive: 1, predicted_positive: 1, true_positive: 1, selection_rate: 0.5, true_positive_rate: 1 });
  });

  it('counts true positives only where label and prediction are both 1', () => {
    const report = fairnessMetrics({ labels: [1, 1, 0, 0], predicted: [1, 0, 1, 0], protectedGroup: [true, true, true, true] });
    expect(report.protected).toMatchObject({ actual_positive: 2, predicted_positive: 2, true_positive: 1, true_positive_rate: 0.5 });
  });

  it('takes a group flag only when it is true', () => {
    const report = fairnessMetrics({ labels: [1, 0], predicted: [1, 0], protectedGroup: [1 as unknown as boolean, true] });
    expect([report.protected.count, report.reference.count]).toEqual([1, 1]);
  });

  it('accepts thresholds 0 and 1 and probabilities at the ends, and refuses anything outside', () => {
    expect(fairnessMetrics({ labels: [1, 0], probabilities: [0, 1], threshold: 0, protectedGroup: [true, false] }).protected.predicted_positive).toBe(1);
    expect(fairnessMetrics({ labels: [1, 0], probabilities: [0, 1], threshold: 1, protectedGroup: [true, false] }).reference.predicted_positive).toBe(1);
    expect(() => fairnessMetrics({ labels: [1], probabilities: [0.5], threshold: -0.1, protectedGroup: [true] })).toThrow('threshold must be in [0, 1], got -0.1');
    expect(() => fairnessMetrics({ labels: [1], probabilities: [0.5], threshold: Number.NaN, protectedGroup: [true] })).toThrow('threshold must be in [0, 1], got NaN');
    expect(() => fairnessMetrics({ labels: [1, 0], probabilities: [0.5, 1.01], protectedGroup: [true, false] })).toThrow('probabilities[1] must be in [0, 1], got 1.01');
    expect(() => fairnessMetrics({ labels: [1], probabilities: [-0.01], protectedGroup: [true] })).toThrow('probabilities[0] must be in [0, 1], got -0.01');
    expect(() => fairnessMetrics({ labels: [1], probabilities: [0.5, 0.5], protectedGroup: [true] })).toThrow('probabilities (2) and labels (1) differ in length');
    expect(() => fairnessMetrics({ labels: [1], predicted: [1, 0], protectedGroup: [true] })).toThrow('predicted (2) and labels (1) differ in length');
  });

  it('refuses labels and predictions other than 0 and 1, naming the index', () => {
    expect(() => fairnessMetrics({ labels: [1, 2], predicted: [1, 1], protectedGroup: [true, false] })).toThrow('labels[1] must be 0 or 1, got 2');
    expect(() => fairnessMetrics({ labels: [1, 0], predicted: [1, -1], protectedGroup: [true, false] })).toThrow('predicted[1] must be 0 or 1, got -1');
  });

  it('refuses a malformed attribute with its message', () => {
    const rows = [{ Age: 30, Home: 'rent' }];
    expect(() => groupFromAttribute(rows, { feature: 'Age', kind: 'numeric_below', value: Number.POSITIVE_INFINITY })).toThrow('numeric_below needs a finite number value, got Infinity');
    expect(() => groupFromAttribute(rows, { feature: 'Age', kind: 'numeric_below', value: '30' as never })).toThrow('numeric_below needs a finite number value, got 30');
    expect(() => groupFromAttribute(rows, { feature: 'Home', kind: 'category_in', value: 'rent' as never })).toThrow('category_in needs an array of strings as its value');
    expect(() => groupFromAttribute(rows, { feature: 'Home', kind: 'category_in', value: [1] as never })).toThrow('category_in needs an array of strings as its value');
    expect(() => groupFromAttribute(rows, { feature: 'Home', kind: 'category_in', value: ['rent', 1] as never })).toThrow('category_in needs an array of strings as its value');
    expect(() => groupFromAttribute(rows, { feature: 'Home', kind: 'equals', value: 'rent' } as never)).toThrow('unknown attribute kind "equals"');
    expect(() => groupFromAttribute(rows, { feature: 'Home', kind: 'numeric_below', value: 1 })).toThrow('feature "Home" is categorical ("rent" in row 1); numeric_below needs numbers');
    expect(() => groupFromAttribute([{ Age: 1 }, {}], { feature: 'Age', kind: 'numeric_below', value: 1 })).toThrow('row 2 has no feature "Age"');
  });

  it('takes a missing category as reference, and a value exactly at the numeric bound as reference', () => {
    expect(groupFromAttribute([{ Home: null }, { Home: 'null' }], { feature: 'Home', kind: 'category_in', value: ['null'] })).toEqual([false, true]);
    expect(groupFromAttribute([{ Age: 25 }, { Age: 24.999 }], { feature: 'Age', kind: 'numeric_below', value: 25 })).toEqual([false, true]);
  });
});
