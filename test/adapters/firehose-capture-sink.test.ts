import { FirehoseClient, PutRecordBatchCommand } from '@aws-sdk/client-firehose';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { CaptureDeliveryError, FIREHOSE_MAX_BATCH_RECORDS, FirehoseCaptureSink } from '#adapters/firehose-capture-sink.ts';
import { captureRecords, type CaptureRecord } from '#core/capture/records.ts';

/**
 * The Firehose sink's fault paths, injected with aws-sdk-client-mock (there is no local Firehose server; the
 * deployed stream is checked by the infra tests). PutRecordBatch answers 200 while failing single records:
 * those must be retried, and what still fails must come back to the caller with the records, never be dropped.
 */

const client = new FirehoseClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
const firehose = mockClient(client);

afterEach(() => {
  firehose.reset();
});

function records(count: number, requestId = 'req-1'): CaptureRecord[] {
  return captureRecords({
    requestId,
    model: 'credit',
    modelVersion: 3,
    variant: 'production',
    at: new Date('2026-12-01T08:00:00Z'),
    instances: Array.from({ length: count }, (_, i) => ({ Income: 100 + i, Home: 'rent' })),
    predictions: Array.from({ length: count }, () => ({ label: 'good', probability: 0.2 })),
  });
}

const sent = (call: number): CaptureRecord[] => {
  const input = firehose.commandCalls(PutRecordBatchCommand)[call]?.args[0].input;
  return (input?.Records ?? []).map((r) => JSON.parse(Buffer.from(r.Data as Uint8Array).toString('utf8')) as CaptureRecord);
};

describe('FirehoseCaptureSink', () => {
  it('sends one JSON line per record to the stream, in batches of at most 500', async () => {
    firehose.on(PutRecordBatchCommand).resolves({ FailedPutCount: 0, RequestResponses: [] });
    const all = records(FIREHOSE_MAX_BATCH_RECORDS + 20);
    await new FirehoseCaptureSink(client, 'capture-stream').put(all);

    const calls = firehose.commandCalls(PutRecordBatchCommand);
    expect(calls.map((c) => c.args[0].input.Records?.length)).toEqual([500, 20]);
    expect(calls[0]?.args[0].input.DeliveryStreamName).toBe('capture-stream');
    const line = Buffer.from(calls[0]?.args[0].input.Records?.[0]?.Data as Uint8Array).toString('utf8');
    // Newline-terminated, so the objects Firehose concatenates stay one record per line.
    expect(line.endsWith('\n')).toBe(true);
    expect([...sent(0), ...sent(1)]).toEqual(all);
  });

  it('retries only the records a call failed, then succeeds', async () => {
    const batch = records(3);
    firehose
      .on(PutRecordBatchCommand)
      .resolvesOnce({
        FailedPutCount: 2,
        RequestResponses: [{ ErrorCode: 'ServiceUnavailableException', ErrorMessage: 'slow down' }, { RecordId: 'ok-1' }, { ErrorCode: 'InternalFailure' }],
      })
      .resolvesOnce({ FailedPutCount: 0, RequestResponses: [{ RecordId: 'ok-2' }, { RecordId: 'ok-3' }] });

    await new FirehoseCaptureSink(client, 'capture-stream', { baseDelayMs: 0 }).put(batch);

    expect(firehose.commandCalls(PutRecordBatchCommand)).toHaveLength(2);
    expect(sent(1)).toEqual([batch[0], batch[2]]);
  });

  it('throws the records still failing after every attempt, with their error codes', async () => {
    const batch = records(2);
    firehose.on(PutRecordBatchCommand).callsFake((input: { Records: unknown[] }) => ({
      FailedPutCount: 1,
      RequestResponses: input.Records.map((_, i) => (i === input.Records.length - 1 ? { ErrorCode: 'ServiceUnavailableException' } : { RecordId: `ok-${i}` })),
    }));

    const error = await new FirehoseCaptureSink(client, 'capture-stream', { maxAttempts: 3, baseDelayMs: 0 }).put(batch).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(CaptureDeliveryError);
    const delivery = error as CaptureDeliveryError;
    // The first call delivered record 0; records 1 failed three times.
    expect(firehose.commandCalls(PutRecordBatchCommand).map((c) => c.args[0].input.Records?.length)).toEqual([2, 1, 1]);
    expect(delivery.failed).toEqual([batch[1]]);
    expect(delivery.errorCodes).toEqual(['ServiceUnavailableException']);
    expect(delivery.message).toBe('1 of 2 capture records were not delivered to capture-stream (ServiceUnavailableException)');
  });

  it('lets a failed call (after the SDK retries) reach the caller', async () => {
    firehose.on(PutRecordBatchCommand).rejects(Object.assign(new Error('Firehose capture-stream not found'), { name: 'ResourceNotFoundException' }));
    await expect(new FirehoseCaptureSink(client, 'capture-stream').put(records(1))).rejects.toThrow('Firehose capture-stream not found');
  });
});
