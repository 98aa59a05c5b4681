/**
 * The background sample SHAP values are measured against: rows drawn from the version's baseline profile.
 *
 * When the profile keeps sampled training rows, those are the background (the joint distribution, as recorded).
 * Otherwise the rows are built from the per-feature profile: each numeric feature takes `size` stratified quantiles
 * of its training percentiles (deciles in older metadata), each categorical feature its categories in proportion to
 * their training frequencies, and each the training share of missing values; the columns are shuffled independently
 * with a fixed seed. That background has the training marginals but not their correlations, which is what the
 * interventional game assumes anyway. Deterministic: the same metadata always gives the same rows.
 */
import { SeededRandom } from '#core/data/random.ts';
import type { FeatureProfile, FeatureRow, FeatureValue, InputSchema } from '#core/model/metadata.ts';
import { quantile } from '#core/profile/baseline.ts';

export type BackgroundSource = 'baseline_sample' | 'baseline_profile';

export interface Background {
  readonly rows: readonly FeatureRow[];
  readonly source: BackgroundSource;
}

function featureColumn(profile: FeatureProfile | undefined, size: number, random: SeededRandom): FeatureValue[] {
  if (profile === undefined) return new Array<FeatureValue>(size).fill(null);
  const missing = Math.min(size, Math.round(profile.missing_rate * size));
  const present = size - missing;
  const out: FeatureValue[] = new Array<FeatureValue>(missing).fill(null);
  if (profile.type === 'numeric') {
    const levels = profile.percentiles ?? profile.quantiles;
    for (let k = 0; k < present; k++) out.push(levels.length === 0 || profile.count === 0 ? null : quantile(levels, (k + 0.5) / present));
  } else {
    const categories = Object.entries(profile.frequencies);
    let k = 0;
    let cumulative = 0;
    for (const [category, share] of categories) {
      cumulative += share;
      while (k < present && (k + 0.5) / present <= cumulative) {
        out.push(category);
        k++;
      }
    }
    const last = categories[categories.length - 1]?.[0] ?? null;
    for (; k < present; k++) out.push(last); // rounding of the shares
  }
  return random.shuffle(out);
}

/**
 * `size` background rows for `schema` from `baseline`, or the first `size` rows of `sample` when one is kept
 * (already validated training rows).
 */
export function backgroundFromBaseline(
  schema: InputSchema,
  baseline: Readonly<Record<string, FeatureProfile>>,
  size: number,
  sample?: readonly FeatureRow[],
): Background {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`background size must be a positive integer, got ${size}`);
  if (sample !== undefined && sample.length > 0) return { rows: sample.slice(0, size), source: 'baseline_sample' };
  const random = new SeededRandom(20_260_101);
  const columns = schema.features.map((feature) => featureColumn(baseline[feature.name], size, random));
  const rows: FeatureRow[] = [];
  for (let r = 0; r < size; r++) {
    rows.push(Object.fromEntries(schema.features.map((feature, f) => [feature.name, (columns[f] as FeatureValue[])[r] ?? null])));
  }
  return { rows, source: 'baseline_profile' };
}
