/**
 * Live performance from feedback: ground-truth labels sent later (`POST /v1/models/{model}/feedback`)
 * are joined to the captured predictions by (request id, row), and accuracy and ROC AUC on the
 * joined rows are compared with the version's holdout metrics.
 *
 * A drop is `holdout − live` in absolute terms (0.05 = five points of accuracy or AUC); beyond
 * `maxDrop` it is `degraded`. Fewer than `minLabels` joined rows, or one class only (no AUC), give
 * `insufficient_data` for that metric.
 */
import { DEFAULT_PERFORMANCE_THRESHOLDS as CONTRACT_PERFORMANCE_THRESHOLDS, type PerformanceThresholdsConfig } from '#contracts/drift.ts';
import type { CaptureRecord, FeedbackRecord } from '#core/capture/records.ts';
import { rocAuc } from '#core/metrics/classification.ts';
import type { BinaryOutput } from '#core/model/metadata.ts';

/** Live performance thresholds: the config's `drift.performanceMaxDrop` and the label minimum (one declaration, in the contracts). */
export type PerformanceThresholds = PerformanceThresholdsConfig;

/** The defaults (one declaration, in the contracts; `maxDrop` is the config's `drift.performanceMaxDrop`). */
export const DEFAULT_PERFORMANCE_THRESHOLDS: PerformanceThresholds = CONTRACT_PERFORMANCE_THRESHOLDS;

export interface MetricComparison {
  readonly live: number | null;
  readonly holdout: number | null;
  readonly drop: number | null;
  readonly verdict: 'ok' | 'degraded' | 'insufficient_data';
}

export interface LivePerformance {
  /** Labels joined to a captured prediction. */
  readonly labelled: number;
  /** Feedback whose request was not found among the captured predictions. */
  readonly unmatched: number;
  /** Labels that are neither the positive nor the negative label. */
  readonly unknown_labels: number;
  readonly accuracy: MetricComparison;
  readonly roc_auc: MetricComparison;
  readonly verdict: 'ok' | 'degraded' | 'insufficient_data';
}

function compare(live: number | null, holdout: number | undefined, t: PerformanceThresholds): MetricComparison {
  const base = holdout ?? null;
  if (live === null || base === null) return { live, holdout: base, drop: null, verdict: 'insufficient_data' };
  const drop = base - live;
  return { live, holdout: base, drop, verdict: drop > t.maxDrop ? 'degraded' : 'ok' };
}

/** Joins feedback to captures and compares live accuracy and ROC AUC with the holdout metrics. */
export function livePerformance(input: {
  readonly captures: readonly CaptureRecord[];
  readonly feedback: readonly FeedbackRecord[];
  readonly output: BinaryOutput;
  readonly holdout: Readonly<Record<string, number>>;
  readonly thresholds?: Partial<PerformanceThresholds>;
}): LivePerformance {
  const t = { ...DEFAULT_PERFORMANCE_THRESHOLDS, ...input.thresholds };
  const byKey = new Map<string, CaptureRecord>();
  for (const record of input.captures) byKey.set(`${record.request_id}\u0000${record.row}`, record);
  // The latest label of a (request, row) wins: a client may correct itself.
  const labels = new Map<string, FeedbackRecord>();
  for (const f of [...input.feedback].sort((a, b) => a.received_at.localeCompare(b.received_at))) {
    labels.set(`${f.request_id}\u0000${f.row}`, f);
  }
  const y: number[] = [];
  const scores: number[] = [];
  let correct = 0;
  let unmatched = 0;
  let unknown = 0;
  for (const [key, f] of labels) {
    const record = byKey.get(key);
    if (record === undefined) {
      unmatched++;
      continue;
    }
    const label = f.label === input.output.positive_label ? 1 : f.label === input.output.negative_label ? 0 : -1;
    if (label < 0) {
      unknown++;
      continue;
    }
    const score = record.prediction.probability;
    y.push(label);
    scores.push(score);
    if ((score >= input.output.threshold ? 1 : 0) === label) correct++;
  }
  const enough = y.length >= t.minLabels;
  const accuracy = enough ? correct / y.length : null;
  let auc: number | null = null;
  if (enough && y.includes(0) && y.includes(1)) auc = rocAuc(y, scores);
  const accuracyCheck = compare(accuracy, input.holdout.accuracy, t);
  const aucCheck = compare(auc, input.holdout.roc_auc, t);
  const verdicts = [accuracyCheck.verdict, aucCheck.verdict];
  const verdict = verdicts.includes('degraded') ? 'degraded' : verdicts.includes('ok') ? 'ok' : 'insufficient_data';
  return { labelled: y.length, unmatched, unknown_labels: unknown, accuracy: accuracyCheck, roc_auc: aucCheck, verdict };
}
