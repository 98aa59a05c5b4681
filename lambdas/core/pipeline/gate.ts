/**
 * The promotion gate: decides whether a candidate model may be registered, from its holdout
 * metrics, its fairness, the champion's metrics on the same holdout and the seed spread.
 *
 * Every configured threshold is one check, the champion comparison is a check when there is a
 * champion, and the seed spread is a check when given; the gate passes when every check passes
 * (so with nothing configured and no champion it passes, with no reasons). Each reason says what
 * was compared with what.
 *
 * A metric the gate needs but cannot read (absent, not finite, or a fairness metric that is
 * `null` because its denominator was zero) fails its check: the gate does not pass what it
 * cannot verify.
 *
 * Always checked when the candidate's metrics carry it: `single_class`, the share of holdout rows predicted positive
 * at the decision threshold must be strictly between 0 and 1. A model that labels every row the same (on imbalanced
 * data, a 0.5 threshold no probability reaches) has a fine ROC AUC and serves a useless label.
 */
import type { GateThresholdsConfig } from '#contracts/pipeline.ts';
import type { ClassificationMetrics } from '#core/metrics/classification.ts';
import type { FairnessReport } from './fairness.ts';

/** Holdout metrics; `ClassificationMetrics` and a registry `metrics` record both fit. */
export type GateMetrics = { readonly [K in keyof ClassificationMetrics]?: number };

/** The fairness metrics the gate reads; a `FairnessReport` fits. */
export type GateFairness = Pick<FairnessReport, 'demographic_parity_ratio' | 'disparate_impact' | 'equal_opportunity_difference'>;

/** The bounds the gate checks (absent: not checked): the config's gate thresholds (one declaration, in the contracts). */
export type GateThresholds = GateThresholdsConfig;

export interface GateInput {
  readonly candidate: { readonly metrics: GateMetrics; readonly fairness?: GateFairness };
  /** The current champion's metrics on the same holdout; absent when there is no champion yet. */
  readonly champion?: { readonly metrics: GateMetrics } | undefined;
  readonly thresholds: GateThresholds;
  /**
   * How much of `compareMetric` the candidate may lose to the champion, e.g. 0.01 ROC AUC.
   * A negative value demands that the candidate beat the champion by that much.
   */
  readonly maxRegression: number;
  /** The metric compared with the champion. Default `roc_auc`. `log_loss` and `brier` count lower as better. */
  readonly compareMetric?: keyof ClassificationMetrics;
  /** The spread of a metric across seed runs (see `seedSpread`): passes when std <= max. */
  readonly seedSpread?: { readonly metric: string; readonly std: number; readonly max: number };
}

export type GateCheckName =
  | 'min_roc_auc'
  | 'min_accuracy'
  | 'max_log_loss'
  | 'min_demographic_parity_ratio'
  | 'min_disparate_impact'
  | 'max_equal_opportunity_difference'
  | 'min_pr_auc'
  | 'min_recall'
  | 'min_precision'
  | 'min_f1'
  | 'max_brier'
  | 'single_class'
  | 'champion_regression'
  | 'seed_spread';

export interface GateReason {
  readonly check: GateCheckName;
  readonly passed: boolean;
  /**
   * What was measured: the metric, |difference| for equal opportunity, the candidate's
   * improvement over the champion (positive is better) for `champion_regression`, the std for
   * `seed_spread`; null when it could not be read.
   */
  readonly value: number | null;
  /** The bound it was held to (for `champion_regression`: −maxRegression). */
  readonly threshold: number;
  readonly message: string;
}

export interface GateDecision {
  readonly passed: boolean;
  readonly reasons: readonly GateReason[];
}

/** Absorbs floating-point noise in differences such as 0.8 − 0.81 at the regression boundary. */
const EPSILON = 1e-12;

function fmt(value: number): string {
  return Number(value.toFixed(4)).toString();
}

function readable(value: number | null | undefined): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

interface BoundSpec {
  readonly check: GateCheckName;
  readonly label: string;
  readonly direction: 'min' | 'max';
  readonly threshold: number | undefined;
  readonly value: number | null | undefined;
  /** Why the value is unreadable, when it is. */
  readonly unreadable: string;
}

function boundCheck(spec: BoundSpec): GateReason | undefined {
  const { check, label, direction, threshold, value } = spec;
  if (threshold === undefined) return undefined;
  if (!readable(value)) {
    return { check, passed: false, value: null, threshold, message: `${label} ${spec.unreadable}, so it cannot be held to ${direction} ${fmt(threshold)}` };
  }
  const passed = direction === 'min' ? value >= threshold : value <= threshold;
  const relation = direction === 'min' ? (passed ? 'at least' : 'below') : passed ? 'at most' : 'above';
  return { check, passed, value, threshold, message: `${label} ${fmt(value)} is ${relation} the ${direction} ${fmt(threshold)}` };
}

/**
 * Evaluates the gate.
 * @throws RangeError when a threshold, `maxRegression` or the seed spread is not a finite number.
 */
export function evaluateGate(input: GateInput): GateDecision {
  const { candidate, champion, thresholds, maxRegression } = input;
  for (const [name, value] of Object.entries(thresholds)) {
    if (value !== undefined && !Number.isFinite(value)) throw new RangeError(`threshold ${name} must be a finite number, got ${String(value)}`);
  }
  if (!Number.isFinite(maxRegression)) throw new RangeError(`maxRegression must be a finite number, got ${maxRegression}`);

  const metrics = candidate.metrics;
  const fairness = candidate.fairness;
  const noMetric = 'is not among the candidate metrics';
  const noFairness = fairness === undefined ? 'was not measured' : 'is undefined (a zero denominator: see the fairness notes)';
  const eod = fairness?.equal_opportunity_difference;

  const reasons: GateReason[] = [
    boundCheck({ check: 'min_roc_auc', label: 'ROC AUC', direction: 'min', threshold: thresholds.minRocAuc, value: metrics.roc_auc, unreadable: noMetric }),
    boundCheck({ check: 'min_accuracy', label: 'accuracy', direction: 'min', threshold: thresholds.minAccuracy, value: metrics.accuracy, unreadable: noMetric }),
    boundCheck({ check: 'max_log_loss', label: 'log loss', direction: 'max', threshold: thresholds.maxLogLoss, value: metrics.log_loss, unreadable: noMetric }),
    boundCheck({
      check: 'min_demographic_parity_ratio',
      label: 'demographic parity ratio',
      direction: 'min',
      threshold: thresholds.minDemographicParityRatio,
      value: fairness?.demographic_parity_ratio,
      unreadable: noFairness,
    }),
    boundCheck({
      check: 'min_disparate_impact',
      label: 'disparate impact',
      direction: 'min',
      threshold: thresholds.minDisparateImpact,
      value: fairness?.disparate_impact,
      unreadable: noFairness,
    }),
    boundCheck({
      check: 'max_equal_opportunity_difference',
      label: '|equal opportunity difference|',
      direction: 'max',
      threshold: thresholds.maxEqualOpportunityDifference,
      value: readable(eod) ? Math.abs(eod) : eod,
      unreadable: noFairness,
    }),
    boundCheck({ check: 'min_pr_auc', label: 'PR AUC', direction: 'min', threshold: thresholds.minPrAuc, value: metrics.pr_auc, unreadable: noMetric }),
    boundCheck({ check: 'min_recall', label: 'recall', direction: 'min', threshold: thresholds.minRecall, value: metrics.recall, unreadable: noMetric }),
    boundCheck({ check: 'min_precision', label: 'precision', direction: 'min', threshold: thresholds.minPrecision, value: metrics.precision, unreadable: noMetric }),
    boundCheck({ check: 'min_f1', label: 'F1', direction: 'min', threshold: thresholds.minF1, value: metrics.f1, unreadable: noMetric }),
    boundCheck({ check: 'max_brier', label: 'Brier score', direction: 'max', threshold: thresholds.maxBrier, value: metrics.brier, unreadable: noMetric }),
    singleClassCheck(metrics),
    champion === undefined ? undefined : championCheck(metrics, champion.metrics, input.compareMetric ?? 'roc_auc', maxRegression),
    input.seedSpread === undefined ? undefined : seedSpreadCheck(input.seedSpread),
  ].filter((reason): reason is GateReason => reason !== undefined);

  return { passed: reasons.every((r) => r.passed), reasons };
}

/** Refuses a candidate whose holdout labels are all one class at its threshold; left out when the rate was not measured. */
function singleClassCheck(metrics: GateMetrics): GateReason | undefined {
  const rate = metrics.predicted_positive_rate;
  if (!readable(rate)) return undefined;
  const passed = rate > 0 && rate < 1;
  const at = readable(metrics.threshold) ? ` at threshold ${fmt(metrics.threshold)}` : '';
  const message = passed
    ? `${fmt(rate * 100)}% of the holdout rows are predicted positive${at}: both classes are predicted`
    : `every holdout row is predicted ${rate === 0 ? 'negative' : 'positive'}${at}: the served label would never change`;
  return { check: 'single_class', passed, value: rate, threshold: 0, message };
}

function championCheck(candidate: GateMetrics, champion: GateMetrics, metric: keyof ClassificationMetrics, maxRegression: number): GateReason {
  const threshold = -maxRegression;
  const ours = candidate[metric];
  const theirs = champion[metric];
  if (!readable(ours) || !readable(theirs)) {
    const who = !readable(ours) ? 'the candidate' : 'the champion';
    return { check: 'champion_regression', passed: false, value: null, threshold, message: `${who} has no ${metric}, so the two cannot be compared` };
  }
  const lowerIsBetter = metric === 'log_loss' || metric === 'brier';
  const improvement = lowerIsBetter ? theirs - ours : ours - theirs;
  const passed = improvement >= threshold - EPSILON;
  const compared = `candidate ${metric} ${fmt(ours)} vs champion ${fmt(theirs)} (${improvement >= 0 ? 'better' : 'worse'} by ${fmt(Math.abs(improvement))}${lowerIsBetter ? ', lower is better' : ''})`;
  const allowance =
    maxRegression >= 0 ? `a regression of at most ${fmt(maxRegression)} is allowed` : `an improvement of at least ${fmt(-maxRegression)} is required`;
  return { check: 'champion_regression', passed, value: improvement, threshold, message: `${compared}: ${allowance}` };
}

function seedSpreadCheck(spread: { readonly metric: string; readonly std: number; readonly max: number }): GateReason {
  const { metric, std, max } = spread;
  if (!Number.isFinite(max)) throw new RangeError(`seedSpread.max must be a finite number, got ${max}`);
  if (!Number.isFinite(std)) throw new RangeError(`seedSpread.std must be a finite number, got ${std}`);
  const passed = std <= max;
  return {
    check: 'seed_spread',
    passed,
    value: std,
    threshold: max,
    message: `${metric} std across seeds ${fmt(std)} is ${passed ? 'at most' : 'above'} the max ${fmt(max)}`,
  };
}
