import { describe, expect, it } from 'vitest';
import { binLabels, categoricalDistribution, featureDistributions, numericDistribution } from '#core/drift/distributions.ts';
import type { FeatureProfile, FeatureRow } from '#core/model/metadata.ts';

/** The side-by-side distributions the reports chart: the PSI bins of a numeric feature, the categories of a categorical one. */

const DECILES = [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100];

describe('binLabels', () => {
  it('labels right-closed bins, with open ends', () => {
    expect(binLabels([12.5, 20, 80])).toEqual(['≤ 12.5', '(12.5, 20]', '(20, 80]', '> 80']);
    expect(binLabels([3])).toEqual(['≤ 3', '> 3']);
    expect(binLabels([])).toEqual(['all']);
  });

  it('writes integers whole and other edges to 4 significant digits without trailing zeros', () => {
    expect(binLabels([1000000, 0.5, 1.23456, 2.5e-7, 1234.5678, 0.1])).toEqual([
      '≤ 1000000',
      '(1000000, 0.5]',
      '(0.5, 1.235]',
      '(1.235, 2.5e-7]',
      '(2.5e-7, 1235]',
      '(1235, 0.1]',
      '> 0.1',
    ]);
    // Zeros before the decimal point stay: 1200.4 is 1200, not 12.
    expect(binLabels([1200.4, 12345.6, 99999.9])).toEqual(['≤ 1200', '(1200, 12350]', '(12350, 100000]', '> 100000']);
    expect(binLabels([-2.5, 10.1])).toEqual(['≤ -2.5', '(-2.5, 10.1]', '> 10.1']);
  });
});

describe('numericDistribution', () => {
  it('puts the baseline shares from the quantile levels and the current shares on the decile bins', () => {
    const values = [5, 10, 10.5, 95, 100, 1000];
    const d = numericDistribution(DECILES, values);
    expect(d.bins).toEqual(['≤ 10', '(10, 20]', '(20, 30]', '(30, 40]', '(40, 50]', '(50, 60]', '(60, 70]', '(70, 80]', '(80, 90]', '> 90']);
    d.baseline.forEach((share) => expect(share).toBeCloseTo(0.1, 12));
    expect(d.current).toEqual([2 / 6, 1 / 6, 0, 0, 0, 0, 0, 0, 0, 3 / 6]);
  });

  it('takes the baseline shares from a sample when one is given, and from the levels when it is empty', () => {
    const sample = [1, 2, 3, 95];
    expect(numericDistribution(DECILES, [50], sample).baseline).toEqual([0.75, 0, 0, 0, 0, 0, 0, 0, 0, 0.25]);
    expect(numericDistribution(DECILES, [50], []).baseline[0]).toBeCloseTo(0.1, 12);
  });

  it('gives all-zero current shares for an empty window', () => {
    expect(numericDistribution(DECILES, []).current).toEqual(new Array(10).fill(0));
  });
});

describe('categoricalDistribution', () => {
  it('lists baseline categories first, then the unseen ones sorted and marked, with shares of the current total', () => {
    const d = categoricalDistribution({ rent: 0.6, own: 0.4 }, new Map([['zeta', 1], ['own', 5], ['boat', 2], ['rent', 2]]));
    expect(d.bins).toEqual(['rent', 'own', 'boat (unseen)', 'zeta (unseen)']);
    expect(d.baseline).toEqual([0.6, 0.4, 0, 0]);
    expect(d.current).toEqual([0.2, 0.5, 0.2, 0.1]);
  });

  it('gives zero current shares for no current values', () => {
    expect(categoricalDistribution({ a: 1 }, new Map())).toEqual({ bins: ['a'], baseline: [1], current: [0] });
  });

  it('treats a category named like an object property as an ordinary unseen category', () => {
    expect(categoricalDistribution({ a: 1 }, new Map([['toString', 1]])).bins).toEqual(['a', 'toString (unseen)']);
  });
});

describe('featureDistributions', () => {
  const baseline: Record<string, FeatureProfile> = {
    income: { type: 'numeric', quantiles: DECILES, mean: 50, std: 29, min: 0, max: 100, missing_rate: 0, count: 100 } as FeatureProfile,
    home: { type: 'categorical', frequencies: { rent: 0.5, own: 0.5 }, missing_rate: 0, count: 100 },
  };

  it('bins each feature over the rows, skipping missing and non-finite numbers and non-string categories', () => {
    const rows: FeatureRow[] = [
      { income: 5, home: 'rent' },
      { income: 15, home: 'own' },
      { income: null, home: null },
      { income: Number.NaN, home: 'rent' },
      { income: Number.POSITIVE_INFINITY, home: 'rent' },
      { income: 95 },
    ];
    const d = featureDistributions(baseline, rows);
    expect(Object.keys(d)).toEqual(['income', 'home']);
    expect(d.income?.current).toEqual([1 / 3, 1 / 3, 0, 0, 0, 0, 0, 0, 0, 1 / 3]);
    expect(d.home?.current).toEqual([0.75, 0.25]);
  });

  it('uses a feature\'s baseline sample for its baseline shares', () => {
    const d = featureDistributions(baseline, [{ income: 50, home: 'own' }], { income: [1, 2] });
    expect(d.income?.baseline).toEqual([1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  });
});
