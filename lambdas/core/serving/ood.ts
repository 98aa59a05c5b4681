/**
 * Per-request out-of-distribution score: how unusual one instance is against the answering version's training baseline,
 * feature by feature, as a p-value.
 *
 * - A numeric value: its two-sided tail probability among the training values (the profile's stored sample of real
 *   values, else a reference drawn from its 101 percentiles): p = min(1, 2 · min(#{t ≤ x} + 1, #{t ≥ x} + 1) / (n + 1)).
 *   A value beyond the training range gets 2 / (n + 1); ties count on both sides, so an atom (Assets = 0) is never
 *   unusual for being an atom.
 * - A categorical value: the training share of the categories no more frequent than it, p = (Σ counts of those + 1) /
 *   (n + 1); a category training never saw gets 1 / (n + 1).
 * - A missing value (null) is not scored: imputation is the metadata's business.
 *
 * The instance's p-value is Bonferroni's over its scored features, p = min(1, k · min_j p_j), so a row drawn from the
 * training distribution has p < α with probability at most α whatever the number of features; its score is 1 − p
 * (0: typical, towards 1: no training row was like it). The deployment flags an instance when p < `pValue` (default
 * 0.01: at most 1 % of training-like rows). This scores each feature against its own marginal, not the joint: a row of
 * ordinary values in an unusual combination is not flagged (the drift job sees populations, this sees single rows).
 */
import type { FeatureProfile, FeatureRow, InputSchema } from '#core/model/metadata.ts';
import { categoryCounts } from '#core/profile/baseline.ts';
import { decodeSample } from '#core/profile/sample.ts';

/** Largest reference drawn from percentiles for metadata without a stored sample. */
const MAX_PERCENTILE_REFERENCE = 10_000;

type FeatureScorer =
  | { readonly feature: string; readonly kind: 'numeric'; readonly sorted: Float64Array }
  | { readonly feature: string; readonly kind: 'categorical'; readonly p: ReadonlyMap<string, number>; readonly unseen: number };

/** The compiled baseline of one version: one scorer per feature that has a baseline to score against. */
export interface OodScorer {
  readonly features: readonly FeatureScorer[];
}

/** One instance's out-of-distribution result. */
export interface OodResult {
  /** 1 − p: 0 for a typical row, towards 1 for a row unlike any training row. */
  readonly score: number;
  /** Bonferroni's p-value over the scored features. */
  readonly p_value: number;
  /** The feature with the smallest p-value (null when no feature was scored). */
  readonly feature: string | null;
}

function percentileReference(percentiles: readonly number[], count: number): Float64Array {
  const size = Math.max(1, Math.min(count, MAX_PERCENTILE_REFERENCE));
  const segments = percentiles.length - 1;
  const out = new Float64Array(size);
  for (let i = 0; i < size; i++) {
    const position = ((i + 0.5) / size) * segments;
    const lower = Math.min(Math.floor(position), segments - 1);
    const lo = percentiles[lower] as number;
    out[i] = lo + (position - lower) * ((percentiles[lower + 1] as number) - lo);
  }
  return out;
}

/** Compiles the scorer of a version once, when it is loaded. Features without a usable profile are not scored. */
export function compileOodScorer(schema: InputSchema, baseline: Readonly<Record<string, FeatureProfile>>): OodScorer {
  const features: FeatureScorer[] = [];
  for (const spec of schema.features) {
    if (!Object.hasOwn(baseline, spec.name)) continue;
    const profile = baseline[spec.name] as FeatureProfile;
    if (profile.count === 0) continue;
    if (spec.type === 'numeric' && profile.type === 'numeric') {
      let sorted: Float64Array;
      if (profile.sample !== undefined) sorted = Float64Array.from(decodeSample(profile.sample));
      else if (profile.percentiles !== undefined && profile.percentiles.length > 1) sorted = percentileReference(profile.percentiles, profile.count);
      else continue;
      features.push({ feature: spec.name, kind: 'numeric', sorted: sorted.sort() });
    } else if (spec.type === 'categorical' && profile.type === 'categorical') {
      const counts = Object.entries(categoryCounts(profile));
      const total = counts.reduce((sum, [, c]) => sum + c, 0);
      if (total === 0) continue;
      const p = new Map<string, number>();
      for (const [category, count] of counts) {
        const atMost = counts.reduce((sum, [, c]) => (c <= count ? sum + c : sum), 0);
        p.set(category, Math.min(1, (atMost + 1) / (total + 1)));
      }
      features.push({ feature: spec.name, kind: 'categorical', p, unseen: 1 / (total + 1) });
    }
  }
  return { features };
}

/** The number of values in ascending `sorted` below `x` (lower) and at most `x` (upper). */
function ranks(sorted: Float64Array, x: number): { below: number; atMost: number } {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as number) < x) lo = mid + 1;
    else hi = mid;
  }
  const below = lo;
  hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as number) <= x) lo = mid + 1;
    else hi = mid;
  }
  return { below, atMost: lo };
}

/** The p-value of one feature's value, or undefined when it is not scored (missing, or not a value of its kind). */
function featurePValue(scorer: FeatureScorer, value: FeatureRow[string] | undefined): number | undefined {
  if (scorer.kind === 'numeric') {
    if (typeof value !== 'number' || !Number.isFinite(value)) return undefined;
    const n = scorer.sorted.length;
    const { below, atMost } = ranks(scorer.sorted, value);
    const lower = atMost + 1;
    const upper = n - below + 1;
    return Math.min(1, (2 * Math.min(lower, upper)) / (n + 1));
  }
  if (typeof value !== 'string') return undefined;
  return scorer.p.get(value) ?? scorer.unseen;
}

/** The out-of-distribution result of one instance (see the module doc). */
export function oodScore(scorer: OodScorer, row: FeatureRow): OodResult {
  let smallest = 1;
  let feature: string | null = null;
  let scored = 0;
  for (const f of scorer.features) {
    const p = featurePValue(f, row[f.feature]);
    if (p === undefined) continue;
    scored++;
    if (feature === null || p < smallest) {
      smallest = p;
      feature = f.feature;
    }
  }
  const pValue = scored === 0 ? 1 : Math.min(1, scored * smallest);
  return { score: 1 - pValue, p_value: pValue, feature };
}
