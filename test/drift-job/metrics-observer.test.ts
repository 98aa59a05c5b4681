import type { Metrics } from '@aws-lambda-powertools/metrics';
import { describe, expect, it } from 'vitest';
import type { DriftReportDocument } from '#core/drift/job.ts';
import { driftMetricsObserver } from '../../lambdas/drift-job/drift-job-handler.ts';
import { emfRecords } from '../support/emf-records.ts';

/** Each flush of `emit` as its EMF record (an empty flush is `{ empty: true }`). */
function records(emit: (metrics: Metrics) => void): Record<string, unknown>[] {
  return emfRecords('drift-job', emit);
}

const doc = {
  model: 'credit',
  model_version: 2,
  verdict: 'critical',
  drift_score: 0.3,
  drifted_share: 2 / 13,
  performance: { accuracy: { live: null }, roc_auc: { live: null } },
  features: [
    { name: 'Income', psi: 0.17 },
    { name: 'Home', psi: 0.3 },
  ],
} as unknown as DriftReportDocument;

describe('driftMetricsObserver', () => {
  it('publishes a window of 100 scores or more without an empty flush after the one Powertools makes at the 100th', () => {
    const out = records((m) => driftMetricsObserver(m).reported(doc, { scores: Array.from({ length: 1000 }, (_, i) => i / 1000) }));
    expect(out.filter((r) => r.empty === true)).toEqual([]);
    expect(out[0]).toMatchObject({ model: 'credit', DriftScore: 0.3, DriftCritical: 1 });
    expect(out[0]?.PredictionScore).toHaveLength(100);
    expect(out.slice(1).map((r) => [r.feature, r.FeatureDrift])).toEqual([
      ['Income', 0.17],
      ['Home', 0.3],
    ]);
  });

  it('publishes a small window in one record, then one per feature', () => {
    const out = records((m) => driftMetricsObserver(m).reported(doc, { scores: [0.2, 0.4] }));
    expect(out).toHaveLength(3);
    expect(out[0]).toMatchObject({ DriftScore: 0.3, PredictionScore: [0.2, 0.4] });
  });
});
