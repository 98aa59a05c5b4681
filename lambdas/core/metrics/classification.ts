/** Binary classification metrics on 0/1 labels and positive-class probabilities. */

export interface ClassificationMetrics {
  readonly roc_auc: number;
  /** Average precision (area under the precision-recall curve), as scikit-learn's `average_precision_score`. */
  readonly pr_auc: number;
  readonly accuracy: number;
  /** Precision, recall and F1 of the positive class at the threshold. */
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
  readonly log_loss: number;
  /** Mean squared difference between the probability and the 0/1 label (scikit-learn's `brier_score_loss`). */
  readonly brier: number;
  /** Share of rows predicted positive at the threshold: 0 or 1 means the model predicts one class only. */
  readonly predicted_positive_rate: number;
  /** The threshold the label-based metrics were measured at. */
  readonly threshold: number;
}

/** One bin of a calibration table: the rows whose probability falls in (lower, upper] (the first bin includes 0). */
export interface CalibrationBin {
  readonly lower: number;
  readonly upper: number;
  readonly count: number;
  /** Mean predicted probability in the bin; null when the bin is empty. */
  readonly mean_predicted: number | null;
  /** Share of positive labels in the bin; null when the bin is empty. */
  readonly observed_rate: number | null;
}

const LOG_LOSS_EPSILON = 1e-15;

function checkLengths(labels: ArrayLike<number>, scores: ArrayLike<number>): void {
  if (labels.length !== scores.length) {
    throw new RangeError(`labels (${labels.length}) and scores (${scores.length}) differ in length`);
  }
  if (labels.length === 0) throw new RangeError('no samples');
}

/**
 * Area under the ROC curve by the rank-sum (Mann–Whitney) formula; tied scores get their
 * average rank, so a tie between a positive and a negative counts one half.
 * @throws RangeError when only one class is present.
 */
export function rocAuc(labels: ArrayLike<number>, scores: ArrayLike<number>): number {
  checkLengths(labels, scores);
  const n = labels.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => (scores[a] as number) - (scores[b] as number));
  let positives = 0;
  let positiveRankSum = 0;
  for (let start = 0; start < n; ) {
    let end = start + 1;
    while (end < n && scores[order[end] as number] === scores[order[start] as number]) end++;
    // Ranks start..end-1 (0-based) share the average 1-based rank.
    const averageRank = (start + 1 + end) / 2;
    for (let k = start; k < end; k++) {
      if (labels[order[k] as number] === 1) {
        positives++;
        positiveRankSum += averageRank;
      }
    }
    start = end;
  }
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) throw new RangeError('ROC AUC needs both classes');
  return (positiveRankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/**
 * Average precision: Σ (Rₙ − Rₙ₋₁) Pₙ over the distinct scores in decreasing order, as scikit-learn's
 * `average_precision_score` (no interpolation). 0 when there is no positive label.
 */
export function averagePrecision(labels: ArrayLike<number>, scores: ArrayLike<number>): number {
  checkLengths(labels, scores);
  const n = labels.length;
  let positives = 0;
  for (let i = 0; i < n; i++) positives += labels[i] === 1 ? 1 : 0;
  if (positives === 0) return 0;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => (scores[b] as number) - (scores[a] as number));
  let tp = 0;
  let fp = 0;
  let previousRecall = 0;
  let sum = 0;
  for (let k = 0; k < n; ) {
    const score = scores[order[k] as number] as number;
    while (k < n && scores[order[k] as number] === score) {
      if (labels[order[k] as number] === 1) tp++;
      else fp++;
      k++;
    }
    const recall = tp / positives;
    sum += (recall - previousRecall) * (tp / (tp + fp));
    previousRecall = recall;
  }
  return sum;
}

/** Mean of (probability − label)², scikit-learn's `brier_score_loss`. */
export function brierScore(labels: ArrayLike<number>, probabilities: ArrayLike<number>): number {
  checkLengths(labels, probabilities);
  let sum = 0;
  for (let i = 0; i < labels.length; i++) sum += ((probabilities[i] as number) - (labels[i] === 1 ? 1 : 0)) ** 2;
  return sum / labels.length;
}

/**
 * A calibration table of `bins` equal-width probability bins ([0, 0.1], (0.1, 0.2], …, (0.9, 1] for 10): per bin the
 * count, the mean predicted probability and the observed positive rate, as scikit-learn's
 * `calibration_curve(strategy="uniform")` computes them (which leaves out the empty bins this table keeps).
 */
export function calibrationTable(labels: ArrayLike<number>, probabilities: ArrayLike<number>, bins = 10): CalibrationBin[] {
  checkLengths(labels, probabilities);
  const count = new Array<number>(bins).fill(0);
  const predicted = new Array<number>(bins).fill(0);
  const positive = new Array<number>(bins).fill(0);
  const step = 1 / bins;
  for (let i = 0; i < labels.length; i++) {
    const p = probabilities[i] as number;
    // Right-closed bins on NumPy's linspace edges (i × 1/bins), as calibration_curve's searchsorted puts them.
    let bin = 0;
    while (bin < bins - 1 && (bin + 1) * step < p) bin++;
    count[bin] = (count[bin] as number) + 1;
    predicted[bin] = (predicted[bin] as number) + p;
    positive[bin] = (positive[bin] as number) + (labels[i] === 1 ? 1 : 0);
  }
  return count.map((c, b) => ({
    lower: b * step,
    upper: (b + 1) * step,
    count: c,
    mean_predicted: c > 0 ? (predicted[b] as number) / c : null,
    observed_rate: c > 0 ? (positive[b] as number) / c : null,
  }));
}

/** Mean negative log-likelihood with probabilities clipped to [1e-15, 1 - 1e-15]. */
export function logLoss(labels: ArrayLike<number>, probabilities: ArrayLike<number>): number {
  checkLengths(labels, probabilities);
  let sum = 0;
  for (let i = 0; i < labels.length; i++) {
    const p = Math.min(Math.max(probabilities[i] as number, LOG_LOSS_EPSILON), 1 - LOG_LOSS_EPSILON);
    sum -= labels[i] === 1 ? Math.log(p) : Math.log(1 - p);
  }
  return sum / labels.length;
}

/**
 * ROC AUC, PR AUC, log loss, Brier score, and accuracy/precision/recall/F1 and the predicted positive rate
 * with "positive" meaning probability >= threshold. Precision, recall and F1 are 0 when their denominator is 0.
 */
export function classificationMetrics(labels: ArrayLike<number>, probabilities: ArrayLike<number>, threshold = 0.5): ClassificationMetrics {
  checkLengths(labels, probabilities);
  let tp = 0;
  let fp = 0;
  let tn = 0;
  let fn = 0;
  for (let i = 0; i < labels.length; i++) {
    const predicted = (probabilities[i] as number) >= threshold;
    const actual = labels[i] === 1;
    if (predicted && actual) tp++;
    else if (predicted) fp++;
    else if (actual) fn++;
    else tn++;
  }
  const precision = tp + fp > 0 ? tp / (tp + fp) : 0;
  const recall = tp + fn > 0 ? tp / (tp + fn) : 0;
  return {
    roc_auc: rocAuc(labels, probabilities),
    pr_auc: averagePrecision(labels, probabilities),
    accuracy: (tp + tn) / labels.length,
    precision,
    recall,
    f1: precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0,
    log_loss: logLoss(labels, probabilities),
    brier: brierScore(labels, probabilities),
    predicted_positive_rate: (tp + fp) / labels.length,
    threshold,
  };
}
