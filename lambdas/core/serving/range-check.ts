import { RequestValidationError } from '#core/errors.ts';
import type { FeatureProfile, FeatureRow, InputSchema } from '#core/model/metadata.ts';

/**
 * Range checks of served values against the version's training baseline: a numeric value far outside what the
 * model saw in training is extrapolation, which a model answers with confidence but no evidence. What happens then
 * is a deployment's choice: nothing (`off`), an answer with warnings (`warn`), or a 400 `OUT_OF_RANGE` (`reject`).
 * Categories outside the schema are refused by schema validation (`UNKNOWN_CATEGORY`), whatever the policy; the
 * distribution of a window of traffic is the drift job's concern, not a single request's.
 */

/** What serving does with a numeric value outside its feature's tolerated training range. */
export type OutOfRangePolicy = 'off' | 'warn' | 'reject';

export const OUT_OF_RANGE_POLICIES: readonly OutOfRangePolicy[] = ['off', 'warn', 'reject'];

/** The warnings one answer carries at most; the metric and the log count all of them. */
export const MAX_RANGE_WARNINGS = 100;

/** The tolerated range of one numeric feature: the training min and max widened by the tolerance. */
export interface FeatureBounds {
  readonly feature: string;
  readonly min: number;
  readonly max: number;
}

/** One numeric value outside its tolerated range, as a `warn` answer lists it. */
export interface OutOfRangeWarning {
  /** Index of the instance in the request's `instances`. */
  readonly instance: number;
  readonly feature: string;
  readonly code: 'OUT_OF_RANGE';
  readonly value: number;
  readonly min: number;
  readonly max: number;
}

/** The out-of-range values of one batch: all of them counted, the first `MAX_RANGE_WARNINGS` listed. */
export interface RangeFindings {
  readonly count: number;
  readonly warnings: OutOfRangeWarning[];
}

/**
 * The tolerated range of each numeric feature of `schema` that has a numeric baseline with at least one training
 * value: `[min − tolerance × (max − min), max + tolerance × (max − min)]`. Features without one (metadata written
 * without it, or a feature never present in training) are not checked. Computed once per loaded version.
 */
export function compileFeatureBounds(
  schema: InputSchema,
  baseline: Readonly<Record<string, FeatureProfile>>,
  tolerance: number,
): FeatureBounds[] {
  const bounds: FeatureBounds[] = [];
  for (const feature of schema.features) {
    if (feature.type !== 'numeric' || !Object.hasOwn(baseline, feature.name)) continue;
    const profile = baseline[feature.name];
    if (profile?.type !== 'numeric' || profile.count === 0) continue;
    const margin = tolerance * (profile.max - profile.min);
    bounds.push({ feature: feature.name, min: tidy(profile.min - margin), max: tidy(profile.max + margin) });
  }
  return bounds;
}

/** 12 significant digits: answers show `-89.3`, not the float noise `-89.30000000000001` of `6 - 0.1 × 953`. */
function tidy(bound: number): number {
  return Number(bound.toPrecision(12));
}

/** Every numeric value of `rows` outside its bounds, in instance then feature order; null (missing) never is. */
export function findOutOfRange(bounds: readonly FeatureBounds[], rows: readonly FeatureRow[], maxWarnings = MAX_RANGE_WARNINGS): RangeFindings {
  let count = 0;
  const warnings: OutOfRangeWarning[] = [];
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i] as FeatureRow;
    for (let f = 0; f < bounds.length; f++) {
      const { feature, min, max } = bounds[f] as FeatureBounds;
      const value = row[feature];
      if (typeof value !== 'number' || (value >= min && value <= max)) continue;
      count++;
      if (warnings.length < maxWarnings) warnings.push({ instance: i, feature, code: 'OUT_OF_RANGE', value, min, max });
    }
  }
  return { count, warnings };
}

/**
 * Throws a 400 `OUT_OF_RANGE` naming the first numeric value of `rows` outside its bounds (and looks no further);
 * `firstInstance` is the request index of `rows[0]` (a batch that checks its rows one at a time names each by its own).
 */
export function rejectOutOfRange(bounds: readonly FeatureBounds[], rows: readonly FeatureRow[], firstInstance = 0): void {
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i] as FeatureRow;
    for (let f = 0; f < bounds.length; f++) {
      const { feature, min, max } = bounds[f] as FeatureBounds;
      const value = row[feature];
      if (typeof value !== 'number' || (value >= min && value <= max)) continue;
      const field = `instances[${firstInstance + i}].${feature}`;
      throw new RequestValidationError(
        'OUT_OF_RANGE',
        `${field} is ${value}, outside the range this model version was trained on (with tolerance): ${min} to ${max}`,
        { field, received: value, min, max },
      );
    }
  }
}
