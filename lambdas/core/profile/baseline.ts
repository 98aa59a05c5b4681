/** Per-feature statistics of the training rows: the baseline for validation and drift detection. */
import type { FeatureColumn } from '#core/data/table.ts';
import type { CategoricalProfile, FeatureProfile, FeatureRow, NumericProfile } from '#core/model/metadata.ts';
import { MAX_SAMPLE_SIZE, encodeSamples, reservoirSample } from './sample.ts';

/** The probabilities 0, 0.1, …, 1 of `NumericProfile.quantiles`. */
export const QUANTILE_LEVELS: readonly number[] = Array.from({ length: 11 }, (_, i) => i / 10);

/** The probabilities 0, 0.01, …, 1 of `NumericProfile.percentiles`. */
export const PERCENTILE_LEVELS: readonly number[] = Array.from({ length: 101 }, (_, i) => i / 100);

/** Quantile of ascending `sorted` values by linear interpolation between closest ranks (numpy's default). */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  const position = q * (sorted.length - 1);
  const lower = Math.floor(position);
  const upper = Math.min(lower + 1, sorted.length - 1);
  const lo = sorted[lower] as number;
  return lo + (position - lower) * ((sorted[upper] as number) - lo);
}

/**
 * `count` is the number of non-missing values, `missing_rate` the share of rows where the value
 * is missing, `std` the population standard deviation. An empty feature has all statistics 0.
 */
export function profileNumeric(name: string, rows: readonly FeatureRow[]): NumericProfile {
  const values: number[] = [];
  for (const row of rows) {
    const value = row[name];
    if (typeof value === 'number') values.push(value);
  }
  values.sort((a, b) => a - b);
  const count = values.length;
  let sum = 0;
  for (const v of values) sum += v;
  const mean = count > 0 ? sum / count : 0;
  let squares = 0;
  for (const v of values) squares += (v - mean) ** 2;
  return {
    type: 'numeric',
    count,
    missing_rate: rows.length > 0 ? (rows.length - count) / rows.length : 0,
    missing: rows.length - count,
    min: values[0] ?? 0,
    max: values[count - 1] ?? 0,
    mean,
    std: count > 0 ? Math.sqrt(squares / count) : 0,
    quantiles: QUANTILE_LEVELS.map((q) => quantile(values, q)),
    percentiles: PERCENTILE_LEVELS.map((q) => quantile(values, q)),
  };
}

/** The numeric profile of a list of values (the prediction scores' baseline). */
export function profileValues(values: ArrayLike<number>): NumericProfile {
  return profileNumeric('value', Array.from(values, (value) => ({ value })));
}

/** `frequencies` holds each category's share of the non-missing values and `counts` its count, categories sorted. */
export function profileCategorical(name: string, rows: readonly FeatureRow[]): CategoricalProfile {
  const counts = new Map<string, number>();
  let count = 0;
  for (const row of rows) {
    const value = row[name];
    if (typeof value === 'string') {
      counts.set(value, (counts.get(value) ?? 0) + 1);
      count++;
    }
  }
  const categories = [...counts.keys()].sort();
  return {
    type: 'categorical',
    count,
    missing_rate: rows.length > 0 ? (rows.length - count) / rows.length : 0,
    missing: rows.length - count,
    frequencies: Object.fromEntries(categories.map((category) => [category, (counts.get(category) as number) / count])),
    counts: Object.fromEntries(categories.map((category) => [category, counts.get(category) as number])),
  };
}

export interface ProfileOptions {
  /**
   * Seed of the reservoir samples of the numeric features' real values (`NumericProfile.sample`), the drift job's KS
   * reference. Without it no sample is stored.
   */
  readonly sampleSeed?: number;
}

/** Profiles every feature of `rows`, keyed by feature name in feature order. */
export function profileFeatures(features: readonly FeatureColumn[], rows: readonly FeatureRow[], options: ProfileOptions = {}): Record<string, FeatureProfile> {
  const profiles: Record<string, FeatureProfile> = Object.fromEntries(
    features.map((feature): [string, FeatureProfile] => [
      feature.name,
      feature.kind === 'numeric' ? profileNumeric(feature.name, rows) : profileCategorical(feature.name, rows),
    ]),
  );
  if (options.sampleSeed === undefined) return profiles;
  const samples: Record<string, number[]> = {};
  features.forEach((feature, index) => {
    if (feature.kind !== 'numeric') return;
    const values: number[] = [];
    for (const row of rows) {
      const value = row[feature.name];
      if (typeof value === 'number' && Number.isFinite(value)) values.push(value);
    }
    // One stream per feature, so adding a feature does not change the others' samples.
    samples[feature.name] = reservoirSample(values, MAX_SAMPLE_SIZE, (options.sampleSeed as number) * 31 + index);
  });
  for (const [name, sample] of Object.entries(encodeSamples(samples))) {
    profiles[name] = { ...(profiles[name] as NumericProfile), sample };
  }
  return profiles;
}

/** The reference count of each category: the stored counts, else (older metadata) frequency × count, rounded. */
export function categoryCounts(profile: CategoricalProfile): Record<string, number> {
  if (profile.counts !== undefined) return { ...profile.counts };
  return Object.fromEntries(Object.entries(profile.frequencies).map(([category, share]) => [category, Math.round(share * profile.count)]));
}

/** The reference number of missing rows: the stored count, else (older metadata) derived from the rate and the count. */
export function missingCount(profile: FeatureProfile): number {
  if (profile.missing !== undefined) return profile.missing;
  const rate = profile.missing_rate;
  return rate > 0 && rate < 1 ? Math.round((profile.count * rate) / (1 - rate)) : 0;
}
