/**
 * The decision threshold: the probability at or above which the served `label` is the positive one.
 *
 * A fixed 0.5 is useless on imbalanced data (on lending club, 5 % positives, no holdout row reaches it, so
 * every served label is `good`). The trainer picks the threshold by a policy on scores it did not fit on and
 * did not hold out: out-of-fold probabilities of the training rows (see train-binary-classifier.ts). The
 * holdout stays untouched, so its metrics at the chosen threshold are an honest estimate.
 *
 * Policies:
 * - `maxF1`: the threshold with the largest F1 of the positive class;
 * - `youden`: the largest Youden's J = recall − false positive rate (the ROC point farthest above chance);
 * - `targetRecall`: the highest threshold whose recall is at least `recall`;
 * - `cost`: the smallest total cost `falsePositive` × FP + `falseNegative` × FN;
 * - `fixed`: `threshold` as given (no scores needed).
 *
 * Candidates are the midpoints between consecutive distinct scores (and just above the largest, where
 * nothing is positive), so a threshold never sits on a training score. Ties go to the higher threshold
 * (fewer positives).
 */

export type ThresholdPolicy =
  | { readonly policy: 'maxF1' }
  | { readonly policy: 'youden' }
  | { readonly policy: 'targetRecall'; readonly recall: number }
  | { readonly policy: 'cost'; readonly falsePositive: number; readonly falseNegative: number }
  | { readonly policy: 'fixed'; readonly threshold: number };

export type ThresholdPolicyName = ThresholdPolicy['policy'];

export const THRESHOLD_POLICIES: readonly ThresholdPolicyName[] = ['maxF1', 'youden', 'targetRecall', 'cost', 'fixed'];

export const DEFAULT_THRESHOLD_POLICY: ThresholdPolicy = { policy: 'maxF1' };

/** The smallest and largest threshold stored (the metadata requires one strictly between 0 and 1). */
export const MIN_THRESHOLD = 1e-6;
export const MAX_THRESHOLD = 1 - 1e-6;

/** @throws RangeError when a policy's parameter is out of range. */
export function checkThresholdPolicy(policy: ThresholdPolicy): void {
  switch (policy.policy) {
    case 'targetRecall':
      if (!(policy.recall > 0 && policy.recall <= 1)) throw new RangeError(`targetRecall recall must be in (0, 1], got ${policy.recall}`);
      return;
    case 'cost':
      for (const [name, value] of [['falsePositive', policy.falsePositive], ['falseNegative', policy.falseNegative]] as const) {
        if (!(value >= 0) || !Number.isFinite(value)) throw new RangeError(`cost ${name} must be a finite number >= 0, got ${value}`);
      }
      if (policy.falsePositive + policy.falseNegative === 0) throw new RangeError('cost falsePositive and falseNegative cannot both be 0');
      return;
    case 'fixed':
      if (!(policy.threshold > 0 && policy.threshold < 1)) throw new RangeError(`fixed threshold must be in (0, 1), got ${policy.threshold}`);
      return;
    default:
      return;
  }
}

/** One candidate threshold and the confusion counts it gives on the scores. */
interface Candidate {
  readonly threshold: number;
  readonly tp: number;
  readonly fp: number;
}

function clamp(threshold: number): number {
  return Math.min(Math.max(threshold, MIN_THRESHOLD), MAX_THRESHOLD);
}

/** Every candidate, from the highest threshold (nothing positive) down to the lowest (everything positive). */
function candidates(labels: ArrayLike<number>, scores: ArrayLike<number>): Candidate[] {
  const order = Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => (scores[b] as number) - (scores[a] as number));
  const top = order.length > 0 ? (scores[order[0] as number] as number) : 0.5;
  const out: Candidate[] = [{ threshold: clamp(top + (1 - top) / 2), tp: 0, fp: 0 }];
  let tp = 0;
  let fp = 0;
  for (let k = 0; k < order.length; ) {
    const score = scores[order[k] as number] as number;
    while (k < order.length && scores[order[k] as number] === score) {
      if (labels[order[k] as number] === 1) tp++;
      else fp++;
      k++;
    }
    const next = k < order.length ? (scores[order[k] as number] as number) : 0;
    out.push({ threshold: clamp((score + next) / 2), tp, fp });
  }
  return out;
}

export interface ChosenThreshold {
  readonly threshold: number;
  /** What the policy optimised, on the scores it was chosen on (F1, J, recall, cost); null for `fixed`. */
  readonly objective: number | null;
}

/**
 * Picks the threshold `policy` asks for on `labels` (0/1) and `scores` (probabilities of the positive class).
 * @throws RangeError when the lengths differ, there are no scores (except for `fixed`) or the policy is invalid.
 */
export function chooseThreshold(labels: ArrayLike<number>, scores: ArrayLike<number>, policy: ThresholdPolicy): ChosenThreshold {
  checkThresholdPolicy(policy);
  if (policy.policy === 'fixed') return { threshold: policy.threshold, objective: null };
  if (labels.length !== scores.length) throw new RangeError(`labels (${labels.length}) and scores (${scores.length}) differ in length`);
  if (labels.length === 0) throw new RangeError('no scores to choose a threshold on');
  let positives = 0;
  for (let i = 0; i < labels.length; i++) positives += labels[i] === 1 ? 1 : 0;
  const negatives = labels.length - positives;

  const value = (c: Candidate): number => {
    const fn = positives - c.tp;
    switch (policy.policy) {
      case 'maxF1':
        return 2 * c.tp + c.fp + fn > 0 ? (2 * c.tp) / (2 * c.tp + c.fp + fn) : 0;
      case 'youden':
        return (positives > 0 ? c.tp / positives : 0) - (negatives > 0 ? c.fp / negatives : 0);
      case 'cost':
        return -(policy.falsePositive * c.fp + policy.falseNegative * fn);
      case 'targetRecall':
        return positives > 0 ? c.tp / positives : 0;
    }
  };

  const all = candidates(labels, scores);
  if (policy.policy === 'targetRecall') {
    // Recall only grows as the threshold falls: the first candidate that reaches the target is the highest.
    const reached = all.find((c) => value(c) >= policy.recall - 1e-12) ?? (all[all.length - 1] as Candidate);
    return { threshold: reached.threshold, objective: value(reached) };
  }
  let best = all[0] as Candidate;
  let bestValue = value(best);
  for (const c of all) {
    const v = value(c);
    if (v > bestValue + 1e-12) {
      best = c;
      bestValue = v;
    }
  }
  return { threshold: best.threshold, objective: policy.policy === 'cost' ? -bestValue : bestValue };
}
