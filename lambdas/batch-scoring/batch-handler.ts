import {
  asPlan,
  finalizeJob,
  planJob,
  scoreBatch,
  type BatchEvent,
  type BatchJobDeps,
  type BatchJobSummary,
  type CaughtError,
  type PartSummary,
} from '#core/batch/batch-job.ts';
import { RequestValidationError } from '#core/errors.ts';

/**
 * The batch scoring function's dispatch, without AWS: Step Functions invokes it with `{ "step": ... }` from
 * step-functions/batch-scoring.asl.json (the local platform calls the same function). Exported unwrapped for tests.
 */

/** What the handler reports, for metrics and logs. */
export interface BatchObserver {
  batchScored?(part: PartSummary, ms: number): void;
  jobFinished?(summary: BatchJobSummary): void;
}

export type BatchStepEvent =
  | { readonly step: 'plan'; readonly job: unknown }
  | { readonly step: 'score'; readonly batch: BatchEvent }
  | { readonly step: 'finalize'; readonly plan: unknown; readonly scored_by?: 'lambda' | 'sagemaker-batch-transform' }
  | { readonly step: 'fail'; readonly plan: unknown; readonly error?: CaughtError };

export function createBatchScoringHandler(deps: BatchJobDeps, observer: BatchObserver = {}): (event: BatchStepEvent) => Promise<unknown> {
  return async (event) => {
    switch (event.step) {
      case 'plan':
        return planJob(deps, event.job);
      case 'score': {
        const started = performance.now();
        const part = await scoreBatch(deps, event.batch);
        observer.batchScored?.(part, performance.now() - started);
        return part;
      }
      case 'finalize': {
        const summary = await finalizeJob(deps, asPlan(event.plan), { status: 'succeeded', ...(event.scored_by === undefined ? {} : { scoredBy: event.scored_by }) });
        observer.jobFinished?.(summary);
        return summary;
      }
      case 'fail': {
        const error = event.error ?? { Error: 'Error', Cause: '' };
        const plan = event.plan as { output?: unknown; job_id?: unknown } | null;
        // A job that failed before its plan existed has no output to write a manifest to: the summary says why.
        if (plan === null || typeof plan !== 'object' || typeof plan.output !== 'object' || plan.output === null || typeof plan.job_id !== 'string') {
          const request = (plan ?? {}) as Record<string, unknown>;
          const summary = {
            job_id: typeof request['job_id'] === 'string' ? request['job_id'] : 'unplanned',
            status: 'failed',
            model: typeof request['model'] === 'string' ? request['model'] : '',
            input: typeof request['input'] === 'string' ? request['input'] : '',
            output: typeof request['output'] === 'string' ? request['output'] : '',
            error: { error: error.Error ?? 'Error', cause: (error.Cause ?? '').slice(0, 2000) },
          };
          return summary;
        }
        const summary = await finalizeJob(deps, asPlan(plan), { status: 'failed', error });
        observer.jobFinished?.(summary);
        return summary;
      }
      default:
        throw new RequestValidationError('INVALID_BODY', `unknown batch step ${JSON.stringify((event as { step?: unknown }).step)}`, {});
    }
  };
}
