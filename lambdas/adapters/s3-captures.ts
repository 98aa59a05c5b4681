import { createHash, randomUUID } from 'node:crypto';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { CaptureReader, CaptureSink, FeedbackSink } from '#core/capture/ports.ts';
import {
  type CaptureRecord,
  type FeedbackRecord,
  capturePartitionPrefix,
  feedbackPartitionPrefix,
  hoursBetween,
  parseCaptureLines,
  toJsonLines,
} from '#core/capture/records.ts';
import type { Reservoir } from '#core/data/random.ts';
import type { ReportWriter } from '#core/drift/job.ts';

/**
 * The capture bucket through an injected S3 client: reading captures and feedback back by their
 * hourly partitions, writing feedback labels and drift reports. `S3BatchCaptureSink` is the local
 * stand-in for Firehose: it buffers records and writes them in batches to the same partitions.
 */
export class S3CaptureStore implements CaptureReader, FeedbackSink, ReportWriter {
  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
  ) {}

  async readCaptures(model: string, version: number, from: Date, to: Date, sample?: Reservoir<CaptureRecord>): Promise<CaptureRecord[]> {
    const records: CaptureRecord[] = [];
    const keep = sample === undefined ? (record: CaptureRecord) => void records.push(record) : (record: CaptureRecord) => sample.offer(record);
    // Object by object (every page of every hourly partition): only the sample is held, never the whole window.
    for (const hour of hoursBetween(from, to)) {
      for (const key of await this.keys(capturePartitionPrefix(model, version, hour))) {
        for (const record of parseCaptureLines(await this.getText(key)).records) {
          const at = Date.parse(record.captured_at);
          if (at >= from.getTime() && at < to.getTime()) keep(record);
        }
      }
    }
    return sample === undefined ? records : sample.items;
  }

  async readFeedback(model: string, from: Date, to: Date): Promise<FeedbackRecord[]> {
    const out: FeedbackRecord[] = [];
    for (const hour of hoursBetween(from, to)) {
      for (const key of await this.keys(feedbackPartitionPrefix(model, hour))) {
        for (const line of (await this.getText(key)).split('\n')) {
          if (line.trim() === '') continue;
          try {
            const value = JSON.parse(line) as FeedbackRecord;
            if (typeof value.request_id === 'string' && typeof value.label === 'string') out.push(value);
          } catch {
            // A torn or foreign object is not feedback.
          }
        }
      }
    }
    return out;
  }

  /**
   * One object per label. Its key holds the sha256 (hex) of the request id, never the id itself: an id may be 200
   * characters of anything (`€`, `../`), which would make a key past S3's 1,024-byte limit or a local file name past
   * 255 bytes. The id is inside the object, which is what the drift job reads.
   */
  async putFeedback(record: FeedbackRecord): Promise<void> {
    const key = `${feedbackPartitionPrefix(record.model, new Date(record.received_at))}${feedbackObjectName(record)}`;
    await this.putText(key, `${JSON.stringify(record)}\n`, 'application/json');
  }

  async putText(key: string, text: string, contentType: string): Promise<void> {
    await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: text, ContentType: contentType }));
  }

  async getText(key: string): Promise<string> {
    const { Body } = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    return Body === undefined ? '' : Body.transformToString('utf8');
  }

  /** Every key under `prefix`, ascending. */
  async keys(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }));
      for (const object of page.Contents ?? []) if (object.Key !== undefined) keys.push(object.Key);
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    return keys.sort();
  }
}

/** `{sha256(request_id)}-{row}-{uuid}.json`: 64 hex characters whatever the id, unique per post. */
export function feedbackObjectName(record: FeedbackRecord): string {
  return `${createHash('sha256').update(record.request_id, 'utf8').digest('hex')}-${record.row}-${randomUUID()}.json`;
}

export interface S3BatchCaptureSinkOptions {
  /** Start a flush (in the background) when this many records are buffered. @default 500 */
  readonly maxRecords?: number;
  /** Flush at least this often. @default 1000 */
  readonly flushIntervalMs?: number;
  /**
   * Most records held while writes fail or lag (S3 down); records beyond it are dropped and counted, never queued
   * without end. @default 50000
   */
  readonly maxBufferedRecords?: number;
  /** Told about a failed flush (its records stay buffered and are retried on the next flush). */
  readonly onFlushError?: (error: unknown, records: number) => void;
  /** Told about records dropped because the buffer was full. */
  readonly onDrop?: (records: number) => void;
}

/**
 * Local Firehose: buffers capture records and writes each partition's records as one JSON-lines
 * object, `{partition}{time}-{uuid}.jsonl`. `put` never waits for a write: a full batch starts a flush in the
 * background, so a request never pays for S3. A failed write keeps its records buffered for the next flush; the
 * buffer is bounded (`maxBufferedRecords`) and what does not fit is dropped and counted (`dropped`, `onDrop`).
 * `close` flushes what is left.
 */
export class S3BatchCaptureSink implements CaptureSink {
  private buffer: CaptureRecord[] = [];
  private flushing: Promise<void> | undefined;
  private readonly timer: NodeJS.Timeout;
  private droppedRecords = 0;

  constructor(
    private readonly store: S3CaptureStore,
    private readonly options: S3BatchCaptureSinkOptions = {},
  ) {
    this.timer = setInterval(() => void this.flush().catch(() => undefined), options.flushIntervalMs ?? 1000);
    this.timer.unref();
  }

  /** Records waiting for the next flush. */
  get pending(): number {
    return this.buffer.length;
  }

  /** Records dropped since the start because the buffer was full. */
  get dropped(): number {
    return this.droppedRecords;
  }

  /** Buffers the records (or drops what does not fit) and returns at once. */
  put(records: readonly CaptureRecord[]): Promise<void> {
    const room = Math.max(0, (this.options.maxBufferedRecords ?? 50_000) - this.buffer.length);
    const kept = records.length <= room ? records : records.slice(0, room);
    for (const record of kept) this.buffer.push(record);
    if (kept.length < records.length) {
      this.droppedRecords += records.length - kept.length;
      this.options.onDrop?.(records.length - kept.length);
    }
    if (this.flushing === undefined && this.buffer.length >= (this.options.maxRecords ?? 500)) void this.flush().catch(() => undefined);
    return Promise.resolve();
  }

  /** Writes everything buffered; rejects (keeping the records) when a write fails. */
  async flush(): Promise<void> {
    while (this.flushing !== undefined) await this.flushing.catch(() => undefined);
    if (this.buffer.length === 0) return;
    const batch = this.buffer;
    this.buffer = [];
    this.flushing = this.write(batch);
    try {
      await this.flushing;
    } catch (error) {
      // Back in front of what came since, within the bound: the oldest are kept, the overflow is counted.
      const merged = [...batch, ...this.buffer];
      const limit = this.options.maxBufferedRecords ?? 50_000;
      if (merged.length > limit) {
        this.droppedRecords += merged.length - limit;
        this.options.onDrop?.(merged.length - limit);
      }
      this.buffer = merged.slice(0, limit);
      this.options.onFlushError?.(error, batch.length);
      throw error;
    } finally {
      this.flushing = undefined;
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  private async write(batch: readonly CaptureRecord[]): Promise<void> {
    const partitions = new Map<string, CaptureRecord[]>();
    for (const record of batch) {
      const prefix = capturePartitionPrefix(record.model, record.model_version, new Date(record.captured_at));
      const list = partitions.get(prefix) ?? [];
      list.push(record);
      partitions.set(prefix, list);
    }
    const stamp = new Date().toISOString().replace(/[-:.]/g, '');
    for (const [prefix, records] of partitions) {
      await this.store.putText(`${prefix}${stamp}-${randomUUID()}.jsonl`, toJsonLines(records), 'application/x-ndjson');
    }
  }
}
