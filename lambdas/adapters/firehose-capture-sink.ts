import { type FirehoseClient, PutRecordBatchCommand, type _Record } from '@aws-sdk/client-firehose';
import type { CaptureSink } from '#core/capture/ports.ts';
import { type CaptureRecord, toJsonLines } from '#core/capture/records.ts';

/** Some records could not be delivered after every retry: the caller must log them (they are attached). */
export class CaptureDeliveryError extends Error {
  override readonly name = 'CaptureDeliveryError';
  constructor(
    message: string,
    readonly failed: readonly CaptureRecord[],
    readonly errorCodes: readonly string[],
  ) {
    super(message);
  }
}

/** PutRecordBatch limits: 500 records and 4 MiB per call. */
export const FIREHOSE_MAX_BATCH_RECORDS = 500;
export const FIREHOSE_MAX_BATCH_BYTES = 4 * 1024 * 1024;

export interface FirehoseCaptureSinkOptions {
  /** Attempts for the records a call reports as failed (the SDK retries whole calls on its own). @default 3 */
  readonly maxAttempts?: number;
  /** Pause before the first retry, doubled each time. @default 50 */
  readonly baseDelayMs?: number;
}

/**
 * Sends captures to a Firehose delivery stream, one JSON line per record (the stream's dynamic
 * partitioning reads `model` and `model_version` from them). PutRecordBatch succeeds as a call while
 * failing single records (`FailedPutCount`, per-record `ErrorCode`): those records are retried with
 * backoff, and what still fails is thrown as {@link CaptureDeliveryError} with the records.
 */
export class FirehoseCaptureSink implements CaptureSink {
  constructor(
    private readonly client: FirehoseClient,
    private readonly streamName: string,
    private readonly options: FirehoseCaptureSinkOptions = {},
  ) {}

  async put(records: readonly CaptureRecord[]): Promise<void> {
    const failed: CaptureRecord[] = [];
    const codes = new Set<string>();
    for (const batch of batches(records)) {
      const result = await this.putBatch(batch);
      failed.push(...result.failed);
      for (const code of result.codes) codes.add(code);
    }
    if (failed.length > 0) {
      throw new CaptureDeliveryError(
        `${failed.length} of ${records.length} capture records were not delivered to ${this.streamName} (${[...codes].join(', ')})`,
        failed,
        [...codes],
      );
    }
  }

  private async putBatch(batch: readonly CaptureRecord[]): Promise<{ failed: CaptureRecord[]; codes: string[] }> {
    const maxAttempts = this.options.maxAttempts ?? 3;
    let pending = [...batch];
    let codes: string[] = [];
    for (let attempt = 1; attempt <= maxAttempts && pending.length > 0; attempt++) {
      if (attempt > 1) await sleep((this.options.baseDelayMs ?? 50) * 2 ** (attempt - 2));
      const entries: _Record[] = pending.map((r) => ({ Data: Buffer.from(toJsonLines([r]), 'utf8') }));
      const response = await this.client.send(new PutRecordBatchCommand({ DeliveryStreamName: this.streamName, Records: entries }));
      if ((response.FailedPutCount ?? 0) === 0) return { failed: [], codes: [] };
      const responses = response.RequestResponses ?? [];
      const retry: CaptureRecord[] = [];
      codes = [];
      pending.forEach((record, i) => {
        const code = responses[i]?.ErrorCode;
        if (code !== undefined && code !== null) {
          retry.push(record);
          codes.push(code);
        }
      });
      pending = retry;
    }
    return { failed: pending, codes };
  }
}

function* batches(records: readonly CaptureRecord[]): Generator<CaptureRecord[]> {
  let batch: CaptureRecord[] = [];
  let bytes = 0;
  for (const record of records) {
    const size = Buffer.byteLength(JSON.stringify(record), 'utf8') + 1;
    if (batch.length > 0 && (batch.length >= FIREHOSE_MAX_BATCH_RECORDS || bytes + size > FIREHOSE_MAX_BATCH_BYTES)) {
      yield batch;
      batch = [];
      bytes = 0;
    }
    batch.push(record);
    bytes += size;
  }
  if (batch.length > 0) yield batch;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
