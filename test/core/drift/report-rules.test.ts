import { describe, expect, it } from 'vitest';
import { chiSquareContingency } from '#core/drift/chi-square.ts';
import { ksTwoSample } from '#core/drift/ks.ts';
import { psi } from '#core/drift/psi.ts';
import { nullWasserstein, wasserstein1 } from '#core/drift/wasserstein.ts';
import {
  DEFAULT_DRIFT_THRESHOLDS,
  DISCRETE_MAX_VALUES,
  DISCRETE_MIN_ROWS_PER_VALUE,
  IGNORED_IMPORTANCE_SHARE,
  MAX_REFERENCE_SAMPLE,
  driftReport,
  missingCheck,
  quantileFunction,
  referenceSample,
  type DriftInput,
  type FeatureDrift,
} from '#core/drift/report.ts';
import type { CategoricalProfile, FeatureProfile, FeatureRow, NumericProfile } from '#core/model/metadata.ts';
import { QUANTILE_LEVELS, profileFeatures, profileNumeric, quantile } from '#core/profile/baseline.ts';
import { contingencyVectors } from './vectors.ts';

/**
 * The drift report's rules at their edges: each threshold met exactly (the values read from a first report and fed back
 * as the thresholds), each path to a reference distribution, the missing-value test, the verdict's severities, the
 * prediction check and the importance weights. report.test.ts shows the rules on realistic data; these pin them down.
 */

const T = DEFAULT_DRIFT_THRESHOLDS;

/** A categorical profile with these training counts (and nothing missing). */
function categorical(counts: Record<string, number>, missing = 0): CategoricalProfile {
  const count = Object.values(counts).reduce((a, b) => a + b, 0);
  return {
    type: 'categorical',
    count,
    missing_rate: missing / (count + missing),
    missing,
    counts,
    frequencies: Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, v / count])),
  };
}

/** Rows of one column holding `values` in order. */
const column = (name: string, values: readonly (string | number | null)[]): FeatureRow[] => values.map((v) => ({ [name]: v }));
/** `n` copies of `value`. */
const times = <V>(n: number, value: V): V[] => Array<V>(n).fill(value);
/** Merges columns of equal length into rows. */
function zip(...columns: FeatureRow[][]): FeatureRow[] {
  const length = columns[0]?.length ?? 0;
  return Array.from({ length }, (_, i) => Object.assign({}, ...columns.map((c) => c[i])) as FeatureRow);
}
const feature = (report: { features: FeatureDrift[] }, name: string): FeatureDrift => {
  const found = report.features.find((f) => f.name === name);
  if (found === undefined) throw new Error(`no feature ${name}`);
  return found;
};

/** A categorical feature the window leaves alone (p 1, PSI 0)… */
const STEADY = categorical({ a: 500, b: 500 });
const steadyValues = (n: number): string[] => Array.from({ length: n }, (_, i) => (i % 2 === 0 ? 'a' : 'b'));
/** …and one it turns upside down (p ≈ 0, PSI ≫ psiCritical). */
const flippedValues = (n: number): string[] => Array.from({ length: n }, (_, i) => (i % 10 === 0 ? 'a' : 'b'));
const SKEWED = categorical({ a: 900, b: 100 });

/**
 * A numeric feature whose window moves only its top decile 5 std further out: drifted by its Wasserstein distance
 * alone, with a PSI near 0 (the last decile bin is open), so it raises the drifted share and no PSI level.
 */
const TAIL_QUANTILES = [-1.28, -0.84, -0.52, -0.25, 0, 0.25, 0.52, 0.84, 1.28, 2, 3];
const tailBase = Array.from({ length: 3000 }, (_, i) => quantileFunction(TAIL_QUANTILES, (i + 0.5) / 3000));
const TAIL_PROFILE = profileNumeric('t', column('t', tailBase));
const tailValues = (n: number): number[] =>
  Array.from({ length: n }, (_, i) => quantileFunction(TAIL_QUANTILES, (i + 0.5) / n) + (i >= 0.9 * n ? 5 * TAIL_PROFILE.std : 0));

describe('quantileFunction and referenceSample', () => {
  const Q = [0, 1, 3, 6, 10, 15, 21, 28, 36, 45, 55];

  it('interpolates linearly between the deciles and clamps outside [0, 1]', () => {
    expect(quantileFunction(Q, 0)).toBe(0);
    expect(quantileFunction(Q, 0.25)).toBe(4.5);
    expect(quantileFunction(Q, 0.95)).toBeCloseTo(50, 12);
    expect(quantileFunction(Q, 1)).toBe(55);
    expect(quantileFunction(Q, -0.5)).toBe(0);
    expect(quantileFunction(Q, 1.5)).toBe(55);
  });

  it('draws the points Q((i + ½) / size)', () => {
    expect(referenceSample(Q, 4)).toEqual([quantileFunction(Q, 0.125), quantileFunction(Q, 0.375), quantileFunction(Q, 0.625), quantileFunction(Q, 0.875)]);
    expect(referenceSample(Q, 4)).toEqual([1.5, 9, 22.75, 42.75]);
    expect(referenceSample(Q, 1)).toEqual([15]);
  });
});

describe('missingCheck', () => {
  const vector = contingencyVectors.chi2_contingency.find((v) => v.name === '2x2, missing counts 2% vs 60%');
  if (vector === undefined) throw new Error('no vector');
  const effect = (0.6 - 0.02) * Math.log(0.6 / 0.02) + (0.4 - 0.98) * Math.log(0.4 / 0.98);

  it('tests the two missing rates as a 2 × 2 table, as chi2_contingency, and calls a rise drift', () => {
    const m = missingCheck({ missing: 20, rows: 1000 }, { missing: 300, rows: 500 }, T);
    expect(m.reference_rate).toBe(0.02);
    expect(m.current_rate).toBe(0.6);
    expect(m.statistic).toBeCloseTo(vector.statistic, 9);
    expect(m.p_value / vector.pvalue).toBeCloseTo(1, 6);
    expect(m.psi).toBeCloseTo(effect, 12);
    expect(m.drifted).toBe(true);
    expect(m.verdict).toBe('critical');
  });

  it('reports a fall with the same test and effect, and calls it no drift', () => {
    const m = missingCheck({ missing: 300, rows: 500 }, { missing: 20, rows: 1000 }, T);
    expect(m.statistic).toBeCloseTo(vector.statistic, 9);
    expect(m.psi).toBeCloseTo(effect, 12);
    expect(m).toMatchObject({ drifted: false, verdict: 'ok' });
  });

  it('holds a rise to each of its thresholds, met exactly', () => {
    const reference = { missing: 20, rows: 1000 };
    const current = { missing: 300, rows: 500 };
    const m = missingCheck(reference, current, T);
    expect(missingCheck(reference, current, { ...T, pValue: m.p_value }).drifted).toBe(false);
    expect(missingCheck(reference, current, { ...T, psiWarning: m.psi, psiCritical: m.psi }).drifted).toBe(false);
    expect(missingCheck(reference, current, { ...T, psiCritical: m.psi })).toMatchObject({ drifted: true, verdict: 'warning' });
    // The same rates: no rise, whatever the test says.
    expect(missingCheck({ missing: 10, rows: 100 }, { missing: 10, rows: 100 }, { ...T, pValue: 1.1 }).drifted).toBe(false);
  });

  it.each([
    ['no reference rows', { missing: 0, rows: 0 }, { missing: 5, rows: 10 }, 0, 0.5],
    ['no current rows', { missing: 5, rows: 10 }, { missing: 0, rows: 0 }, 0.5, 0],
    ['nothing missing anywhere', { missing: 0, rows: 100 }, { missing: 0, rows: 80 }, 0, 0],
    ['everything missing everywhere', { missing: 100, rows: 100 }, { missing: 80, rows: 80 }, 1, 1],
  ])('leaves nothing to test with %s: statistic 0, p 1, PSI 0', (_label, reference, current, referenceRate, currentRate) => {
    expect(missingCheck(reference, current, T)).toEqual({
      reference_rate: referenceRate,
      current_rate: currentRate,
      statistic: 0,
      p_value: 1,
      psi: 0,
      drifted: false,
      verdict: 'ok',
    });
  });

  it('tests a table with a single missing row or a single present one', () => {
    expect(missingCheck({ missing: 0, rows: 1000 }, { missing: 1, rows: 1 }, T).p_value).toBeLessThan(1);
    expect(missingCheck({ missing: 1000, rows: 1000 }, { missing: 0, rows: 1 }, T).p_value).toBeLessThan(1);
  });
});

describe('the reference a numeric feature is tested against', () => {
  const training = Array.from({ length: 400 }, (_, i) => ((i * 37) % 400) / 4);
  const windowValues = Array.from({ length: 120 }, (_, i) => 5 + ((i * 13) % 120) * 0.8);
  const current = column('x', windowValues);

  it('is the baseline sample when one is given, before the profile\'s stored sample', () => {
    const [profile] = Object.values(profileFeatures([{ name: 'x', kind: 'numeric' }], column('x', training.slice(0, 200)), { sampleSeed: 3 }));
    const sample = training.slice(200);
    const x = driftReport({ baseline: { x: profile as FeatureProfile }, baselineSamples: { x: sample }, current }).features[0];
    const expected = ksTwoSample(windowValues, sample);
    expect(x?.test).toBe('ks');
    expect(x?.statistic).toBe(expected.statistic);
    expect(x?.p_value).toBe(expected.pvalue);
  });

  it('is the profile\'s stored sample of training values without one', () => {
    const [profile] = Object.values(profileFeatures([{ name: 'x', kind: 'numeric' }], column('x', training), { sampleSeed: 3 }));
    const x = driftReport({ baseline: { x: profile as FeatureProfile }, current }).features[0];
    const expected = ksTwoSample(windowValues, training);
    expect(x?.statistic).toBe(expected.statistic);
    expect(x?.p_value).toBe(expected.pvalue);
    // An empty baseline sample is no sample: the stored one is not used either, the percentiles stand in.
    const percentiles = driftReport({ baseline: { x: profile as FeatureProfile }, baselineSamples: { x: [] }, current }).features[0];
    const { sample: _sample, ...noSample } = profile as NumericProfile;
    expect(percentiles?.statistic).toBe(driftReport({ baseline: { x: noSample }, current }).features[0]?.statistic);
  });

  it('is min(count, 10 000) points of the percentile function for older metadata, against the raw window', () => {
    const profile = profileNumeric('x', column('x', training));
    const x = driftReport({ baseline: { x: profile }, current }).features[0];
    const expected = ksTwoSample(windowValues, referenceSample(profile.percentiles as number[], 400));
    expect(x?.statistic).toBe(expected.statistic);
    expect(x?.p_value).toBe(expected.pvalue);
    // A profile of 20 000 training values is represented by 10 000 points.
    expect(MAX_REFERENCE_SAMPLE).toBe(10_000);
    const big = driftReport({ baseline: { x: { ...profile, count: 20_000 } }, current }).features[0];
    expect(big?.p_value).toBe(ksTwoSample(windowValues, referenceSample(profile.percentiles as number[], 10_000)).pvalue);
    expect(big?.p_value).not.toBe(ksTwoSample(windowValues, referenceSample(profile.percentiles as number[], 20_000)).pvalue);
  });

  it('compares like for like with only the 11 quantiles: both sides become samples of their quantile functions', () => {
    const { percentiles: _percentiles, ...profile } = profileNumeric('x', column('x', training));
    const sorted = [...windowValues].sort((a, b) => a - b);
    const windowQuantiles = QUANTILE_LEVELS.map((q) => quantile(sorted, q));
    const expected = ksTwoSample(referenceSample(windowQuantiles, 120), referenceSample(profile.quantiles, 400));
    const x = driftReport({ baseline: { x: profile }, current }).features[0];
    expect(x?.statistic).toBe(expected.statistic);
    expect(x?.p_value).toBe(expected.pvalue);
    // Percentiles no finer than the deciles are treated as deciles.
    const coarse = driftReport({ baseline: { x: { ...profile, percentiles: profile.quantiles } }, current }).features[0];
    expect(coarse?.statistic).toBe(expected.statistic);
  });

  it('reports the Wasserstein distance, normalised by the profile\'s std, and its noise level', () => {
    const profile = profileNumeric('x', column('x', training));
    const x = driftReport({ baseline: { x: profile }, baselineSamples: { x: training }, current }).features[0];
    expect(x?.wasserstein_normalised).toBeCloseTo((x?.wasserstein ?? Number.NaN) / profile.std, 12);
    expect(x?.wasserstein).toBe(wasserstein1(windowValues, training));
    // The noise of samples of these sizes from the reference: 400 training values, 120 in the window.
    expect(x?.wasserstein_noise).toBe(nullWasserstein(training, 400, 120) / profile.std);
  });
});

describe('discrete numeric features', () => {
  const report = (sample: readonly number[], values: readonly number[], thresholds = {}) =>
    driftReport({ baseline: { x: profileNumeric('x', column('x', sample)) }, baselineSamples: { x: sample }, current: column('x', values), thresholds: { minRows: 5, ...thresholds } }).features[0];
  /** `perValue` copies of each of 0 … distinct − 1. */
  const levels = (distinct: number, perValue: number): number[] => Array.from({ length: distinct * perValue }, (_, i) => i % distinct);

  it(`tests up to ${DISCRETE_MAX_VALUES} values with ${DISCRETE_MIN_ROWS_PER_VALUE} rows each on their counts, and no more`, () => {
    expect(report(levels(20, 5), levels(20, 3))?.test).toBe('chi_square');
    expect(report(levels(21, 5), levels(21, 3))?.test).toBe('ks');
    // 99 reference rows for 20 values: one fewer than 5 per value.
    expect(report(levels(20, 5).slice(1), levels(20, 3))?.test).toBe('ks');
  });

  it('pools values the reference never took into one column, and takes the PSI over the values', () => {
    const sample = [...times(30, 1), ...times(20, 2)];
    const values = [...times(10, 1), ...times(10, 2), ...times(4, 3), ...times(6, 9)];
    const x = report(sample, values);
    const expected = chiSquareContingency([
      [30, 20, 0],
      [10, 10, 10],
    ]);
    expect(x?.test).toBe('chi_square');
    expect(x?.statistic).toBeCloseTo(expected.statistic, 12);
    expect(x?.p_value).toBeCloseTo(expected.pvalue, 12);
    expect(x?.psi).toBeCloseTo(psi([0.6, 0.4, 0], [1 / 3, 1 / 3, 1 / 3]), 12);
    expect(x?.drifted).toBe(true);
  });

  it('has nothing to test on a constant column the window keeps, and tests one it leaves', () => {
    const same = report(times(50, 7), times(40, 7));
    expect(same).toMatchObject({ test: 'chi_square', statistic: 0, p_value: 1, drifted: false, verdict: 'ok' });
    const moved = report(times(50, 7), [...times(20, 7), ...times(20, 8)]);
    expect(moved?.p_value).toBeLessThan(1e-6);
    expect(moved?.drifted).toBe(true);
  });
});

describe('categorical features', () => {
  it('drops a category neither side has and pools the unseen ones into one column', () => {
    const profile = categorical({ a: 60, b: 40, c: 0 });
    const current = column('c', [...times(30, 'a'), ...times(50, 'b'), ...times(3, 'z'), ...times(2, 'y'), null, 7]);
    const c = driftReport({ baseline: { c: profile }, current }).features[0];
    const expected = chiSquareContingency([
      [60, 40, 0],
      [30, 50, 5],
    ]);
    expect(c?.unseen_categories).toEqual(['y', 'z']);
    expect(c?.count).toBe(85);
    expect(c?.missing_rate).toBe(2 / 87);
    expect(c?.statistic).toBeCloseTo(expected.statistic, 12);
    expect(c?.p_value).toBeCloseTo(expected.pvalue, 12);
  });

  it('tests a category the window no longer has', () => {
    // Training saw a and b; the window only a: a column with a current count of 0, and drift.
    const c = driftReport({ baseline: { c: categorical({ a: 500, b: 500 }) }, current: column('c', times(100, 'a')) }).features[0];
    const expected = chiSquareContingency([
      [500, 500],
      [100, 0],
    ]);
    expect(c?.statistic).toBeCloseTo(expected.statistic, 12);
    expect(c).toMatchObject({ drifted: true, verdict: 'critical' });
  });

  it('tests a category training never took but knew of (count 0) as its own column, not as unseen', () => {
    const profile = categorical({ a: 60, b: 40, c: 0 });
    const c = driftReport({ baseline: { c: profile }, current: column('c', [...times(30, 'a'), ...times(50, 'b'), ...times(5, 'c')]) }).features[0];
    expect(c?.unseen_categories).toEqual([]);
    expect(c?.statistic).toBeCloseTo(
      chiSquareContingency([
        [60, 40, 0],
        [30, 50, 5],
      ]).statistic,
      12,
    );
  });

  it('tests a categorical feature with exactly minRows values, and not one with fewer', () => {
    const current = column('c', [...steadyValues(60), null]);
    expect(driftReport({ baseline: { c: SKEWED }, current, thresholds: { minRows: 60 } }).features[0]?.verdict).toBe('critical');
    expect(driftReport({ baseline: { c: SKEWED }, current, thresholds: { minRows: 61 } }).features[0]).toMatchObject({ verdict: 'insufficient_data', statistic: null });
  });

  it('has nothing to test when the reference counts are all zero (rounded away in older metadata)', () => {
    const older: CategoricalProfile = { type: 'categorical', count: 100, missing_rate: 0, frequencies: { a: 0.001, b: 0.001 } };
    const c = driftReport({ baseline: { c: older }, current: column('c', [...times(30, 'a'), ...times(30, 'b')]) }).features[0];
    expect(c).toMatchObject({ statistic: 0, p_value: 1, drifted: false, verdict: 'ok' });
  });

  it('has nothing to test with one category on both sides', () => {
    const c = driftReport({ baseline: { c: categorical({ a: 100 }) }, current: column('c', times(60, 'a')) }).features[0];
    expect(c).toMatchObject({ statistic: 0, p_value: 1, psi: 0, verdict: 'ok' });
  });

  it('holds the rule to pValue and psiWarning met exactly, and calls critical only above psiCritical', () => {
    const current = column('c', flippedValues(100));
    const first = feature(driftReport({ baseline: { c: SKEWED }, current: column('c', steadyValues(100)) }), 'c');
    expect(first.drifted).toBe(true);
    const p = first.p_value as number;
    const effect = first.psi as number;
    const atP = driftReport({ baseline: { c: SKEWED }, current: column('c', steadyValues(100)), thresholds: { pValue: p } });
    expect(feature(atP, 'c').drifted).toBe(false);
    // Not significant either: its PSI raises no level and is no drift score.
    expect(atP.verdict).toBe('ok');
    expect(atP.drift_score).toBe(0);
    expect(feature(driftReport({ baseline: { c: SKEWED }, current: column('c', steadyValues(100)), thresholds: { psiWarning: effect, psiCritical: effect } }), 'c').drifted).toBe(false);
    expect(feature(driftReport({ baseline: { c: SKEWED }, current: column('c', steadyValues(100)), thresholds: { psiCritical: effect } }), 'c').verdict).toBe('warning');
    expect(feature(driftReport({ baseline: { c: STEADY }, current }), 'c').verdict).toBe('critical');
  });
});

describe('numeric features at their thresholds', () => {
  const input = (thresholds = {}): DriftInput => ({ baseline: { t: TAIL_PROFILE }, baselineSamples: { t: tailBase }, current: column('t', tailValues(1000)), thresholds });

  it('calls the tail drifted by its Wasserstein distance beyond noise, and not when the bound equals that distance', () => {
    const t = feature(driftReport(input()), 't');
    expect(t.drifted).toBe(true);
    expect(t.psi).toBeLessThan(T.psiWarning);
    const beyondNoise = (t.wasserstein_normalised as number) - (t.wasserstein_noise as number);
    expect(feature(driftReport(input({ wassersteinBound: beyondNoise })), 't').drifted).toBe(false);
    expect(feature(driftReport(input({ wassersteinBound: beyondNoise * 0.999 })), 't').drifted).toBe(true);
    expect(feature(driftReport(input({ pValue: t.p_value as number })), 't').drifted).toBe(false);
  });

  it('calls a PSI equal to psiWarning no drift, and one equal to psiCritical a warning', () => {
    const shifted = column('t', tailValues(1000).map((v) => v + 0.5 * TAIL_PROFILE.std));
    const at = (thresholds: object) => feature(driftReport({ baseline: { t: TAIL_PROFILE }, baselineSamples: { t: tailBase }, current: shifted, thresholds: { wassersteinBound: 100, ...thresholds } }), 't');
    const effect = at({}).psi as number;
    expect(at({}).verdict).toBe('critical');
    expect(at({ psiWarning: effect, psiCritical: effect }).drifted).toBe(false);
    expect(at({ psiCritical: effect })).toMatchObject({ drifted: true, verdict: 'warning' });
  });
});

describe('rows, missing values and insufficient data', () => {
  const numeric = profileNumeric('x', column('x', Array.from({ length: 200 }, (_, i) => i % 50)));

  it('tests a window of exactly minRows rows, and not one of fewer', () => {
    const values = Array.from({ length: 60 }, (_, i) => i % 50);
    expect(driftReport({ baseline: { x: numeric }, current: column('x', values), thresholds: { minRows: 60 } }).verdict).toBe('ok');
    const short = driftReport({ baseline: { x: numeric }, current: column('x', values), thresholds: { minRows: 61 } });
    expect(short.verdict).toBe('insufficient_data');
    expect(short.features[0]).toMatchObject({ statistic: null, p_value: null, psi: null, wasserstein: null, verdict: 'insufficient_data', drifted: false });
  });

  it('counts non-numbers and non-finite numbers of a numeric feature as missing', () => {
    const values: (number | string | null)[] = [...Array.from({ length: 60 }, (_, i) => i % 50), null, 'n/a', Number.NaN, Number.POSITIVE_INFINITY];
    const x = driftReport({ baseline: { x: numeric }, current: column('x', values as (number | null)[]) }).features[0];
    expect(x?.count).toBe(60);
    expect(x?.missing_rate).toBe(4 / 64);
    expect(x?.missing.current_rate).toBe(4 / 64);
    expect(x?.baseline_missing_rate).toBe(0);
  });

  it('tests a feature with enough rows but too few values on its missing rate alone', () => {
    const values = [...Array.from({ length: 40 }, (_, i) => i % 50), ...times<number | null>(60, null)];
    const report = driftReport({ baseline: { x: numeric }, current: column('x', values) });
    const x = report.features[0];
    expect(x).toMatchObject({ count: 40, statistic: null, p_value: null, drifted: true, verdict: 'critical' });
    expect(x?.missing).toMatchObject({ drifted: true, verdict: 'critical' });
    expect(report.verdict).toBe('critical');
    const categoricalWindow = driftReport({ baseline: { c: STEADY }, current: column('c', [...steadyValues(40), ...times(60, null)]) }).features[0];
    expect(categoricalWindow).toMatchObject({ count: 40, statistic: null, drifted: true, verdict: 'critical' });
  });

  it('does not test the missing rate of a window below minRows either', () => {
    const x = driftReport({ baseline: { x: numeric }, current: column('x', times(40, null)) }).features[0];
    expect(x).toMatchObject({ drifted: false, verdict: 'insufficient_data', missing_rate: 1 });
    expect(x?.missing.drifted).toBe(true);
  });

  it('has nothing to test against an empty profile', () => {
    const empty = profileNumeric('x', []);
    const report = driftReport({ baseline: { x: empty, c: categorical({}) }, current: zip(column('x', times(60, 1)), column('c', times(60, 'a'))) });
    expect(report.features.map((f) => f.verdict)).toEqual(['insufficient_data', 'insufficient_data']);
    expect(report.verdict).toBe('insufficient_data');
  });

  it('gives missing rates of 0 for an empty window, and calls nothing drifted', () => {
    const report = driftReport({ baseline: { x: numeric, c: STEADY }, current: [] });
    expect(report.features.map((f) => f.missing_rate)).toEqual([0, 0]);
    expect(report.features.map((f) => [f.verdict, f.drifted])).toEqual([
      ['insufficient_data', false],
      ['insufficient_data', false],
    ]);
    expect(report.drifted_share).toBe(0);
    expect(report.rows).toBe(0);
  });

  it('is insufficient_data with no feature to test, whatever the prediction says', () => {
    const scores = Array.from({ length: 100 }, (_, i) => (i + 0.5) / 100);
    const report = driftReport({ baseline: {}, current: column('x', times(100, 1)), scores: { baseline: scores, current: scores.map((s) => s * s * s) } });
    expect(report.prediction?.verdict).toBe('critical');
    expect(report.verdict).toBe('insufficient_data');
    expect(report.drifted_share).toBe(0);
  });
});

describe('a feature\'s verdict: the worse of its values\' and its missing rate\'s', () => {
  const jump = (n: number): (string | null)[] => steadyValues(n).map((v, i) => (i % 5 < 3 ? null : v));

  it('raises an ok feature to its missing rate\'s verdict, and keeps the worse of two', () => {
    // Values ok, missing rate critical.
    const c = driftReport({ baseline: { c: STEADY }, current: column('c', jump(500)) }).features[0];
    expect(c?.p_value).toBeGreaterThan(0.05);
    expect(c?.missing.verdict).toBe('critical');
    expect(c).toMatchObject({ drifted: true, verdict: 'critical' });
    // Values critical, missing rate warning (20 % missing in training, 40 % in the window): critical.
    const both = driftReport({
      baseline: { c: categorical({ a: 500, b: 500 }, 250) },
      current: column('c', flippedValues(500).map((v, i) => (i % 5 === 2 || i % 5 === 3 ? null : v))),
      thresholds: { psiCritical: 0.4 },
    }).features[0];
    expect(both?.missing).toMatchObject({ drifted: true, verdict: 'warning' });
    expect(both?.psi).toBeGreaterThan(0.4);
    expect(both?.verdict).toBe('critical');
    // Values warning, missing rate critical: critical.
    const worse = driftReport({ baseline: { c: STEADY }, current: column('c', flippedValues(500).map((v, i) => (i % 5 < 3 ? null : v))), thresholds: { psiCritical: 1 } }).features[0];
    expect(worse?.missing.verdict).toBe('critical');
    expect(worse?.verdict).toBe('critical');
  });
});

describe('the overall verdict', () => {
  const rows = (n: number, drifted: number, features: number): FeatureRow[] =>
    zip(...Array.from({ length: features }, (_, i) => column(`f${i}`, i < drifted ? tailValues(n) : tailBase.filter((_, j) => j % 3 === 0).slice(0, n))));
  const baseline = (features: number): Record<string, FeatureProfile> => Object.fromEntries(Array.from({ length: features }, (_, i) => [`f${i}`, TAIL_PROFILE]));
  const samples = (features: number): Record<string, number[]> => Object.fromEntries(Array.from({ length: features }, (_, i) => [`f${i}`, tailBase]));
  const verdictAt = (drifted: number, features: number, thresholds = {}) => driftReport({ baseline: baseline(features), baselineSamples: samples(features), current: rows(1000, drifted, features), thresholds });

  it('weighs the drifted share against shareWarning and shareCritical, each met exactly', () => {
    const one = verdictAt(1, 5);
    expect(one.drifted_share).toBe(0.2);
    expect(one.features.filter((f) => f.drifted).map((f) => f.name)).toEqual(['f0']);
    expect(one.drift_score).toBeLessThan(T.psiWarning);
    expect(one.verdict).toBe('warning');
    expect(verdictAt(1, 5, { shareWarning: 0.21 }).verdict).toBe('ok');
    expect(verdictAt(1, 5, { shareCritical: 0.2 }).verdict).toBe('critical');
    expect(verdictAt(1, 4).verdict).toBe('warning');
    expect(verdictAt(3, 10).verdict).toBe('critical');
  });

  it('raises the verdict by the PSI of a significant feature above psiWarning or psiCritical, not at them', () => {
    const base = { s: STEADY, f: SKEWED };
    const current = zip(column('s', steadyValues(1000)), column('f', steadyValues(1000)));
    const report = driftReport({ baseline: base, current, thresholds: { shareWarning: 1, shareCritical: 1 } });
    const effect = feature(report, 'f').psi as number;
    expect(report.drift_score).toBe(effect);
    expect(report.verdict).toBe('critical');
    expect(driftReport({ baseline: base, current, thresholds: { shareWarning: 1, shareCritical: 1, psiCritical: effect } }).verdict).toBe('warning');
    expect(driftReport({ baseline: base, current, thresholds: { shareWarning: 1, shareCritical: 1, psiCritical: effect, psiWarning: effect } }).verdict).toBe('ok');
  });

  it('counts the PSI of a significant rise of a missing rate, and not of a fall', () => {
    const features = 5;
    const profiles: Record<string, FeatureProfile> = Object.fromEntries(Array.from({ length: features }, (_, i) => [`c${i}`, STEADY]));
    const jumped = zip(...Array.from({ length: features }, (_, i) => column(`c${i}`, steadyValues(1000).map((v, j) => (i === 0 && j % 5 < 3 ? null : v)))));
    const report = driftReport({ baseline: profiles, current: jumped });
    expect(report.drifted_share).toBe(0.2);
    expect(report.drift_score).toBe(report.features[0]?.missing.psi);
    expect(report.verdict).toBe('critical');
    // The reverse: the training rows missed 60 %, the window misses nothing.
    const fell = { ...profiles, c0: categorical({ a: 200, b: 200 }, 600) };
    const complete = driftReport({ baseline: fell, current: zip(...Array.from({ length: features }, (_, i) => column(`c${i}`, steadyValues(1000)))) });
    expect(complete.features[0]?.missing.p_value).toBeLessThan(1e-10);
    expect(complete.drift_score).toBe(0);
    expect(complete.verdict).toBe('ok');
  });

  it('takes the largest PSI of the significant features for the levels and the score', () => {
    // Both significant: b's PSI is above psiCritical, a's below psiWarning (a is not even drifted).
    const baseline = { a: categorical({ x: 5000, y: 5000 }), b: SKEWED };
    const current = zip(column('a', Array.from({ length: 4000 }, (_, i) => (i % 100 < 46 ? 'x' : 'y'))), column('b', steadyValues(4000)));
    const report = driftReport({ baseline, current, thresholds: { shareWarning: 1, shareCritical: 1 } });
    const [a, b] = [feature(report, 'a'), feature(report, 'b')];
    expect(a.p_value).toBeLessThan(T.pValue);
    expect(a.psi).toBeLessThan(T.psiWarning);
    expect(b.psi).toBeGreaterThan(T.psiCritical);
    expect(report.drift_score).toBe(b.psi);
    expect(report.verdict).toBe('critical');
  });

  it('scores drift as the largest significant PSI, the prediction\'s included, and 0 when none is significant', () => {
    const scores = Array.from({ length: 1000 }, (_, i) => (i + 0.5) / 1000);
    const calm = driftReport({ baseline: { s: STEADY }, current: column('s', steadyValues(1000)), scores: { baseline: scores, current: scores } });
    expect(calm.drift_score).toBe(0);
    expect(calm.verdict).toBe('ok');
    const shifted = driftReport({ baseline: { s: STEADY }, current: column('s', steadyValues(1000)), scores: { baseline: scores, current: scores.map((s) => s ** 3) } });
    expect(shifted.prediction?.p_value).toBeLessThan(1e-6);
    expect(shifted.drift_score).toBe(shifted.prediction?.psi);
    expect(shifted.prediction?.verdict).toBe('critical');
    expect(shifted.verdict).toBe('critical');
  });
});

describe('the prediction check', () => {
  const scores = Array.from({ length: 200 }, (_, i) => (i + 0.5) / 200);
  const current = column('s', steadyValues(200));

  it('leaves out non-finite scores and needs minRows of them', () => {
    const withGaps = [...scores.slice(0, 60), Number.NaN, Number.POSITIVE_INFINITY];
    const report = driftReport({ baseline: { s: STEADY }, current, scores: { baseline: scores, current: withGaps } });
    expect(report.prediction).toMatchObject({ count: 60, test: 'ks' });
    expect(report.prediction?.p_value).toBe(ksTwoSample(scores.slice(0, 60), scores).pvalue);
    expect(driftReport({ baseline: { s: STEADY }, current, scores: { baseline: scores, current: withGaps }, thresholds: { minRows: 60 } }).prediction?.p_value).toBe(report.prediction?.p_value);
    const short = driftReport({ baseline: { s: STEADY }, current, scores: { baseline: scores, current: withGaps }, thresholds: { minRows: 61 } });
    expect(short.prediction).toEqual({ test: 'ks', statistic: null, p_value: null, psi: null, wasserstein: null, wasserstein_normalised: null, wasserstein_noise: null, count: 60, drifted: false, verdict: 'insufficient_data' });
  });

  it('leaves out the non-finite scores of a baseline sample too', () => {
    const report = driftReport({ baseline: { s: STEADY }, current, scores: { baseline: [Number.NaN, ...scores, Number.NEGATIVE_INFINITY], current: scores } });
    expect(report.prediction).toMatchObject({ statistic: 0, p_value: 1, verdict: 'ok' });
    expect(report.prediction?.wasserstein).toBe(0);
  });

  it('is absent without scores', () => {
    expect(driftReport({ baseline: { s: STEADY }, current })).not.toHaveProperty('prediction');
  });

  it('takes a profile of the scores as their baseline', () => {
    const profile = profileNumeric('p', column('p', scores));
    const report = driftReport({ baseline: { s: STEADY }, current, scores: { baseline: profile, current: scores.map((s) => s ** 4) } });
    expect(report.prediction?.p_value).toBe(ksTwoSample(scores.map((s) => s ** 4), referenceSample(profile.percentiles as number[], 200)).pvalue);
    expect(report.prediction?.drifted).toBe(true);
  });

  it('has nothing to test against an empty baseline sample', () => {
    const report = driftReport({ baseline: { s: STEADY }, current, scores: { baseline: [], current: scores } });
    expect(report.prediction?.verdict).toBe('insufficient_data');
    expect(report.verdict).toBe('ok');
  });

  it('normalises the scores\' Wasserstein distance by the population std of the baseline sample', () => {
    const report = driftReport({ baseline: { s: STEADY }, current, scores: { baseline: scores, current: scores.map((s) => s / 2) } });
    const mean = scores.reduce((a, b) => a + b, 0) / scores.length;
    const std = Math.sqrt(scores.reduce((a, v) => a + (v - mean) ** 2, 0) / scores.length);
    expect(report.prediction?.wasserstein_normalised).toBeCloseTo((report.prediction?.wasserstein ?? Number.NaN) / std, 12);
    expect(report.prediction?.wasserstein).toBeCloseTo(0.25, 12);
  });

  it('uses the baseline sample\'s deciles (numpy\'s linear interpolation) for the PSI bins', () => {
    // 11 distinct scores: their deciles are the scores themselves, so a window of the same scores has PSI 0.
    const eleven = Array.from({ length: 11 }, (_, i) => i / 10);
    const window = Array.from({ length: 110 }, (_, i) => eleven[i % 11] as number);
    const report = driftReport({ baseline: { s: STEADY }, current, scores: { baseline: eleven, current: window } });
    expect(report.prediction?.psi).toBeCloseTo(0, 12);
    const skewed = driftReport({ baseline: { s: STEADY }, current, scores: { baseline: eleven, current: window.map((s) => Math.min(s, 0.5)) } });
    expect(skewed.prediction?.psi).toBeGreaterThan(1);
  });
});

describe('importance weights', () => {
  const current = zip(column('a', flippedValues(200)), column('b', steadyValues(200)), column('c', steadyValues(200)));
  const baseline = { a: STEADY, b: STEADY, c: STEADY };

  it(`lets a feature with exactly ${IGNORED_IMPORTANCE_SHARE} of the importance raise the verdict`, () => {
    const report = driftReport({ baseline, current, importance: { a: 1, b: 49, c: 50 } });
    expect(report.features.map((f) => [f.name, f.importance])).toEqual([
      ['c', 0.5],
      ['b', 0.49],
      ['a', 0.01],
    ]);
    expect(report.drifted_share).toBeCloseTo(0.01, 12);
    expect(report.verdict).toBe('critical');
    expect(driftReport({ baseline, current, importance: { a: 0.99, b: 49, c: 50 } }).verdict).toBe('ok');
  });

  it('gives no weight to a feature missing from the importance or with a negative or non-finite one', () => {
    const report = driftReport({ baseline, current, importance: { b: 1, c: Number.POSITIVE_INFINITY, a: -5 } });
    expect(report.features.map((f) => [f.name, f.importance])).toEqual([
      ['b', 1],
      ['a', 0],
      ['c', 0],
    ]);
    expect(report.drifted_share).toBe(0);
    expect(report.verdict).toBe('ok');
    expect(driftReport({ baseline, current, importance: { b: 1, c: Number.NaN } }).features.find((f) => f.name === 'a')?.importance).toBe(0);
  });

  it('weighs nothing when the importance is all zero or absent', () => {
    for (const importance of [{ a: 0, b: 0, c: 0 }, { a: Number.NaN }, {}] as Record<string, number>[]) {
      const report = driftReport({ baseline, current, importance });
      expect(report).not.toHaveProperty('weighted_by_importance');
      expect(report.features.map((f) => f.name)).toEqual(['a', 'b', 'c']);
      expect(report.features[0]).not.toHaveProperty('importance');
      expect(report.drifted_share).toBeCloseTo(1 / 3, 12);
      expect(report.verdict).toBe('critical');
    }
  });
});
