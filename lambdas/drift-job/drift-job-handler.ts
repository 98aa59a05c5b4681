import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import type { DriftJobDependencies, DriftObserver, DriftReportDocument } from '#core/drift/job.ts';
import { runDriftJob } from '#core/drift/job.ts';
import { parseDriftJobEvent } from '#core/drift/job-event.ts';
import type { DriftLease } from '#core/drift/retrain.ts';
import type { RegistryReader } from '#core/serving/ports.ts';
import { DRIFT_METRICS, METRIC_DIMENSIONS } from '#contracts/metrics.ts';
import { asError } from '#core/errors.ts';

export interface DriftJobHandlerOptions extends Omit<DriftJobDependencies, 'registry'> {
  readonly registry: Pick<RegistryReader, 'getModel' | 'getVersion' | 'listModels'>;
  readonly logger: Logger;
  /**
   * Single-flight: a run starts only when it holds the lease (two schedules firing together must not race on the
   * same window's reports). @default - no lease (one process, e.g. the local schedule runner)
   */
  readonly lease?: { readonly store: DriftLease; readonly durationMs: number; readonly holder: () => string };
}


/** Most values of `PredictionScore` in one EMF line (Powertools' and CloudWatch's limit). */
const MAX_SCORE_VALUES = 100;

/**
 * Metrics of one report (docs/metrics.md, names from contracts/metrics.ts `DRIFT_METRICS`):
 * `DriftScore`, `DriftCritical`, `PredictionScore` (≤ 100 evenly spaced scores), `LiveAccuracy`,
 * `LiveRocAuc` with `model`; then `FeatureDrift` (the feature's PSI) with `model` and `feature`.
 * Each set is flushed at once, because dimensions are shared by everything flushed together.
 */
export function driftMetricsObserver(metrics: Metrics): DriftObserver {
  return {
    reported(doc: DriftReportDocument, window: { readonly scores: readonly number[] }) {
      if (doc.verdict === 'insufficient_data') {
        metrics.addDimension(METRIC_DIMENSIONS.model, doc.model);
        metrics.addMetric(DRIFT_METRICS.insufficientData, MetricUnit.Count, 1);
        metrics.publishStoredMetrics();
        return;
      }
      metrics.addDimension(METRIC_DIMENSIONS.model, doc.model);
      metrics.addMetadata('model_version', String(doc.model_version));
      metrics.addMetric(DRIFT_METRICS.score, MetricUnit.NoUnit, doc.drift_score);
      metrics.addMetric(DRIFT_METRICS.critical, MetricUnit.Count, doc.verdict === 'critical' ? 1 : 0);
      metrics.addMetric(DRIFT_METRICS.driftedFeatureShare, MetricUnit.NoUnit, doc.drifted_share);
      if (doc.performance.accuracy.live !== null) metrics.addMetric(DRIFT_METRICS.liveAccuracy, MetricUnit.NoUnit, doc.performance.accuracy.live);
      if (doc.performance.roc_auc.live !== null) metrics.addMetric(DRIFT_METRICS.liveRocAuc, MetricUnit.NoUnit, doc.performance.roc_auc.live);
      for (const score of scoreSample(window.scores)) metrics.addMetric(DRIFT_METRICS.predictionScore, MetricUnit.NoUnit, score);
      // Powertools publishes on its own at a metric's 100th value (a window of 100 rows or more): then nothing is
      // left, and publishing again would only warn "No application metrics to publish" (every drift check).
      if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
      for (const feature of doc.features) {
        if (feature.psi === null) continue;
        metrics.addDimensions({ [METRIC_DIMENSIONS.model]: doc.model, [METRIC_DIMENSIONS.feature]: feature.name });
        metrics.addMetric(DRIFT_METRICS.feature, MetricUnit.NoUnit, feature.psi);
        metrics.publishStoredMetrics();
      }
    },
  };
}

/** Up to `max` evenly spaced values of `values` (sorted), for a distribution metric. */
export function scoreSample(values: readonly number[], max: number = MAX_SCORE_VALUES): number[] {
  if (values.length <= max) return [...values];
  const sorted = [...values].sort((a, b) => a - b);
  return Array.from({ length: max }, (_, i) => sorted[Math.floor(((i + 0.5) * sorted.length) / max)] as number);
}

/** The drift job over every requested model (default: every model with a production version). */
export function createDriftJobHandler(options: DriftJobHandlerOptions) {
  const { logger } = options;
  return async (event: unknown): Promise<{ results: DriftReportDocument[]; failures: { model: string; error: string }[]; skipped?: string }> => {
    const invocation = parseDriftJobEvent(event, new Date());
    const { lease } = options;
    if (lease === undefined) return run(invocation);
    const holder = lease.holder();
    const taken = await lease.store.acquire(holder, new Date(), lease.durationMs);
    if (!taken.acquired) {
      const skipped = `another drift run (${taken.holder ?? 'unknown'}) holds the lease until ${taken.expiresAt ?? 'unknown'}`;
      logger.warn('drift run skipped', { reason: skipped });
      return { results: [], failures: [], skipped };
    }
    try {
      return await run(invocation);
    } finally {
      await lease.store.release(holder).catch((error: unknown) => logger.warn('drift lease not released; it expires by itself', { error: asError(error) }));
    }
  };

  async function run(invocation: ReturnType<typeof parseDriftJobEvent>) {
    const models =
      invocation.models ?? (await options.registry.listModels()).filter((m) => m.production_version !== null).map((m) => m.model);
    const results: DriftReportDocument[] = [];
    const failures: { model: string; error: string }[] = [];
    for (const model of models) {
      try {
        const { document, events } = await runDriftJob(options, { model, windowMs: invocation.windowMs, now: invocation.now, kind: invocation.kind });
        logger.info('drift checked', {
          model,
          model_version: document.model_version,
          verdict: document.verdict,
          rows: document.rows,
          drift_score: document.drift_score,
          drifted_features: document.drifted_features,
          events: events.map((e) => e.detailType),
          retrain: document.retrain,
          report: document.report_keys.html,
        });
        results.push(document);
      } catch (error) {
        logger.error('drift check failed', { model, error: asError(error) });
        failures.push({ model, error: error instanceof Error ? error.message : String(error) });
      }
    }
    // A failed model fails the invocation, so Lambda retries it; the retry covers the same window (the event's time).
    if (failures.length > 0 && invocation.models === undefined && results.length === 0) {
      throw new Error(`drift check failed for ${failures.map((f) => f.model).join(', ')}`);
    }
    return { results, failures };
  }
}
