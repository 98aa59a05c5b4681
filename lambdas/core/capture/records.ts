/**
 * Prediction capture: what the predict route records about a served request, where it lands in
 * S3, and which requests are sampled. The same layout is written by Firehose in AWS (dynamic
 * partitioning) and by the local batch sink, and read back by the drift job.
 *
 * One record per scored instance, one JSON object per line:
 * `{"request_id","row","model","model_version","variant","consumer","captured_at","features",{"prediction"}}`.
 * Keys: `captures/model={model}/version={version}/date={YYYY-MM-DD}/hour={HH}/…` (UTC).
 * Feedback labels: `feedback/model={model}/date={YYYY-MM-DD}/hour={HH}/{sha256(request_id)}-{row}-{uuid}.json`, the id inside.
 */
import { createHash } from 'node:crypto';
import type { FeatureRow } from '#core/model/metadata.ts';

/** One captured prediction. */
export interface CaptureRecord {
  readonly request_id: string;
  /** Index of the instance in its request (0 for single-instance requests). */
  readonly row: number;
  readonly model: string;
  readonly model_version: number;
  /** `production` or `canary`: the drift job compares production's records with production's baseline. */
  readonly variant: string;
  /** The API consumer that called (`api.consumers`; `default` for the default key). Absent in records captured before consumers. */
  readonly consumer?: string;
  /** ISO 8601 UTC. */
  readonly captured_at: string;
  readonly features: FeatureRow;
  readonly prediction: { readonly label: string; readonly probability: number };
}

/** A ground-truth label sent later for a captured request (`POST /v1/models/{model}/feedback`). */
export interface FeedbackRecord {
  readonly request_id: string;
  readonly row: number;
  readonly model: string;
  readonly label: string;
  readonly received_at: string;
}

export const CAPTURE_PREFIX = 'captures/';
export const FEEDBACK_PREFIX = 'feedback/';
export const DRIFT_REPORT_PREFIX = 'drift-reports/';

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** `YYYY-MM-DD` and `HH` of an instant, in UTC. */
export function datePartition(at: Date): { date: string; hour: string } {
  return {
    date: `${at.getUTCFullYear()}-${pad(at.getUTCMonth() + 1)}-${pad(at.getUTCDate())}`,
    hour: pad(at.getUTCHours()),
  };
}

/** The S3 prefix of one model version's captures in one UTC hour. */
export function capturePartitionPrefix(model: string, version: number, at: Date): string {
  const { date, hour } = datePartition(at);
  return `${CAPTURE_PREFIX}model=${model}/version=${version}/date=${date}/hour=${hour}/`;
}

/** The S3 prefix of one model's feedback in one UTC hour. */
export function feedbackPartitionPrefix(model: string, at: Date): string {
  const { date, hour } = datePartition(at);
  return `${FEEDBACK_PREFIX}model=${model}/date=${date}/hour=${hour}/`;
}

/** The start of every UTC hour that overlaps [from, to). */
export function hoursBetween(from: Date, to: Date): Date[] {
  const hours: Date[] = [];
  const start = new Date(from);
  start.setUTCMinutes(0, 0, 0);
  for (let t = start.getTime(); t < to.getTime(); t += 3_600_000) hours.push(new Date(t));
  return hours;
}

/**
 * Whether a request is captured at `rate` (0 … 1). Deterministic in the request id, so a retried
 * request is captured (or not) the same way, and a rate of 1 captures everything.
 */
export function isSampled(requestId: string, rate: number): boolean {
  if (rate >= 1) return true;
  if (rate <= 0) return false;
  const bucket = createHash('sha256').update(requestId).digest().readUInt32BE(0) / 0x1_0000_0000;
  return bucket < rate;
}

/** The records of one served request: one per instance, in request order. */
export function captureRecords(input: {
  readonly requestId: string;
  readonly model: string;
  readonly modelVersion: number;
  readonly variant: string;
  readonly consumer?: string;
  readonly at: Date;
  readonly instances: readonly FeatureRow[];
  readonly predictions: readonly { readonly label: string; readonly probability: number }[];
}): CaptureRecord[] {
  const capturedAt = input.at.toISOString();
  return input.instances.map((features, row) => ({
    request_id: input.requestId,
    row,
    model: input.model,
    model_version: input.modelVersion,
    variant: input.variant,
    ...(input.consumer === undefined ? {} : { consumer: input.consumer }),
    captured_at: capturedAt,
    features,
    prediction: input.predictions[row] ?? { label: '', probability: Number.NaN },
  }));
}

/** Parses JSON lines, skipping blank lines; a line that is not a capture record is counted, not thrown. */
export function parseCaptureLines(text: string): { records: CaptureRecord[]; invalid: number } {
  const records: CaptureRecord[] = [];
  let invalid = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const value = JSON.parse(line) as Partial<CaptureRecord>;
      if (
        typeof value.request_id === 'string' &&
        typeof value.model_version === 'number' &&
        typeof value.captured_at === 'string' &&
        typeof value.features === 'object' &&
        value.features !== null &&
        typeof value.prediction?.probability === 'number'
      ) {
        records.push({ ...value, row: typeof value.row === 'number' ? value.row : 0 } as CaptureRecord);
      } else {
        invalid++;
      }
    } catch {
      invalid++;
    }
  }
  return { records, invalid };
}

/** Records as JSON lines (each line ends with a newline, as Firehose expects for newline-delimited output). */
export function toJsonLines(records: readonly object[]): string {
  return records.map((r) => `${JSON.stringify(r)}\n`).join('');
}
