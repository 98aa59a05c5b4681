/**
 * Drift report: compares a window of current rows (and optionally prediction scores) with the
 * training baseline stored in the model metadata.
 *
 * Per numeric feature: two-sample Kolmogorov–Smirnov (statistic and p-value, as SciPy's
 * `ks_2samp`), PSI on the baseline's decile bins (psi.ts) and Wasserstein-1 normalised by the
 * baseline's standard deviation (the profile's `std`).
 *
 * The reference: a baseline sample (`baselineSamples[name]`, `drift compare`'s raw reference column), else the
 * profile's stored sample of real training values (`NumericProfile.sample`, profile/sample.ts: every profile the
 * trainer writes now), compared with the raw current values. Older metadata without a sample: with `percentiles`,
 * the raw current values are compared with N = min(profile count, 10 000) points drawn from the percentile
 * function (linear between the 101 percentiles) at (i + ½)/N; with only the 11 quantiles, like for like: both sides
 * become samples of their decile-interpolated quantile functions (N points for the baseline, n for the window, so
 * the p-value still reflects the window's size).
 *
 * A discrete numeric feature (a reference sample with at most {@link DISCRETE_MAX_VALUES} distinct values, each taken
 * {@link DISCRETE_MIN_ROWS_PER_VALUE} times on average) is tested
 * on its value counts instead, as a categorical feature (`test: 'chi_square'`, values the reference never took
 * pooled into one column): KS assumes no ties, and with a handful of atoms it rejected 0.5 % of same-distribution
 * pairs at p < 0.05 instead of 5 %. Its PSI is over the values; its Wasserstein distance is computed as for any
 * numeric feature.
 *
 * Per categorical feature: a chi-square test of homogeneity on the 2 × k table of reference counts
 * (the profile's `counts`, else frequency × count for older metadata) and current counts, as SciPy's
 * `chi2_contingency` with its defaults (Yates' correction only for a 2 × 2 table), and PSI over the
 * categories. Both rows are samples, so the test keeps its level whatever the two sizes are (a
 * goodness-of-fit test that takes the reference shares as exact rejects far too often when the
 * sizes are close). Categories the baseline never saw are reported in `unseen_categories` and
 * pooled into one extra column whose reference count is 0: an ordinary cell of the table, which
 * adds (current unseen)²-sized evidence and no more.
 *
 * Per feature, missing values: the share of rows where the feature is missing in the reference
 * (the profile's `missing`, else derived from `missing_rate`) and in the window, tested as two
 * proportions (the same test of homogeneity on the 2 × 2 table missing / present × reference /
 * current, Yates-corrected as SciPy does), with the PSI of the two-bin distribution as its effect
 * size. A missing rate that jumps up (p < `pValue` and that PSI > `psiWarning`) is drift of the feature,
 * whatever its values do; it is `critical` above `psiCritical`. A fall is reported but is no drift:
 * traffic more complete than the training rows (the credit example's traffic sends complete rows only)
 * is not an alarm, and the values themselves are still tested.
 *
 * The rule. A feature (or the prediction score) is *drifted* when its test is significant,
 * p < `pValue`, AND the shift is large enough to matter: PSI > `psiWarning` or (numeric only)
 * normalised Wasserstein beyond its noise level > `wassersteinBound`. The effect-size condition keeps big windows honest:
 * with many rows a negligible shift is significant but not drifted. The noise level (`wasserstein_noise`,
 * wasserstein.ts's `nullWasserstein`) is the normalised distance two samples of these sizes from the reference's
 * distribution are apart on average (0.11 σ at 100 / 80 normal values, 0.02 σ at 3 000 / 3 000): the bound is on the
 * shift, not on the noise, so it means the same at every window size.
 * A feature's verdict is `critical` when drifted with PSI > `psiCritical`, `warning` when drifted,
 * `ok` otherwise, and `insufficient_data` when it has fewer than `minRows` non-missing values.
 *
 * Overall: `insufficient_data` when the window has fewer than `minRows` rows or no feature could be
 * tested; else `critical` when the drifted share ≥ `shareCritical` or a significant feature has
 * PSI > `psiCritical`; `warning` when the share ≥ `shareWarning` or a significant feature has
 * PSI > `psiWarning`; else `ok`. (Only significant features count for the PSI levels, so the
 * sampling noise of PSI in small windows is no alarm.) The prediction check, when present, raises
 * the overall verdict to its own if that is worse. `drift_score` is the largest PSI among the
 * significant features and the prediction (0 when none is significant).
 *
 * Defaults ({@link DEFAULT_DRIFT_THRESHOLDS}): pValue 0.05, psiWarning 0.1, psiCritical 0.25,
 * shareWarning 0.2, shareCritical 0.3, minRows 50, wassersteinBound 0.1 (a tenth of a baseline std beyond noise, so the
 * verdict finds a 0.2 std shift at 3 000 rows, as the test does: docs/drift.md, "Detectable shifts").
 */
import { DEFAULT_DRIFT_THRESHOLDS as CONTRACT_DRIFT_THRESHOLDS, type DriftThresholdsConfig } from '#contracts/drift.ts';
import { chiSquareContingency } from './chi-square.ts';
import { ksTwoSample } from './ks.ts';
import { binShares, categoricalPsi, psi, quantileEdges } from './psi.ts';
import { normalisedWasserstein, nullWasserstein, wasserstein1 } from './wasserstein.ts';
import type { CategoricalProfile, FeatureProfile, FeatureRow, NumericProfile } from '#core/model/metadata.ts';
import { categoryCounts, missingCount } from '#core/profile/baseline.ts';
import { decodeSample } from '#core/profile/sample.ts';

/** Per-feature and overall drift levels: the config's `drift.thresholds` (one declaration, in the contracts). */
export type DriftThresholds = DriftThresholdsConfig;

/** The defaults of the deployment config's `drift.thresholds` (one declaration, in the contracts). */
export const DEFAULT_DRIFT_THRESHOLDS: DriftThresholds = CONTRACT_DRIFT_THRESHOLDS;

export type DriftVerdict = 'ok' | 'warning' | 'critical' | 'insufficient_data';

/** The prediction score's baseline: a sample, or a numeric profile of it. */
export type ScoreBaseline = readonly number[] | Pick<NumericProfile, 'quantiles' | 'std' | 'count' | 'percentiles'>;

export interface DriftInput {
  readonly baseline: Readonly<Record<string, FeatureProfile>>;
  /** Optional baseline samples of numeric features, used for KS (and PSI shares) instead of the quantiles. */
  readonly baselineSamples?: Readonly<Record<string, readonly number[]>>;
  readonly current: readonly FeatureRow[];
  readonly scores?: { readonly baseline: ScoreBaseline; readonly current: readonly number[] };
  readonly thresholds?: Partial<DriftThresholds>;
  /**
   * Global importance per feature (mean |SHAP| on the holdout: the version's `feature_importance`). When given, the
   * features are listed by importance, the drifted share counts each feature by its share of the total importance,
   * and a feature below {@link IGNORED_IMPORTANCE_SHARE} of it is reported but does not raise the verdict.
   */
  readonly importance?: Readonly<Record<string, number>>;
}

/** A feature with less than this share of the model's total importance is reported but cannot page anyone. */
export const IGNORED_IMPORTANCE_SHARE = 0.01;

export interface FeatureDrift {
  readonly name: string;
  /** The feature's share of the model's total importance (mean |SHAP|), when the version has it. */
  readonly importance?: number;
  readonly type: 'numeric' | 'categorical';
  readonly test: 'ks' | 'chi_square';
  /** null when the feature had too few values to test. */
  readonly statistic: number | null;
  readonly p_value: number | null;
  readonly psi: number | null;
  readonly wasserstein?: number | null;
  readonly wasserstein_normalised?: number | null;
  /** The normalised distance sampling noise alone gives at these sizes (see `nullWasserstein`); the bound applies beyond it. */
  readonly wasserstein_noise?: number | null;
  readonly unseen_categories?: string[];
  /** Non-missing values tested. */
  readonly count: number;
  readonly missing_rate: number;
  readonly baseline_missing_rate: number;
  /** The two-proportion test of the missing rates. */
  readonly missing: MissingDrift;
  readonly drifted: boolean;
  readonly verdict: DriftVerdict;
}

/** The missing rates of reference and window, tested as two proportions. */
export interface MissingDrift {
  readonly reference_rate: number;
  readonly current_rate: number;
  /** Chi-square of the 2 × 2 table (missing, present) × (reference, current), Yates-corrected; 0 when it has an empty column. */
  readonly statistic: number;
  readonly p_value: number;
  /** PSI of the two-bin distribution (missing, present). */
  readonly psi: number;
  readonly drifted: boolean;
  readonly verdict: DriftVerdict;
}

export interface PredictionDrift {
  readonly test: 'ks' | 'chi_square';
  readonly statistic: number | null;
  readonly p_value: number | null;
  readonly psi: number | null;
  readonly wasserstein: number | null;
  readonly wasserstein_normalised: number | null;
  readonly wasserstein_noise: number | null;
  readonly count: number;
  readonly drifted: boolean;
  readonly verdict: DriftVerdict;
}

export interface DriftReport {
  readonly verdict: DriftVerdict;
  readonly rows: number;
  readonly features: FeatureDrift[];
  readonly prediction?: PredictionDrift;
  /** Drifted features over tested features (0 when none was tested); weighted by importance when the version has it. */
  readonly drifted_share: number;
  /** Present (true) when the share and the verdict weighed the features by the version's global importance. */
  readonly weighted_by_importance?: boolean;
  readonly drift_score: number;
  readonly thresholds: DriftThresholds;
}

/** Largest reference sample drawn from a quantile profile. */
export const MAX_REFERENCE_SAMPLE = 10_000;

/** Evaluates the piecewise-linear quantile function of 11 quantiles (levels 0, 0.1, …, 1) at `u`. */
export function quantileFunction(quantiles: readonly number[], u: number): number {
  const segments = quantiles.length - 1;
  const position = Math.min(Math.max(u, 0), 1) * segments;
  const lower = Math.min(Math.floor(position), segments - 1);
  const lo = quantiles[lower] as number;
  return lo + (position - lower) * ((quantiles[lower + 1] as number) - lo);
}

/** A deterministic reference sample of size `size` from a quantile profile: Q((i + ½)/size). */
export function referenceSample(quantiles: readonly number[], size: number): number[] {
  return Array.from({ length: size }, (_, i) => quantileFunction(quantiles, (i + 0.5) / size));
}

const SEVERITY: Record<DriftVerdict, number> = { insufficient_data: -1, ok: 0, warning: 1, critical: 2 };

interface NumericCheck {
  test: 'ks' | 'chi_square';
  statistic: number;
  p_value: number;
  psi: number;
  wasserstein: number;
  wasserstein_normalised: number;
  wasserstein_noise: number;
  drifted: boolean;
  verdict: DriftVerdict;
}

function numericCheck(
  values: readonly number[],
  profile: Pick<NumericProfile, 'quantiles' | 'std' | 'count' | 'percentiles'>,
  sample: readonly number[] | undefined,
  t: DriftThresholds,
): NumericCheck {
  let current: readonly number[];
  let reference: readonly number[];
  if (sample !== undefined && sample.length > 0) {
    current = values;
    reference = sample;
  } else if (profile.percentiles !== undefined && profile.percentiles.length > 11) {
    // Percentiles resolve ties and discrete values to 1 %: the raw window is compared with a reference sample
    // drawn from them, and no smoothing of the current side is needed.
    current = values;
    reference = referenceSample(profile.percentiles, Math.max(1, Math.min(profile.count, MAX_REFERENCE_SAMPLE)));
  } else {
    // Like for like: both sides become samples of their decile-interpolated quantile functions.
    current = referenceSample(sampleProfile(values).quantiles, values.length);
    reference = referenceSample(profile.quantiles, Math.max(1, Math.min(profile.count, MAX_REFERENCE_SAMPLE)));
  }
  const distance = wasserstein1(current, reference);
  const normalised = normalisedWasserstein(distance, profile.std);
  // The bound is on the distance beyond sampling noise (the reference's own n: a stored sample is all the reference there is).
  const noise = normalisedWasserstein(nullWasserstein(reference, reference.length, current.length), profile.std);
  const discrete = sample !== undefined && sample.length > 0 ? discreteCheck(values, sample) : undefined;
  let test: { test: 'ks' | 'chi_square'; statistic: number; pvalue: number; psi: number };
  if (discrete !== undefined) test = { test: 'chi_square', ...discrete };
  else {
    const ks = ksTwoSample(current, reference);
    const edges = quantileEdges(profile.quantiles);
    test = { test: 'ks', statistic: ks.statistic, pvalue: ks.pvalue, psi: psi(binShares(edges, reference), binShares(edges, current)) };
  }
  const featurePsi = test.psi;
  const drifted = test.pvalue < t.pValue && (featurePsi > t.psiWarning || normalised - noise > t.wassersteinBound);
  return {
    test: test.test,
    statistic: test.statistic,
    p_value: test.pvalue,
    psi: featurePsi,
    wasserstein: distance,
    wasserstein_normalised: normalised,
    wasserstein_noise: noise,
    drifted,
    verdict: drifted ? (featurePsi > t.psiCritical ? 'critical' : 'warning') : 'ok',
  };
}

/** A numeric feature with at most this many distinct values in its reference sample is tested on its value counts… */
export const DISCRETE_MAX_VALUES = 20;
/** …when the sample holds at least this many values per distinct value (ties everywhere, and counts the test can use). */
export const DISCRETE_MIN_ROWS_PER_VALUE = 5;

/**
 * The test of a discrete numeric feature (at most {@link DISCRETE_MAX_VALUES} distinct reference values, and at least
 * {@link DISCRETE_MIN_ROWS_PER_VALUE} reference values per distinct value): the 2 × k test
 * of homogeneity on the counts of each value, as for a categorical feature (values the reference never took pooled into
 * one column whose reference count is 0), and the PSI over those values. KS on such a feature is conservative: its
 * p-value assumes no ties, and with a handful of atoms it rejects same-distribution pairs far less often than its level.
 * Undefined otherwise (KS then).
 */
function discreteCheck(values: readonly number[], sample: readonly number[]): { statistic: number; pvalue: number; psi: number } | undefined {
  const reference = new Map<number, number>();
  for (const v of sample) {
    reference.set(v, (reference.get(v) ?? 0) + 1);
    if (reference.size > DISCRETE_MAX_VALUES) return undefined;
  }
  // Few values but few rows too (hardly any ties) is no discrete feature for KS, and too thin a table for chi-square.
  if (sample.length < DISCRETE_MIN_ROWS_PER_VALUE * reference.size) return undefined;
  const current = new Map<number, number>();
  let unseen = 0;
  for (const v of values) {
    if (reference.has(v)) current.set(v, (current.get(v) ?? 0) + 1);
    else unseen++;
  }
  const referenceRow = [...reference.values()];
  const currentRow = [...reference.keys()].map((v) => current.get(v) ?? 0);
  if (unseen > 0) {
    referenceRow.push(0);
    currentRow.push(unseen);
  }
  const test = referenceRow.length > 1 ? chiSquareContingency([referenceRow, currentRow]) : { statistic: 0, pvalue: 1 };
  const share = (row: readonly number[], total: number): number[] => row.map((c) => c / total);
  return { statistic: test.statistic, pvalue: test.pvalue, psi: psi(share(referenceRow, sample.length), share(currentRow, values.length)) };
}

/** The two-proportion test of the missing rates (see the module doc). */
export function missingCheck(reference: { missing: number; rows: number }, current: { missing: number; rows: number }, t: DriftThresholds): MissingDrift {
  const referenceRate = reference.rows > 0 ? reference.missing / reference.rows : 0;
  const currentRate = current.rows > 0 ? current.missing / current.rows : 0;
  const present = reference.rows - reference.missing + current.rows - current.missing;
  const missing = reference.missing + current.missing;
  // A column of the table that is empty (nothing missing, or nothing present, on both sides) leaves nothing to test.
  const testable = reference.rows > 0 && current.rows > 0 && missing > 0 && present > 0;
  const test = testable
    ? chiSquareContingency([
        [reference.missing, reference.rows - reference.missing],
        [current.missing, current.rows - current.missing],
      ])
    : { statistic: 0, pvalue: 1 };
  const effect = testable ? psi([referenceRate, 1 - referenceRate], [currentRate, 1 - currentRate]) : 0;
  // Only a rise is drift: traffic more complete than the training data (an upstream that now fills a field) is reported, not alarmed on.
  const drifted = currentRate > referenceRate && test.pvalue < t.pValue && effect > t.psiWarning;
  return {
    reference_rate: referenceRate,
    current_rate: currentRate,
    statistic: test.statistic,
    p_value: test.pvalue,
    psi: effect,
    drifted,
    verdict: drifted ? (effect > t.psiCritical ? 'critical' : 'warning') : 'ok',
  };
}

interface CategoricalCheck {
  statistic: number;
  p_value: number;
  psi: number;
  drifted: boolean;
  verdict: DriftVerdict;
}

/** The 2 × k test of homogeneity of a categorical feature (see the module doc). */
function categoricalCheck(profile: CategoricalProfile, counts: ReadonlyMap<string, number>, unseen: readonly string[], t: DriftThresholds): CategoricalCheck {
  const reference = categoryCounts(profile);
  const referenceRow: number[] = [];
  const currentRow: number[] = [];
  for (const [category, count] of Object.entries(reference)) {
    const current = counts.get(category) ?? 0;
    // A category with no count on either side is an empty column, which the test cannot have.
    if (count > 0 || current > 0) {
      referenceRow.push(count);
      currentRow.push(current);
    }
  }
  if (unseen.length > 0) {
    referenceRow.push(0);
    currentRow.push(unseen.reduce((sum, c) => sum + (counts.get(c) ?? 0), 0));
  }
  const referenceTotal = referenceRow.reduce((a, b) => a + b, 0);
  const test = referenceRow.length > 1 && referenceTotal > 0 ? chiSquareContingency([referenceRow, currentRow]) : { statistic: 0, pvalue: 1 };
  const featurePsi = categoricalPsi(profile.frequencies, counts);
  const drifted = test.pvalue < t.pValue && featurePsi > t.psiWarning;
  return {
    statistic: test.statistic,
    p_value: test.pvalue,
    psi: featurePsi,
    drifted,
    verdict: drifted ? (featurePsi > t.psiCritical ? 'critical' : 'warning') : 'ok',
  };
}

/** A feature's verdict: the worse of its distribution's and its missing rate's (a jump in missing values is drift on its own). */
function combine<T extends { drifted: boolean; verdict: DriftVerdict }>(check: T, missing: MissingDrift): T {
  if (!missing.drifted || SEVERITY[check.verdict] >= SEVERITY[missing.verdict]) return { ...check, drifted: check.drifted || missing.drifted };
  return { ...check, drifted: true, verdict: missing.verdict };
}

/** Builds the drift report of `input.current` (and scores) against the baseline. See the module doc for the rules. */
export function driftReport(input: DriftInput): DriftReport {
  const t: DriftThresholds = { ...DEFAULT_DRIFT_THRESHOLDS, ...input.thresholds };
  const rows = input.current.length;
  const enough = rows >= t.minRows;
  const features: FeatureDrift[] = [];

  for (const [name, profile] of Object.entries(input.baseline)) {
    const reference = { missing: missingCount(profile), rows: profile.count + missingCount(profile) };
    if (profile.type === 'numeric') {
      const values: number[] = [];
      for (const row of input.current) {
        const v = row[name];
        if (typeof v === 'number' && Number.isFinite(v)) values.push(v);
      }
      const missingRate = rows > 0 ? (rows - values.length) / rows : 0;
      const missing = missingCheck(reference, { missing: rows - values.length, rows }, t);
      const base = { name, type: 'numeric' as const, test: 'ks' as 'ks' | 'chi_square', count: values.length, missing_rate: missingRate, baseline_missing_rate: profile.missing_rate, missing };
      if (!enough || values.length < t.minRows || profile.count === 0) {
        const untested = { ...base, statistic: null, p_value: null, psi: null, wasserstein: null, wasserstein_normalised: null, wasserstein_noise: null, drifted: false, verdict: 'insufficient_data' as DriftVerdict };
        features.push(enough ? combine(untested, missing) : untested);
      } else {
        // The stored sample of real training values (newer metadata) is the reference; else the percentiles stand in.
        const sample = input.baselineSamples?.[name] ?? (profile.sample === undefined ? undefined : decodeSample(profile.sample));
        features.push(combine({ ...base, ...numericCheck(values, profile, sample, t) }, missing));
      }
    } else {
      const counts = new Map<string, number>();
      let total = 0;
      for (const row of input.current) {
        const v = row[name];
        if (typeof v === 'string') {
          counts.set(v, (counts.get(v) ?? 0) + 1);
          total++;
        }
      }
      const missingRate = rows > 0 ? (rows - total) / rows : 0;
      const missing = missingCheck(reference, { missing: rows - total, rows }, t);
      const known = profile.counts ?? profile.frequencies;
      const unseen = [...counts.keys()].filter((c) => !Object.hasOwn(known, c)).sort();
      const base = {
        name,
        type: 'categorical' as const,
        test: 'chi_square' as const,
        unseen_categories: unseen,
        count: total,
        missing_rate: missingRate,
        baseline_missing_rate: profile.missing_rate,
        missing,
      };
      if (!enough || total < t.minRows || profile.count === 0) {
        const untested = { ...base, statistic: null, p_value: null, psi: null, drifted: false, verdict: 'insufficient_data' as DriftVerdict };
        features.push(enough ? combine(untested, missing) : untested);
      } else {
        features.push(combine({ ...base, ...categoricalCheck(profile, counts, unseen, t) }, missing));
      }
    }
  }

  let prediction: PredictionDrift | undefined;
  if (input.scores !== undefined) {
    const current = input.scores.current.filter((s) => Number.isFinite(s));
    const b = input.scores.baseline;
    // A baseline sample's non-finite scores are left out as the window's are (KS refuses NaN).
    const sample = Array.isArray(b) ? (b as readonly number[]).filter((s) => Number.isFinite(s)) : undefined;
    const profile = sample === undefined ? (b as Pick<NumericProfile, 'quantiles' | 'std' | 'count' | 'percentiles'>) : sampleProfile(sample);
    if (!enough || current.length < t.minRows || profile.count === 0) {
      prediction = { test: 'ks', statistic: null, p_value: null, psi: null, wasserstein: null, wasserstein_normalised: null, wasserstein_noise: null, count: current.length, drifted: false, verdict: 'insufficient_data' };
    } else {
      prediction = { count: current.length, ...numericCheck(current, profile, sample, t) };
    }
  }

  const shares = importanceShares(input.importance);
  const weight = (f: FeatureDrift): number => (shares === undefined ? 1 : (shares.get(f.name) ?? 0));
  if (shares !== undefined) {
    features.forEach((f, i) => (features[i] = { ...f, importance: weight(f) }));
    features.sort((a, b) => weight(b) - weight(a));
  }
  const tested = features.filter((f) => f.verdict !== 'insufficient_data');
  const testedWeight = tested.reduce((sum, f) => sum + weight(f), 0);
  const driftedWeight = tested.filter((f) => f.drifted).reduce((sum, f) => sum + weight(f), 0);
  const driftedShare = testedWeight > 0 ? driftedWeight / testedWeight : 0;
  // Features the model barely uses are reported, but their PSI does not raise the verdict.
  const material = tested.filter((f) => shares === undefined || weight(f) >= IGNORED_IMPORTANCE_SHARE);
  // The effect sizes of the significant checks: each tested feature's distribution and missing rate, and the prediction.
  const significant = (check: { p_value: number | null; psi: number | null }): boolean => check.p_value !== null && check.p_value < t.pValue;
  const risingMissing = material.map((f) => f.missing).filter((m) => m.current_rate > m.reference_rate);
  const featurePsi = [...material, ...risingMissing].filter(significant).map((f) => f.psi ?? 0);
  const predictionPsi = prediction && prediction.verdict !== 'insufficient_data' && significant(prediction) ? [prediction.psi ?? 0] : [];
  const significantPsi = [...featurePsi, ...predictionPsi];
  const driftScore = significantPsi.length > 0 ? Math.max(...significantPsi) : 0;
  const maxPsi = featurePsi.length > 0 ? Math.max(...featurePsi) : 0;

  let verdict: DriftVerdict;
  if (!enough || tested.length === 0) verdict = 'insufficient_data';
  else if (driftedShare >= t.shareCritical || maxPsi > t.psiCritical) verdict = 'critical';
  else if (driftedShare >= t.shareWarning || maxPsi > t.psiWarning) verdict = 'warning';
  else verdict = 'ok';
  if (verdict !== 'insufficient_data' && prediction !== undefined && SEVERITY[prediction.verdict] > SEVERITY[verdict]) {
    verdict = prediction.verdict;
  }

  return {
    verdict,
    rows,
    features,
    ...(prediction === undefined ? {} : { prediction }),
    drifted_share: driftedShare,
    drift_score: driftScore,
    thresholds: t,
    ...(shares === undefined ? {} : { weighted_by_importance: true }),
  };
}

/** Each feature's share of the total importance; undefined without importance (or when it is all zero). */
function importanceShares(importance: Readonly<Record<string, number>> | undefined): Map<string, number> | undefined {
  if (importance === undefined) return undefined;
  const total = Object.values(importance).reduce((sum, v) => sum + (Number.isFinite(v) && v > 0 ? v : 0), 0);
  if (!(total > 0)) return undefined;
  return new Map(Object.entries(importance).map(([name, v]) => [name, Number.isFinite(v) && v > 0 ? v / total : 0]));
}

/** Quantiles (numpy's linear interpolation), population std and count of a sample of finite scores. */
function sampleProfile(values: readonly number[]): Pick<NumericProfile, 'quantiles' | 'std' | 'count'> {
  const sorted = [...values].sort((a, b) => a - b);
  const count = sorted.length;
  if (count === 0) return { quantiles: new Array<number>(11).fill(0), std: 0, count: 0 };
  const quantiles = Array.from({ length: 11 }, (_, i) => {
    const position = (i / 10) * (count - 1);
    const lower = Math.floor(position);
    const upper = Math.min(lower + 1, count - 1);
    const lo = sorted[lower] as number;
    return lo + (position - lower) * ((sorted[upper] as number) - lo);
  });
  const mean = sorted.reduce((a, b) => a + b, 0) / count;
  const std = Math.sqrt(sorted.reduce((a, v) => a + (v - mean) ** 2, 0) / count);
  return { quantiles, std, count };
}
