/**
 * The events the drift job puts on the default EventBridge bus. `RetrainRequested` is the event the
 * training pipeline's retrain rule listens to (lib/constructs/training-pipeline.ts spells the same
 * source and detail type; test/core/drift/job.test.ts checks they agree); its detail is the run input.
 */

export const DRIFT_EVENT_SOURCE = 'serverless-mlops.drift';

export const DRIFT_DETAIL_TYPES = {
  /** Warning or critical drift of a model's inputs or predictions. */
  driftDetected: 'DriftDetected',
  /** Live accuracy or ROC AUC (from feedback) fell more than the margin below the holdout metric. */
  performanceDegraded: 'PerformanceDegraded',
  /** Starts a training run (critical drift, once per cooldown). */
  retrainRequested: 'RetrainRequested',
} as const;

export type DriftDetailType = (typeof DRIFT_DETAIL_TYPES)[keyof typeof DRIFT_DETAIL_TYPES];

export interface DriftEvent {
  readonly detailType: DriftDetailType;
  readonly detail: Readonly<Record<string, unknown>>;
}

/** Puts events on the bus; throws when one could not be put after the adapter's retries. */
export interface DriftEventPublisher {
  publish(events: readonly DriftEvent[]): Promise<void>;
}
