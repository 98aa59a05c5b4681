import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { trainCreditModel } from '../../../examples/credit/train.ts';
import { parseCsv } from '#core/data/csv.ts';
import { SeededRandom } from '#core/data/random.ts';
import { toLabelledTable } from '#core/data/table.ts';
import { DEFAULT_DRIFT_THRESHOLDS, driftReport, quantileFunction, referenceSample } from '#core/drift/report.ts';
import type { DriftThresholds } from '#core/drift/report.ts';
import type { FeatureProfile, FeatureRow, ModelMetadata, NumericProfile } from '#core/model/metadata.ts';
import { profileFeatures, profileNumeric } from '#core/profile/baseline.ts';

let metadata: ModelMetadata;
let rows: readonly FeatureRow[];
let samples: Record<string, number[]>;

beforeAll(async () => {
  ({ metadata } = await trainCreditModel());
  const csv = readFileSync(new URL('../../../examples/credit/credit_data.csv', import.meta.url), 'utf8');
  rows = toLabelledTable(parseCsv(csv), 'Status', 'bad').rows;
  samples = {};
  for (const [name, profile] of Object.entries(metadata.baseline)) {
    if (profile.type === 'numeric') samples[name] = rows.map((r) => r[name]).filter((v): v is number => typeof v === 'number');
  }
});

function sampleRows(seed: number, size: number): FeatureRow[] {
  return new SeededRandom(seed).shuffle([...rows]).slice(0, size);
}

describe('driftReport on the credit data', () => {
  it('finds no drift in a random sample of the data against its own baseline', () => {
    const report = driftReport({ baseline: metadata.baseline, baselineSamples: samples, current: sampleRows(7, 1000) });
    expect(report.verdict).toBe('ok');
    expect(report.rows).toBe(1000);
    expect(report.features.map((f) => f.name)).toEqual(Object.keys(metadata.baseline));
    expect(report.features.every((f) => !f.drifted)).toBe(true);
    expect(report.drifted_share).toBe(0);
    expect(report.thresholds).toEqual(DEFAULT_DRIFT_THRESHOLDS);
  });

  it('finds no drift in the whole data against the profile alone', () => {
    const report = driftReport({ baseline: metadata.baseline, current: rows });
    expect(report.verdict).not.toBe('critical');
    expect(report.drifted_share).toBeLessThan(DEFAULT_DRIFT_THRESHOLDS.shareWarning);
  });

  it('flags a shifted numeric feature', () => {
    const current = sampleRows(8, 1000).map((r) => ({ ...r, Income: typeof r.Income === 'number' ? r.Income * 1.6 + 40 : null }));
    const report = driftReport({ baseline: metadata.baseline, baselineSamples: samples, current });
    const income = report.features.find((f) => f.name === 'Income');
    expect(income?.test).toBe('ks');
    expect(income?.drifted).toBe(true);
    expect(income?.p_value).toBeLessThan(1e-6);
    expect(income?.wasserstein_normalised).toBeGreaterThan(0.5);
    expect(report.features.filter((f) => f.drifted).map((f) => f.name)).toEqual(['Income']);
    expect(report.verdict).toBe('critical'); // PSI of a significant feature above 0.25
  });

  it('reports an unseen category', () => {
    const current = sampleRows(9, 800).map((r, i) => (i % 5 === 0 ? { ...r, Home: 'boat' } : r));
    const report = driftReport({ baseline: metadata.baseline, baselineSamples: samples, current });
    const home = report.features.find((f) => f.name === 'Home');
    expect(home?.test).toBe('chi_square');
    expect(home?.unseen_categories).toEqual(['boat']);
    expect(home?.drifted).toBe(true);
    expect(Number.isFinite(home?.statistic)).toBe(true);
  });

  it('gives insufficient_data for an empty or tiny window, not an alarm', () => {
    for (const current of [[], sampleRows(10, 10).map((r) => ({ ...r, Income: 99999 }))]) {
      const report = driftReport({ baseline: metadata.baseline, current });
      expect(report.verdict).toBe('insufficient_data');
      expect(report.features.every((f) => f.verdict === 'insufficient_data' && !f.drifted)).toBe(true);
      expect(report.drifted_share).toBe(0);
    }
  });
});

describe('missing values and categories', () => {
  const numericProfile = (missing: number): NumericProfile => ({ ...profileNumeric('x', Array.from({ length: 1000 }, (_, i) => ({ x: i % 100 }))), missing_rate: missing / (1000 + missing), missing });
  const window = (size: number, missingShare: number, seed: number): FeatureRow[] => {
    const random = new SeededRandom(seed);
    return Array.from({ length: size }, () => ({ x: random.next() < missingShare ? null : Math.floor(random.next() * 100) }));
  };

  it('calls a missing rate that jumps from 2 % to 60 % drift, although the values themselves did not move', () => {
    const report = driftReport({ baseline: { x: numericProfile(20) }, current: window(1000, 0.6, 1) });
    const x = report.features[0];
    expect(x?.missing).toMatchObject({ reference_rate: 20 / 1020, drifted: true, verdict: 'critical' });
    expect(x?.missing.current_rate).toBeGreaterThan(0.55);
    expect(x?.missing.p_value).toBeLessThan(1e-50);
    expect(x?.p_value).toBeGreaterThan(0.05);
    expect(x?.verdict).toBe('critical');
    expect(report.verdict).toBe('critical');
  });

  it('reports a fall of the missing rate without calling it drift', () => {
    const report = driftReport({ baseline: { x: numericProfile(200) }, current: window(1000, 0, 3) });
    expect(report.features[0]?.missing.p_value).toBeLessThan(1e-10);
    expect(report.features[0]?.missing.drifted).toBe(false);
    expect(report.verdict).toBe('ok');
  });

  it('does not call the same missing rate drift', () => {
    const report = driftReport({ baseline: { x: numericProfile(20) }, current: window(1000, 0.02, 2) });
    expect(report.features[0]?.missing.drifted).toBe(false);
    expect(report.features[0]?.verdict).toBe('ok');
  });

  it('tests a categorical feature as a 2 × k table of reference and current counts, an unseen category as one more column', () => {
    const profile = { type: 'categorical' as const, count: 1000, missing_rate: 0, missing: 0, frequencies: { a: 0.5, b: 0.3, c: 0.2 }, counts: { a: 500, b: 300, c: 200 } };
    const current = [...Array<FeatureRow>(50).fill({ c: 'a' }), ...Array<FeatureRow>(30).fill({ c: 'b' }), ...Array<FeatureRow>(19).fill({ c: 'c' }), { c: 'z' }];
    const report = driftReport({ baseline: { c: profile }, current });
    const c = report.features[0];
    expect(c?.unseen_categories).toEqual(['z']);
    // One unseen value in a hundred is no alarm: SciPy's chi2_contingency([[500, 300, 200, 0], [50, 30, 19, 1]]).
    expect(c?.statistic).toBeCloseTo(10.04566210045662, 9);
    expect(c?.verdict).toBe('ok');
    // Older metadata (frequencies only) gives the same table.
    const { counts: _counts, missing: _missing, ...older } = profile;
    expect(driftReport({ baseline: { c: older }, current }).features[0]?.statistic).toBeCloseTo(c?.statistic ?? 0, 12);
  });
});

describe('discrete numeric features', () => {
  const profileOf = (values: readonly number[]): Record<string, FeatureProfile> =>
    profileFeatures([{ name: 'x', kind: 'numeric' }], values.map((x) => ({ x })), { sampleSeed: 1 });
  const report = (reference: readonly number[], current: readonly number[]) =>
    driftReport({ baseline: profileOf(reference), current: current.map((x) => ({ x })), thresholds: { minRows: 5 } }).features[0];

  it('tests a column of few values with many ties on its value counts, as chi2_contingency', () => {
    // 40 each of 0, 1, 2 against 30, 30, 60: SciPy 1.17.1's chi2_contingency([[40, 40, 40], [30, 30, 60]]) = (6.857142857142858, 0.032433240894795504)
    const x = report([...Array(40).fill(0), ...Array(40).fill(1), ...Array(40).fill(2)], [...Array(30).fill(0), ...Array(30).fill(1), ...Array(60).fill(2)]);
    expect(x?.type).toBe('numeric');
    expect(x?.test).toBe('chi_square');
    expect(x?.statistic).toBeCloseTo(6.857142857142858, 9);
    expect(x?.p_value).toBeCloseTo(0.032433240894795504, 9);
  });

  it('keeps KS for a short column of distinct values, and for one with more than 20 values', () => {
    expect(report([1, 2, 3, 4, 5, 6, 7, 8], [2, 3, 4, 5, 6, 7, 8, 9])?.test).toBe('ks');
    const many = Array.from({ length: 500 }, (_, i) => i % 21);
    expect(report(many, many)?.test).toBe('ks');
  });
});

describe('the effect-size rule', () => {
  const n = 30_000;
  const base = Array.from({ length: n }, (_, i) => quantileFunction([-1.28, -0.84, -0.52, -0.25, 0, 0.25, 0.52, 0.84, 1.28, 2, 3].map((q) => q), (i + 0.5) / n));
  const profile: NumericProfile = profileNumeric('x', base.map((x) => ({ x })));
  const baseline: Record<string, FeatureProfile> = { x: profile };

  it('does not flag a large window with a negligible but significant shift', () => {
    const shift = 0.05 * profile.std;
    const current = base.map((x) => ({ x: x + shift }));
    const report = driftReport({ baseline, baselineSamples: { x: base }, current });
    const x = report.features[0];
    expect(x?.p_value).toBeLessThan(0.05);
    expect(x?.drifted).toBe(false);
    expect(report.verdict).toBe('ok');
  });

  it('flags the same window with a material shift', () => {
    const current = base.map((x) => ({ x: x + 0.5 * profile.std }));
    const report = driftReport({ baseline, baselineSamples: { x: base }, current });
    expect(report.features[0]?.drifted).toBe(true);
    expect(report.verdict).toBe('critical');
  });

  /** The window of `size` rows drawn evenly from the baseline's quantile function, each value moved by `shift` baseline stds. */
  function window(size: number, shift = 0): number[] {
    const quantiles = [-1.28, -0.84, -0.52, -0.25, 0, 0.25, 0.52, 0.84, 1.28, 2, 3];
    return Array.from({ length: size }, (_, i) => quantileFunction(quantiles, (i + 0.5) / size) + shift * profile.std);
  }
  const check = (values: readonly number[], thresholds: Partial<DriftThresholds> = {}) =>
    driftReport({ baseline, baselineSamples: { x: base }, current: values.map((x) => ({ x })), thresholds });

  it('does not flag a small window whose large effect size is not significant', () => {
    // 50 rows moved by 0.3 std: PSI and Wasserstein are above their bounds, but KS cannot tell it from noise.
    const report = check(window(50, 0.3));
    const x = report.features[0];
    expect(x?.p_value).toBeGreaterThan(0.2);
    expect(x?.psi).toBeGreaterThan(DEFAULT_DRIFT_THRESHOLDS.psiWarning);
    expect(x?.wasserstein_normalised).toBeGreaterThan(DEFAULT_DRIFT_THRESHOLDS.wassersteinBound);
    expect(x?.drifted).toBe(false);
    expect(x?.verdict).toBe('ok');
    expect(report.verdict).toBe('ok');
  });

  it('holds a shift to the configured p-value', () => {
    // p ≈ 2e-5: drifted at the default 0.05, not at 1e-6.
    const values = window(200, 0.4);
    expect(check(values).features[0]?.drifted).toBe(true);
    const strict = check(values, { pValue: 1e-6 });
    expect(strict.features[0]?.p_value).toBeGreaterThan(1e-6);
    expect(strict.features[0]?.drifted).toBe(false);
    expect(strict.verdict).toBe('ok');
  });

  it('holds a categorical shift to the configured p-value too', () => {
    const categorical: Record<string, FeatureProfile> = { c: { type: 'categorical', frequencies: { a: 0.5, b: 0.3, c: 0.2 }, missing_rate: 0, count: 1000 } };
    const current = [...Array<string>(30).fill('a'), ...Array<string>(40).fill('b'), ...Array<string>(30).fill('c')].map((c) => ({ c }));
    const loose = driftReport({ baseline: categorical, current });
    expect(loose.features[0]?.p_value).toBeLessThan(0.01);
    expect(loose.features[0]?.psi).toBeGreaterThan(DEFAULT_DRIFT_THRESHOLDS.psiWarning);
    expect(loose.features[0]?.drifted).toBe(true);
    const strict = driftReport({ baseline: categorical, current, thresholds: { pValue: 1e-6 } });
    expect(strict.features[0]?.drifted).toBe(false);
    expect(strict.verdict).toBe('ok');
  });

  it('flags a grown tail by its Wasserstein distance alone, with an unchanged PSI', () => {
    // The top decile moved 5 std further out stays in the open last bin: PSI 0, Wasserstein 0.5.
    const report = check(window(1000).map((x, i) => (i >= 900 ? x + 5 * profile.std : x)));
    const x = report.features[0];
    expect(x?.p_value).toBeLessThan(1e-4);
    expect(x?.psi).toBeLessThan(DEFAULT_DRIFT_THRESHOLDS.psiWarning);
    expect(x?.wasserstein_normalised).toBeGreaterThan(0.4);
    expect(x?.drifted).toBe(true);
    expect(x?.verdict).toBe('warning');
  });

  it('flags mass moved between the middle deciles by its PSI alone, with a small Wasserstein distance', () => {
    // The middle 40 % squeezed onto the median: the decile shares change a lot, the values move little.
    const median = quantileFunction([-1.28, -0.84, -0.52, -0.25, 0, 0.25, 0.52, 0.84, 1.28, 2, 3], 0.5);
    const report = check(
      window(1000).map((x, i) => (i >= 300 && i < 700 ? median : x)),
      { wassersteinBound: 0.2 },
    );
    const x = report.features[0];
    expect(x?.p_value).toBeLessThan(1e-4);
    expect(x?.psi).toBeGreaterThan(DEFAULT_DRIFT_THRESHOLDS.psiCritical);
    expect(x?.wasserstein_normalised).toBeLessThan(0.2);
    expect(x?.drifted).toBe(true);
    expect(x?.verdict).toBe('critical');
  });

  it('either effect size suffices on its own when the other bound is out of reach', () => {
    const values = window(1000, 0.5);
    expect(check(values, { wassersteinBound: 100 }).features[0]?.drifted).toBe(true);
    expect(check(values, { psiWarning: 100, psiCritical: 100 }).features[0]?.drifted).toBe(true);
    expect(check(values, { wassersteinBound: 100, psiWarning: 100, psiCritical: 100 }).features[0]?.drifted).toBe(false);
  });

  it('checks the prediction score on its own', () => {
    const scores = Array.from({ length: 2000 }, (_, i) => (i + 0.5) / 2000);
    const same = driftReport({ baseline, baselineSamples: { x: base }, current: base.map((x) => ({ x })), scores: { baseline: scores, current: scores } });
    expect(same.prediction?.drifted).toBe(false);
    expect(same.verdict).toBe('ok');
    const shifted = driftReport({
      baseline,
      baselineSamples: { x: base },
      current: base.map((x) => ({ x })),
      scores: { baseline: referenceSample([0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1], 2000), current: scores.map((s) => s * s) },
    });
    expect(shifted.prediction?.drifted).toBe(true);
    expect(shifted.verdict).not.toBe('ok');
  });
});
