import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import { asError } from '#core/errors.ts';
import type { GateDecision } from '#core/pipeline/gate.ts';
import { TransientError, type PipelineSteps } from '#core/pipeline/steps.ts';
import { METRIC_DIMENSIONS, PIPELINE_METRICS } from '#contracts/metrics.ts';

/**
 * The training pipeline's handler, as a factory of its dependencies: the Lambda entry (handler.ts) gives it the
 * AWS-backed steps and an SNS notifier, the local platform (local/pipeline.ts) gives it the local ones. Both run this
 * code, so what the ASL relies on (the SDK-error to `TransientError` mapping its `Retry` matches, the approval
 * notice, the step metrics) is the same in AWS and on this machine.
 */

/** The event Step Functions passes to each Task state: `{ "step": "...", ... }` (step-functions/training-pipeline.asl.json). */
export interface PipelineEvent {
  readonly step: string;
  readonly [key: string]: unknown;
}

export type PipelineHandler = (event: PipelineEvent) => Promise<unknown>;

/** The notice a person gets when a candidate waits for their approval. */
export interface ApprovalNotice {
  readonly runId: string;
  readonly model: string;
  readonly approvalId: string;
}

/** Sends the approval notice (SNS in AWS, the local event log on this machine). */
export interface ApprovalNotifier {
  approvalRequested(notice: ApprovalNotice): Promise<void>;
}

/** The subject and text of the approval notice; `cli` is how the reader runs the CLI (`mlops`, `npx mlops --local`). */
export function approvalNoticeText(notice: ApprovalNotice, cli = 'mlops'): { readonly subject: string; readonly message: string } {
  return {
    subject: 'serverless-mlops: approval requested',
    message: `training run ${notice.runId} of model ${notice.model} waits for approval: ${cli} approve ${notice.approvalId} (or ${cli} reject ${notice.approvalId})`,
  };
}

export interface PipelineHandlerDependencies {
  /** Runs one step (`PipelineSteps`, possibly wrapped by a test). */
  readonly steps: Pick<PipelineSteps, 'dispatch'>;
  /** Where the approval notice goes; none: no notice (no topic configured). */
  readonly notifier?: ApprovalNotifier | undefined;
  readonly logger: Pick<Logger, 'appendKeys' | 'removeKeys' | 'info' | 'error'>;
  readonly metrics: Pick<Metrics, 'addDimension' | 'addMetric'>;
}

/** SDK errors the service marks retryable, throttling and 5xx: the ASL retries these (as `TransientError`). */
export function isTransient(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const sdk = error as Error & { $retryable?: unknown; $metadata?: { httpStatusCode?: number } };
  const status = sdk.$metadata?.httpStatusCode ?? 0;
  return sdk.$retryable !== undefined || status >= 500 || /Throttl|TooManyRequests|SlowDown|RequestTimeout/.test(error.name);
}

/** The pipeline's handler: runs the step, measures it, sends the approval notice, maps transient failures. */
export function createPipelineHandler(deps: PipelineHandlerDependencies): PipelineHandler {
  const { steps, notifier, logger, metrics } = deps;
  return async (event) => {
    const run = event.run as { model?: string; run_id?: string } | undefined;
    logger.appendKeys({ step: event.step, model: run?.model, run_id: run?.run_id });
    metrics.addDimension(METRIC_DIMENSIONS.step, event.step);
    const started = performance.now();
    try {
      const result = await steps.dispatch(event);
      metrics.addMetric(PIPELINE_METRICS.stepDuration, MetricUnit.Milliseconds, performance.now() - started);
      if (event.step === 'gate') {
        metrics.addMetric((result as GateDecision).passed ? PIPELINE_METRICS.gatePassed : PIPELINE_METRICS.gateFailed, MetricUnit.Count, 1);
      }
      if (event.step === 'promote') metrics.addMetric(PIPELINE_METRICS.modelsPromoted, MetricUnit.Count, 1);
      if (event.step === 'record_failure') metrics.addMetric(PIPELINE_METRICS.failures, MetricUnit.Count, 1);
      if (event.step === 'request_approval' && notifier !== undefined) {
        const { approval_id: approvalId } = result as { approval_id: string };
        await notifier.approvalRequested({ runId: run?.run_id ?? '', model: run?.model ?? '', approvalId });
      }
      logger.info('pipeline step done', { ms: Math.round(performance.now() - started) });
      return result;
    } catch (error) {
      const failure = asError(error);
      logger.error('pipeline step failed', { error: failure });
      metrics.addMetric(PIPELINE_METRICS.stepErrors, MetricUnit.Count, 1);
      if (isTransient(error)) throw new TransientError(failure.message, { cause: error });
      throw error;
    } finally {
      logger.removeKeys(['step', 'model', 'run_id']);
    }
  };
}
