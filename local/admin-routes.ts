import { toErrorResponse } from '#core/api/errors.ts';
import type { ApprovalStore } from '#core/pipeline/ports.ts';
import type { LocalBatchScoring } from './batch-scoring.ts';
import type { LocalPipeline } from './pipeline.ts';
import type { LocalDrift } from './platform.ts';

/**
 * The local platform's own routes, for the CLI's `--local` mode where AWS has its own APIs
 * (Step Functions StartExecution, DescribeExecution, SendTaskSuccess):
 *
 * - `POST /local/v1/pipeline/runs` starts a training run (body: the execution input);
 * - `GET /local/v1/pipeline/runs/{id}` its status, progress, output and events;
 * - `POST /local/v1/approvals/{id}` decides an approval (`{"approved", "by", "reason"}`);
 * - `POST /local/v1/drift/runs` runs the drift job (body: its input, e.g. `{"model": "credit", "window": "1h"}`),
 *   as Lambda Invoke would; `GET /local/v1/events` lists the events the drift job put on the local bus;
 * - `POST /local/v1/batch/jobs` starts a batch scoring job (body: `{"model", "version"?, "input", "output"}` with
 *   s3:// URIs in the local batch bucket); `GET /local/v1/batch/jobs/{id}` its status, progress, output and events.
 */
export function localAdminRoutes(pipeline: LocalPipeline, approvals: ApprovalStore, drift?: LocalDrift, batch?: LocalBatchScoring) {
  return async ({ method, path, body }: { method: string; path: string; body: string }) => {
    try {
      if (drift !== undefined && method === 'POST' && path === '/local/v1/drift/runs') {
        const input = JSON.parse(body === '' ? '{}' : body) as Record<string, unknown>;
        return { status: 200, body: await drift.run({ kind: 'manual', ...input }) };
      }
      if (drift !== undefined && method === 'GET' && path === '/local/v1/events') {
        return { status: 200, body: { events: drift.bus.events } };
      }
      if (method === 'POST' && path === '/local/v1/pipeline/runs') {
        const input = JSON.parse(body === '' ? '{}' : body) as Record<string, unknown>;
        const { run } = pipeline.start(input);
        return { status: 202, body: { run_id: run.run_id, status: run.status } };
      }
      if (batch !== undefined && method === 'POST' && path === '/local/v1/batch/jobs') {
        const input = JSON.parse(body === '' ? '{}' : body) as Record<string, unknown>;
        const { job } = batch.start(input);
        return { status: 202, body: { job_id: job.id, status: job.status } };
      }
      const jobMatch = /^\/local\/v1\/batch\/jobs\/([\w-]+)$/.exec(path);
      if (batch !== undefined && method === 'GET' && jobMatch?.[1] !== undefined) {
        const job = batch.get(jobMatch[1]);
        if (job === undefined) return { status: 404, body: { error: { code: 'JOB_NOT_FOUND', message: `no batch job ${jobMatch[1]}`, details: {} } } };
        return { status: 200, body: { ...job, events: batch.events.filter((e) => e.job === job.id) } };
      }
      const runMatch = /^\/local\/v1\/pipeline\/runs\/([\w-]+)$/.exec(path);
      if (method === 'GET' && runMatch?.[1] !== undefined) {
        const run = pipeline.get(runMatch[1]);
        if (run === undefined) return { status: 404, body: { error: { code: 'RUN_NOT_FOUND', message: `no run ${runMatch[1]}`, details: {} } } };
        return { status: 200, body: { ...run, events: pipeline.events.filter((e) => e.run_id === run.run_id) } };
      }
      const approvalMatch = /^\/local\/v1\/approvals\/(\w+)$/.exec(path);
      if (method === 'POST' && approvalMatch?.[1] !== undefined) {
        const id = approvalMatch[1];
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
