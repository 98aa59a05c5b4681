import { toErrorResponse } from '#core/api/errors.ts';
import { LOCAL_ROUTES, matchTemplate, type RouteSpec } from '#contracts/routes.ts';
import type { ApprovalStore } from '#core/pipeline/ports.ts';
import type { LocalBatchScoring } from './batch-scoring.ts';
import type { LocalPipeline } from './pipeline.ts';
import type { LocalEventBus } from './event-bus.ts';

/**
 * The local platform's own routes (`LOCAL_ROUTES` of contracts/routes.ts, which says what each does), for the CLI's
 * `--local` mode where AWS has its own APIs (Step Functions StartExecution, DescribeExecution, SendTaskSuccess; Lambda
 * Invoke). Ids are letters, digits, `_` and `-`; a path with another id is no route of these.
 */
/** What the admin routes use of the platform's drift monitoring (`LocalDrift` of local/platform.ts). */
export interface AdminDrift {
  run(input: Record<string, unknown>): Promise<unknown>;
  readonly bus: Pick<LocalEventBus, 'events'>;
}

export function localAdminRoutes(pipeline: LocalPipeline, approvals: ApprovalStore, drift?: AdminDrift, batch?: LocalBatchScoring) {
  return async ({ method, path, body }: { method: string; path: string; body: string }) => {
    try {
      const is = (route: RouteSpec): boolean => method === route.method && path === route.resource;
      /** The `{id}` of a route with one, when the path matches it. */
      const idOf = (route: RouteSpec): string | undefined => {
        const id = method === route.method ? matchTemplate(route.resource, path)?.['id'] : undefined;
        return id !== undefined && /^[\w-]+$/.test(id) ? id : undefined;
      };
      if (drift !== undefined && is(LOCAL_ROUTES.runDrift)) {
        const input = JSON.parse(body === '' ? '{}' : body) as Record<string, unknown>;
        return { status: 200, body: await drift.run({ kind: 'manual', ...input }) };
      }
      if (drift !== undefined && is(LOCAL_ROUTES.listEvents)) {
        return { status: 200, body: { events: drift.bus.events } };
      }
      if (is(LOCAL_ROUTES.startPipelineRun)) {
        const input = JSON.parse(body === '' ? '{}' : body) as Record<string, unknown>;
        const { run } = pipeline.start(input);
        return { status: 202, body: { run_id: run.run_id, status: run.status } };
      }
      if (batch !== undefined && is(LOCAL_ROUTES.startBatchJob)) {
        const input = JSON.parse(body === '' ? '{}' : body) as Record<string, unknown>;
        const { job } = batch.start(input);
        return { status: 202, body: { job_id: job.id, status: job.status } };
      }
      const jobId = idOf(LOCAL_ROUTES.describeBatchJob);
      if (batch !== undefined && jobId !== undefined) {
        const job = batch.get(jobId);
        if (job === undefined) return { status: 404, body: { error: { code: 'JOB_NOT_FOUND', message: `no batch job ${jobId}`, details: {} } } };
        return { status: 200, body: { ...job, events: batch.events.filter((e) => e.job === job.id) } };
      }
      const runId = idOf(LOCAL_ROUTES.describePipelineRun);
      if (runId !== undefined) {
        const run = pipeline.get(runId);
        if (run === undefined) return { status: 404, body: { error: { code: 'RUN_NOT_FOUND', message: `no run ${runId}`, details: {} } } };
        return { status: 200, body: { ...run, events: pipeline.events.filter((e) => e.run_id === run.run_id) } };
      }
      const id = idOf(LOCAL_ROUTES.decideApproval);
      if (id !== undefined) {
        const decision = JSON.parse(body === '' ? '{}' : body) as { approved?: unknown; by?: unknown; reason?: unknown };
        if (typeof decision.approved !== 'boolean') {
          return { status: 400, body: { error: { code: 'INVALID_BODY', message: '"approved" must be true or false', details: {} } } };
        }
        const request = await approvals.get(id);
        if (request === undefined) return { status: 404, body: { error: { code: 'APPROVAL_NOT_FOUND', message: `no approval ${id}`, details: {} } } };
        const decided = await approvals.decide(id, {
          approved: decision.approved,
          by: typeof decision.by === 'string' ? decision.by : 'unknown',
          reason: typeof decision.reason === 'string' ? decision.reason : '',
          at: new Date().toISOString(),
        });
        if (!decided) {
          return { status: 409, body: { error: { code: 'ALREADY_DECIDED', message: `approval ${id} was decided already (${request.status})`, details: {} } } };
        }
        return { status: 200, body: { id, model: request.model, run_id: request.run_id, approved: decision.approved } };
      }
      return undefined;
    } catch (error) {
      if (error instanceof SyntaxError) {
        return { status: 400, body: { error: { code: 'MALFORMED_JSON', message: 'the request body is not valid JSON', details: {} } } };
      }
      const { status, body: errorBody } = toErrorResponse(error);
      return { status, body: errorBody };
    }
  };
}
