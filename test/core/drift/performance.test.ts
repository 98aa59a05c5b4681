import { describe, expect, it } from 'vitest';
import type { CaptureRecord, FeedbackRecord } from '#core/capture/records.ts';
import { DEFAULT_PERFORMANCE_THRESHOLDS, livePerformance } from '#core/drift/performance.ts';
import type { BinaryOutput } from '#core/model/metadata.ts';

/** Live performance: feedback labels joined to captured predictions, compared with the holdout metrics. */

const OUTPUT = { positive_label: 'bad', negative_label: 'good', threshold: 0.5 } as BinaryOutput;

const capture = (id: string, probability: number, row = 0): CaptureRecord => ({
  request_id: id,
  row,
  model: 'credit',
  model_version: 1,
  variant: 'production',
  captured_at: '2026-12-01T09:00:00.000Z',
  features: {},
  prediction: { label: probability >= 0.5 ? 'bad' : 'good', probability },
});
const label = (id: string, value: string, at = '2026-12-01T09:30:00.000Z', row = 0): FeedbackRecord => ({ request_id: id, row, model: 'credit', label: value, received_at: at });

/**
 * `n` joined rows: scores (i + 0.5) / n, labelled bad at or above the threshold except the `wrong` highest, which are
 * labelled good (misclassified, and ranked above every bad row).
 */
function scenario(n: number, wrong: number): { captures: CaptureRecord[]; feedback: FeedbackRecord[] } {
  const captures: CaptureRecord[] = [];
  const feedback: FeedbackRecord[] = [];
  for (let i = 0; i < n; i++) {
    const score = (i + 0.5) / n;
    captures.push(capture(`r${i}`, score));
    const high = score >= 0.5;
    const misclassified = i >= n - wrong;
    feedback.push(label(`r${i}`, high !== misclassified ? 'bad' : 'good'));
  }
  return { captures, feedback };
}

describe('livePerformance', () => {
  it('scores accuracy at the output threshold and ROC AUC, and calls drops within maxDrop ok', () => {
    const { captures, feedback } = scenario(100, 0);
    const result = livePerformance({ captures, feedback, output: OUTPUT, holdout: { accuracy: 1, roc_auc: 1 } });
    expect(result.labelled).toBe(100);
    expect(result.accuracy).toEqual({ live: 1, holdout: 1, drop: 0, verdict: 'ok' });
    expect(result.roc_auc).toEqual({ live: 1, holdout: 1, drop: 0, verdict: 'ok' });
    expect(result.verdict).toBe('ok');
  });

  it('counts a score exactly at the threshold as the positive label', () => {
    const captures = Array.from({ length: 50 }, (_, i) => capture(`r${i}`, i < 25 ? 0.5 : 0.2));
    const feedback = captures.map((c, i) => label(c.request_id, i < 25 ? 'bad' : 'good'));
    expect(livePerformance({ captures, feedback, output: OUTPUT, holdout: {} }).accuracy.live).toBe(1);
  });

  it('calls a drop of more than maxDrop degraded, and one of exactly maxDrop ok', () => {
    // 8 of 100 misclassified: accuracy 0.92.
    const { captures, feedback } = scenario(100, 8);
    const result = livePerformance({ captures, feedback, output: OUTPUT, holdout: { accuracy: 0.98, roc_auc: 0.5 } });
    expect(result.accuracy.live).toBeCloseTo(0.92, 12);
    expect(result.accuracy.drop).toBeCloseTo(0.06, 12);
    expect(result.accuracy.verdict).toBe('degraded');
    expect(result.roc_auc.verdict).toBe('ok');
    expect(result.verdict).toBe('degraded');
    const atBound = livePerformance({ captures, feedback, output: OUTPUT, holdout: { accuracy: 0.92 + 0.05 }, thresholds: { maxDrop: 0.0500001 } });
    expect(atBound.accuracy.verdict).toBe('ok');
    expect(livePerformance({ captures, feedback, output: OUTPUT, holdout: { accuracy: 0.92 }, thresholds: { maxDrop: 0 } }).accuracy.verdict).toBe('ok');
    expect(livePerformance({ captures, feedback, output: OUTPUT, holdout: { accuracy: 0.93 }, thresholds: { maxDrop: 0 } }).accuracy.verdict).toBe('degraded');
    // A live metric better than the holdout is a negative drop, never degraded.
    const better = livePerformance({ captures, feedback, output: OUTPUT, holdout: { accuracy: 0.5 } }).accuracy;
    expect(better.drop).toBeCloseTo(-0.42, 12);
    expect(better.verdict).toBe('ok');
  });

  it('computes ROC AUC from the ranks of the scores', () => {
    // Labels good for the 10 highest scores: those rank above the 40 bad ones at 0.5..0.9.
    const { captures, feedback } = scenario(100, 10);
    const result = livePerformance({ captures, feedback, output: OUTPUT, holdout: { roc_auc: 0.95 } });
    // 50 good below all 40 bad, 10 good above all 40 bad: AUC = (50·40) / (60·40).
    expect(result.roc_auc.live).toBeCloseTo(2000 / 2400, 12);
    expect(result.roc_auc.drop).toBeCloseTo(0.95 - 2000 / 2400, 12);
    expect(result.roc_auc.verdict).toBe('degraded');
    expect(result.accuracy).toEqual({ live: 0.9, holdout: null, drop: null, verdict: 'insufficient_data' });
    expect(result.verdict).toBe('degraded');
  });

  it('needs minLabels joined rows: one fewer gives insufficient_data for both metrics', () => {
    const { captures, feedback } = scenario(DEFAULT_PERFORMANCE_THRESHOLDS.minLabels, 0);
    expect(DEFAULT_PERFORMANCE_THRESHOLDS).toEqual({ maxDrop: 0.05, minLabels: 50 });
    expect(livePerformance({ captures, feedback, output: OUTPUT, holdout: { accuracy: 1, roc_auc: 1 } }).verdict).toBe('ok');
    const short = livePerformance({ captures, feedback: feedback.slice(1), output: OUTPUT, holdout: { accuracy: 1, roc_auc: 1 } });
    expect(short.labelled).toBe(49);
    expect(short.accuracy).toEqual({ live: null, holdout: 1, drop: null, verdict: 'insufficient_data' });
    expect(short.roc_auc.verdict).toBe('insufficient_data');
    expect(short.verdict).toBe('insufficient_data');
    expect(livePerformance({ captures, feedback: feedback.slice(1), output: OUTPUT, holdout: {}, thresholds: { minLabels: 49 } }).accuracy.live).toBe(1);
  });

  it('gives no AUC when the labels hold one class only, but still scores accuracy', () => {
    const captures = Array.from({ length: 60 }, (_, i) => capture(`r${i}`, 0.1));
    const feedback = captures.map((c) => label(c.request_id, 'good'));
    const result = livePerformance({ captures, feedback, output: OUTPUT, holdout: { accuracy: 0.9, roc_auc: 0.9 } });
    expect(result.accuracy.verdict).toBe('ok');
    expect(result.roc_auc).toEqual({ live: null, holdout: 0.9, drop: null, verdict: 'insufficient_data' });
    expect(result.verdict).toBe('ok');
    const bad = livePerformance({ captures, feedback: captures.map((c) => label(c.request_id, 'bad')), output: OUTPUT, holdout: { roc_auc: 0.9 } });
    expect(bad.accuracy.live).toBe(0);
    expect(bad.roc_auc.live).toBeNull();
  });

  it('counts feedback with no capture as unmatched and unknown labels apart, and joins on request and row', () => {
    const { captures, feedback } = scenario(60, 0);
    const extra = [label('nobody', 'bad'), label('r1', 'bad', '2026-12-01T09:30:00.000Z', 7), label('r2', 'maybe', '2026-12-01T09:31:00.000Z', 0)];
    // r2's later label "maybe" replaces its first one: the latest label wins.
    const result = livePerformance({ captures, feedback: [...feedback, ...extra], output: OUTPUT, holdout: {} });
    expect(result.unmatched).toBe(2);
    expect(result.unknown_labels).toBe(1);
    expect(result.labelled).toBe(59);
  });

  it('takes the latest label of a request, whatever order the feedback arrives in', () => {
    const { captures, feedback } = scenario(60, 0);
    // r0 (score below the threshold) was first labelled bad by mistake, then corrected to good.
    const correction = [label('r0', 'good', '2026-12-01T11:00:00.000Z'), label('r0', 'bad', '2026-12-01T10:00:00.000Z')];
    const result = livePerformance({ captures, feedback: [...correction, ...feedback.slice(1)], output: OUTPUT, holdout: {} });
    expect(result.accuracy.live).toBe(1);
    const wrong = livePerformance({ captures, feedback: [...feedback.slice(1), label('r0', 'good', '2026-12-01T08:00:00.000Z'), label('r0', 'bad', '2026-12-01T10:00:00.000Z')], output: OUTPUT, holdout: {} });
    expect(wrong.accuracy.live).toBeCloseTo(59 / 60, 12);
  });

  it('is insufficient_data without holdout metrics to compare with', () => {
    const { captures, feedback } = scenario(60, 0);
    const result = livePerformance({ captures, feedback, output: OUTPUT, holdout: {} });
    expect(result.accuracy).toEqual({ live: 1, holdout: null, drop: null, verdict: 'insufficient_data' });
    expect(result.verdict).toBe('insufficient_data');
  });
});
