/**
 * Group fairness of a binary classifier's decisions on a holdout set, comparing a protected
 * group (e.g. applicants under 25) with everyone else (the reference group).
 *
 * - selection rate: share of a group predicted positive.
 * - true positive rate (TPR): share of a group's actual positives predicted positive.
 * - demographic parity ratio: min(selection rates) / max(selection rates); 1 is parity.
 * - disparate impact: selection rate of the protected group / selection rate of the reference
 *   group; the "four-fifths rule" asks for at least 0.8. Note that in the credit example the
 *   positive label is "bad", so being selected is adverse there: read the ratio accordingly.
 * - equal opportunity difference: TPR protected − TPR reference; 0 is parity.
 *
 * A metric whose denominator is zero (an empty group, a group with no actual positives, nobody
 * selected) is `null`, and `notes` says why. Field names are snake_case: this is a wire format
 * (Step Functions state, registry metadata).
 */
import type { FeatureRow } from '#core/model/metadata.ts';

/** The decisions to assess: 0/1 predictions, or probabilities and the threshold that decides. */
export type FairnessPredictions =
  | { readonly predicted: ArrayLike<number> }
  | { readonly probabilities: ArrayLike<number>; /** Positive at or above this. Default 0.5. */ readonly threshold?: number };

export type FairnessInput = FairnessPredictions & {
  /** Actual 0/1 labels, one per row. */
  readonly labels: ArrayLike<number>;
  /** true where the row belongs to the protected group, one per row. */
  readonly protectedGroup: readonly boolean[];
};

export interface GroupFairness {
  /** Rows in the group. */
  readonly count: number;
  /** Rows whose actual label is 1. */
  readonly actual_positive: number;
  /** Rows predicted 1. */
  readonly predicted_positive: number;
  /** Rows whose actual label and prediction are both 1. */
  readonly true_positive: number;
  /** predicted_positive / count; null for an empty group. */
  readonly selection_rate: number | null;
  /** true_positive / actual_positive; null when the group has no actual positives. */
  readonly true_positive_rate: number | null;
}

export interface FairnessReport {
  readonly protected: GroupFairness;
  readonly reference: GroupFairness;
  readonly demographic_parity_ratio: number | null;
  readonly disparate_impact: number | null;
  readonly equal_opportunity_difference: number | null;
  /** Why a metric is null, one sentence each; empty when every metric is defined. */
  readonly notes: readonly string[];
}

function checkBinary(name: string, values: ArrayLike<number>, index: number): 0 | 1 {
  const value = values[index];
  if (value !== 0 && value !== 1) throw new RangeError(`${name}[${index}] must be 0 or 1, got ${String(value)}`);
  return value;
}

function decisions(input: FairnessPredictions, length: number): Uint8Array {
  const out = new Uint8Array(length);
  if ('predicted' in input) {
    if (input.predicted.length !== length) {
      throw new RangeError(`predicted (${input.predicted.length}) and labels (${length}) differ in length`);
    }
    for (let i = 0; i < length; i++) out[i] = checkBinary('predicted', input.predicted, i);
    return out;
  }
  const threshold = input.threshold ?? 0.5;
  if (!(threshold >= 0 && threshold <= 1)) throw new RangeError(`threshold must be in [0, 1], got ${threshold}`);
  if (input.probabilities.length !== length) {
    throw new RangeError(`probabilities (${input.probabilities.length}) and labels (${length}) differ in length`);
  }
  for (let i = 0; i < length; i++) {
    const p = input.probabilities[i] as number;
    if (!(p >= 0 && p <= 1)) throw new RangeError(`probabilities[${i}] must be in [0, 1], got ${p}`);
    out[i] = p >= threshold ? 1 : 0;
  }
  return out;
}

function groupStats(count: number, actualPositive: number, predictedPositive: number, truePositive: number): GroupFairness {
  return {
    count,
    actual_positive: actualPositive,
    predicted_positive: predictedPositive,
    true_positive: truePositive,
    selection_rate: count === 0 ? null : predictedPositive / count,
    true_positive_rate: actualPositive === 0 ? null : truePositive / actualPositive,
  };
}

/**
 * Computes per-group counts and rates and the three fairness metrics.
 * @throws RangeError on a programming error: arrays of different lengths, labels or predictions
 *   other than 0/1, probabilities outside [0, 1], a threshold outside [0, 1].
 */
export function fairnessMetrics(input: FairnessInput): FairnessReport {
  const n = input.labels.length;
  if (input.protectedGroup.length !== n) {
    throw new RangeError(`protectedGroup (${input.protectedGroup.length}) and labels (${n}) differ in length`);
  }
  const predicted = decisions(input, n);

  const tally = () => ({ count: 0, actualPositive: 0, predictedPositive: 0, truePositive: 0 });
  const groups = { reference: tally(), protected: tally() };
  for (let i = 0; i < n; i++) {
    const group = input.protectedGroup[i] === true ? groups.protected : groups.reference;
    const label = checkBinary('labels', input.labels, i);
    const decision = predicted[i] as number;
    group.count += 1;
    group.actualPositive += label;
    group.predictedPositive += decision;
    group.truePositive += label & decision;
  }
  const toStats = (g: ReturnType<typeof tally>) => groupStats(g.count, g.actualPositive, g.predictedPositive, g.truePositive);
  const reference = toStats(groups.reference);
  const protectedStats = toStats(groups.protected);

  const notes: string[] = [];
  const emptyGroups = [protectedStats.count === 0 ? 'protected' : null, reference.count === 0 ? 'reference' : null].filter(
    (g): g is string => g !== null,
  );

  let demographicParityRatio: number | null = null;
  let disparateImpact: number | null = null;
  const srP = protectedStats.selection_rate;
  const srR = reference.selection_rate;
  if (srP === null || srR === null) {
    notes.push(
      `the ${emptyGroups.join(' and ')} group${emptyGroups.length > 1 ? 's are' : ' is'} empty: demographic parity ratio and disparate impact are undefined`,
    );
  } else {
    const high = Math.max(srP, srR);
    if (high === 0) notes.push('neither group has a positive prediction: demographic parity ratio is undefined');
    else demographicParityRatio = Math.min(srP, srR) / high;
    if (srR === 0) notes.push('the reference group has no positive prediction: disparate impact is undefined');
    else disparateImpact = srP / srR;
  }

  let equalOpportunityDifference: number | null = null;
  const tprP = protectedStats.true_positive_rate;
  const tprR = reference.true_positive_rate;
  if (tprP === null || tprR === null) {
    const lacking = [tprP === null ? 'protected' : null, tprR === null ? 'reference' : null].filter((g): g is string => g !== null);
    notes.push(
      `the ${lacking.join(' and ')} group${lacking.length > 1 ? 's have' : ' has'} no actual positives: equal opportunity difference is undefined`,
    );
  } else {
    equalOpportunityDifference = tprP - tprR;
  }

  return {
    protected: protectedStats,
    reference,
    demographic_parity_ratio: demographicParityRatio,
    disparate_impact: disparateImpact,
    equal_opportunity_difference: equalOpportunityDifference,
    notes,
  };
}

/** Which rows form the protected group: a numeric feature below a value, or a category in a set. */
export type ProtectedAttribute =
  | { readonly feature: string; readonly kind: 'numeric_below'; readonly value: number }
  | { readonly feature: string; readonly kind: 'category_in'; readonly value: readonly string[] };

/**
 * Marks each row as protected (true) or reference (false) by one attribute, e.g.
 * `{ feature: 'Age', kind: 'numeric_below', value: 25 }` makes everyone under 25 protected.
 *
 * A missing value (`null`) counts as reference. With `category_in`, a numeric value is compared
 * by its decimal string (`1` matches `"1"`).
 * @throws RangeError when the attribute is malformed, a row lacks the feature, or `numeric_below`
 *   meets a string value (the feature is categorical).
 */
export function groupFromAttribute(rows: readonly FeatureRow[], attribute: ProtectedAttribute): boolean[] {
  const { feature } = attribute;
  if (attribute.kind === 'numeric_below') {
    const bound = attribute.value;
    if (typeof bound !== 'number' || !Number.isFinite(bound)) {
      throw new RangeError(`numeric_below needs a finite number value, got ${String(bound)}`);
    }
    return rows.map((row, index) => {
      const value = valueOf(row, feature, index);
      if (value === null) return false;
      if (typeof value !== 'number') {
        throw new RangeError(`feature "${feature}" is categorical ("${value}" in row ${index + 1}); numeric_below needs numbers`);
      }
      return value < bound;
    });
  }
  if (attribute.kind === 'category_in') {
    if (!Array.isArray(attribute.value) || !attribute.value.every((v) => typeof v === 'string')) {
      throw new RangeError('category_in needs an array of strings as its value');
    }
    const categories = new Set(attribute.value);
    return rows.map((row, index) => {
      const value = valueOf(row, feature, index);
      return value !== null && categories.has(String(value));
    });
  }
  throw new RangeError(`unknown attribute kind "${String((attribute as { kind: unknown }).kind)}"`);
}

function valueOf(row: FeatureRow, feature: string, index: number): number | string | null {
  if (!Object.hasOwn(row, feature)) throw new RangeError(`row ${index + 1} has no feature "${feature}"`);
  return row[feature] ?? null;
}
