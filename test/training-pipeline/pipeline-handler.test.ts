import { S3ServiceException } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { TransientError } from '#core/pipeline/steps.ts';
import {
  approvalNoticeText,
  createPipelineHandler,
  isTransient,
  type ApprovalNotice,
  type PipelineEvent,
} from '../../lambdas/training-pipeline/pipeline-handler.ts';

/** A handler over a fake step runner, with a logger and metrics that keep what they were given. */
function handlerWith(dispatch: (event: PipelineEvent) => Promise<unknown>, notices: ApprovalNotice[] = []) {
  const metrics: { name: string; value: number }[] = [];
  const errors: unknown[] = [];
  const handler = createPipelineHandler({
    steps: { dispatch: (event) => dispatch(event as PipelineEvent) },
    notifier: { approvalRequested: async (notice) => void notices.push(notice) },
    logger: { appendKeys: () => undefined, removeKeys: () => undefined, info: () => undefined, error: (_message, ...extra) => void errors.push(extra[0]) },
    metrics: { addDimension: () => undefined, addMetric: (name: string, _unit: unknown, value: number) => void metrics.push({ name, value }) } as never,
  });
  return { handler, metrics, errors };
}

const run = { model: 'credit', run_id: 'r-1' };

describe('createPipelineHandler', () => {
  it('runs the step and counts a passed gate', async () => {
    const { handler, metrics } = handlerWith(async () => ({ passed: true, reasons: [] }));
    await expect(handler({ step: 'gate', run })).resolves.toEqual({ passed: true, reasons: [] });
    expect(metrics.map((m) => m.name)).toEqual(['PipelineStepDuration', 'GatePassed']);
  });

  it('sends the approval notice with the run, the model and the approval id', async () => {
    const notices: ApprovalNotice[] = [];
    const { handler } = handlerWith(async () => ({ approval_id: 'a-9' }), notices);
    await handler({ step: 'request_approval', run });
    expect(notices).toEqual([{ runId: 'r-1', model: 'credit', approvalId: 'a-9' }]);
    expect(approvalNoticeText(notices[0] as ApprovalNotice).message).toBe(
      'training run r-1 of model credit waits for approval: mlops approve a-9 (or mlops reject a-9)',
    );
  });

  it('maps a throttled or 5xx SDK error to TransientError (what the ASL retries), keeping the cause', async () => {
    const slowDown = new S3ServiceException({ name: 'SlowDown', $fault: 'server', $metadata: { httpStatusCode: 503 }, message: 'Please reduce your request rate.' });
    const { handler, metrics } = handlerWith(async () => Promise.reject(slowDown));
    const error = await handler({ step: 'validate', run }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TransientError);
    expect(error).toMatchObject({ name: 'TransientError', message: 'Please reduce your request rate.', cause: slowDown });
    expect(metrics.map((m) => m.name)).toEqual(['PipelineStepErrors']);
  });

  it('lets other errors through unchanged (a bad dataset is no reason to retry)', async () => {
    const bad = new Error('column Status is missing');
    const { handler } = handlerWith(async () => Promise.reject(bad));
    await expect(handler({ step: 'validate', run })).rejects.toBe(bad);
  });

  it('logs a thrown non-error as an error', async () => {
    const { handler, errors } = handlerWith(async () => Promise.reject('boom'));
    await expect(handler({ step: 'train', run })).rejects.toBe('boom');
    expect(errors).toEqual([{ error: new Error('boom') }]);
  });
});

describe('isTransient', () => {
  it.each([
    [Object.assign(new Error('x'), { name: 'ThrottlingException' }), true],
    [Object.assign(new Error('x'), { $metadata: { httpStatusCode: 500 } }), true],
    [Object.assign(new Error('x'), { $retryable: { throttling: true } }), true],
    [Object.assign(new Error('x'), { $metadata: { httpStatusCode: 404 }, name: 'NoSuchKey' }), false],
    ['SlowDown', false],
  ])('%o -> %s', (error, transient) => {
    expect(isTransient(error)).toBe(transient);
  });
});
