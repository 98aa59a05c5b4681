/**
 * Batch scoring: the steps of step-functions/batch-scoring.asl.json, free of AWS.
 *
 * - `plan` fixes the job: the model version (production when none is given) with its artifact sha256, the input
 *   objects under the input prefix (CSV or JSON lines), the output prefix.
 * - `score` runs once per batch of the Distributed Map: the rows go through the serving core's predict path
 *   (validation, encoding, one session run, the version's threshold); scored rows are written beside their input
 *   columns, refused rows to an errors part with their line and code, and the batch's counts to a part summary. A bad
 *   row never fails the job; a batch whose refused share is above the tolerated percentage is reported as a failed
 *   item (after its parts are written), so that the map's tolerated failure percentage stops a mostly wrong input.
 * - `finalize` (and `fail`) add the part summaries into the manifest, merge the errors parts into one errors file,
 *   and return the summary the events carry.
 *
 * Output layout under the output prefix: `scored/{object}/part-{line}.{csv|jsonl}`, `errors/{object}/part-{line}.csv`
 * (merged into `errors.csv`), `_parts/{object}/{line}.json`, `manifest.json`.
 */
import { RequestValidationError } from '#core/errors.ts';
import { isMissingCell } from '#core/data/table.ts';
import type { BatchScores, ResolvedVersion, RowScore } from '#core/serving/model-service.ts';

/** The input formats the Distributed Map's ItemReader reads. */
export type InputFormat = 'csv' | 'jsonl';

/** Where a job reads or writes: one bucket and a key prefix (empty, or ending in `/`). */
export interface S3Location {
  readonly bucket: string;
  readonly prefix: string;
  readonly uri: string;
}

/** One input object of a job, in listing order. */
export interface InputObject {
  readonly index: number;
  readonly key: string;
  readonly format: InputFormat;
  readonly size: number;
  /** The object's name in output keys: `{index:05d}-{basename without extension}`. */
  readonly name: string;
}

/** A feature of the version's input schema, enough to read CSV strings as its values. */
export interface FeatureType {
  readonly name: string;
  readonly type: 'numeric' | 'categorical';
}

/** The state the state machine carries after `plan`. */
export interface BatchPlan {
  readonly job_id: string;
  readonly model: string;
  readonly model_version: number;
  readonly artifact_sha256: string;
  /** `lambda`: batches scored by the batch function; `sagemaker`: the version's endpoint model, by Batch Transform. */
  readonly serving: 'lambda' | 'sagemaker';
  readonly endpoint_name: string | null;
  /** A SageMaker transform job name for this job (63 characters at most). */
  readonly transform_job_name: string;
  readonly features: readonly FeatureType[];
  readonly input: S3Location;
  readonly output: S3Location;
  readonly objects: readonly InputObject[];
  readonly object_count: number;
  /** Keys under the input prefix that are neither CSV nor JSON lines, left out. */
  readonly skipped: readonly string[];
  /** The loop over objects: the index of the next one. */
  readonly cursor: { readonly index: number };
  /** How the Distributed Map runs (its `…Path` fields read these). */
  readonly batching: BatchingSettings;
  readonly requested_by: string;
  readonly started_at: string;
}

/** The Distributed Map's settings, from the deployment config (`batch`). */
export interface BatchingSettings {
  /** Rows per child execution (one Lambda invocation, one session run). */
  readonly max_items_per_batch: number;
  /** Child executions at once. */
  readonly max_concurrency: number;
  /**
   * The share of failed batches the map tolerates, and the share of refused rows above which a batch counts as
   * failed: a mostly wrong input stops the job, a few bad rows never do.
   */
  readonly tolerated_failure_percentage: number;
}

/** One item of the Distributed Map: its 0-based index in the object (`$$.Map.Item.Index`) and its value. */
export interface BatchItem {
  readonly index: number;
  readonly row: unknown;
}

/** What the ItemBatcher sends each child execution: `BatchInput` (from the plan) and the items. */
export interface BatchEvent {
  readonly BatchInput: {
    readonly job_id: string;
    readonly model: string;
    readonly model_version: number;
    readonly artifact_sha256: string;
    readonly features: readonly FeatureType[];
    readonly output: S3Location;
    readonly object: InputObject;
    readonly tolerated_failure_percentage: number;
  };
  readonly Items: readonly BatchItem[];
}

/** The counts of one batch, written to `_parts/` and added up by `finalize`. */
export interface PartSummary {
  readonly object: string;
  readonly key: string;
  readonly first_line: number;
  readonly last_line: number;
  readonly rows: number;
  readonly scored: number;
  readonly refused: number;
  readonly refused_by_code: Readonly<Record<string, number>>;
  readonly scored_key: string | null;
  readonly errors_key: string | null;
}

/** `manifest.json`: what a job did. `rows_in` = `rows_scored` + `rows_refused`. */
export interface BatchManifest {
  readonly job_id: string;
  readonly status: 'succeeded' | 'failed';
  readonly model: string;
  readonly model_version: number;
  readonly artifact_sha256: string;
  readonly scored_by: 'lambda' | 'sagemaker-batch-transform';
  readonly input: { readonly uri: string; readonly objects: readonly string[]; readonly skipped: readonly string[] };
  readonly output: { readonly uri: string; readonly manifest: string; readonly errors: string | null; readonly scored: readonly string[] };
  readonly rows_in: number;
  readonly rows_scored: number;
  readonly rows_refused: number;
  readonly refused_by_code: Readonly<Record<string, number>>;
  readonly batches: number;
  readonly requested_by: string;
  readonly started_at: string;
  readonly finished_at: string;
  readonly error?: { readonly error: string; readonly cause: string };
}

/** The event detail of `BatchScoringSucceeded` / `BatchScoringFailed`: the manifest without its file lists. */
export type BatchJobSummary = Omit<BatchManifest, 'input' | 'output'> & { readonly input: string; readonly output: string; readonly manifest: string };

/** Object storage over any bucket the function may use (S3 in AWS, s3rver locally). */
export interface BatchObjectStore {
  /** Keys and sizes under `prefix`, in key order (every page). */
  list(bucket: string, prefix: string): Promise<{ key: string; size: number }[]>;
  getText(bucket: string, key: string): Promise<string>;
  putText(bucket: string, key: string, text: string, contentType: string): Promise<void>;
}

/** The serving core's batch entry points (`ModelService`). */
export interface BatchScorer {
  resolveVersion(model: string, version?: number): Promise<ResolvedVersion>;
  scoreRows(model: string, version: number, instances: readonly unknown[]): Promise<BatchScores>;
}

export interface BatchJobDeps {
  readonly objects: BatchObjectStore;
  readonly scorer: BatchScorer;
  /** Buckets jobs may read and write (the function's grants); others are refused at plan time. */
  readonly allowedBuckets: readonly string[];
  readonly batching: BatchingSettings;
  readonly now?: () => Date;
  readonly newId: () => string;
}

/** The job request cannot run (bad URI, empty input, bucket not allowed): the job fails at plan with this code. */
export class BatchJobError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'BatchJobError';
  }
}

/** A batch whose refused share is above the tolerated percentage: a failed item of the Distributed Map. */
export class BatchRowsRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BatchRowsRefusedError';
  }
}

/** Objects one job reads: the plan travels in the execution's state (256 KiB at most). */
export const MAX_INPUT_OBJECTS = 500;

const S3_URI = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\/(.*)$/;

/** `s3://bucket/prefix/` → a location whose prefix is empty or ends in `/`. */
export function parseS3Uri(uri: unknown, field: string): S3Location {
  const match = typeof uri === 'string' ? S3_URI.exec(uri) : null;
  if (match === null) throw new BatchJobError('INVALID_JOB', `${field} must be an s3://bucket/prefix/ URI, got ${JSON.stringify(uri)}`);
  const bucket = match[1] as string;
  const raw = match[2] as string;
  const prefix = raw === '' || raw.endsWith('/') ? raw : `${raw}/`;
  return { bucket, prefix, uri: `s3://${bucket}/${prefix}` };
}

function formatOf(key: string): InputFormat | undefined {
  const lower = key.toLowerCase();
  if (lower.endsWith('.csv')) return 'csv';
  if (lower.endsWith('.jsonl') || lower.endsWith('.ndjson') || lower.endsWith('.json')) return 'jsonl';
  return undefined;
}

function objectName(index: number, key: string): string {
  const base = (key.split('/').pop() ?? key).replace(/\.[^.]*$/, '').replace(/[^A-Za-z0-9._-]/g, '_');
  return `${String(index).padStart(5, '0')}-${base}`;
}

const pad = (line: number): string => String(line).padStart(9, '0');

/** The first line of an item: CSV counts its header as line 1, JSON lines start at line 1. */
export function lineOf(format: InputFormat, index: number): number {
  return format === 'csv' ? index + 2 : index + 1;
}

/** Fixes the job: version, objects, output. */
export async function planJob(deps: BatchJobDeps, request: unknown): Promise<BatchPlan> {
  if (typeof request !== 'object' || request === null) throw new BatchJobError('INVALID_JOB', 'the job input must be an object');
  const job = request as Record<string, unknown>;
  const model = job['model'];
  if (typeof model !== 'string' || model === '') throw new BatchJobError('INVALID_JOB', `model must be a model name, got ${JSON.stringify(model)}`);
  const version = job['version'];
  if (version !== undefined && version !== null && !(Number.isInteger(version) && (version as number) > 0)) {
    throw new BatchJobError('INVALID_JOB', `version must be a positive integer, got ${JSON.stringify(version)}`);
  }
  const input = parseS3Uri(job['input'], 'input');
  const output = parseS3Uri(job['output'], 'output');
  for (const location of [input, output]) {
    if (!deps.allowedBuckets.includes(location.bucket)) {
      throw new BatchJobError('BUCKET_NOT_ALLOWED', `bucket ${location.bucket} is not one batch jobs may use (${deps.allowedBuckets.join(', ')})`);
    }
  }
  if (input.bucket === output.bucket && (output.prefix.startsWith(input.prefix) || input.prefix.startsWith(output.prefix))) {
    throw new BatchJobError('INVALID_JOB', `the output ${output.uri} must not overlap the input ${input.uri}: a later job would read its results`);
  }
  const resolved = await deps.scorer.resolveVersion(model, version === undefined || version === null ? undefined : (version as number));
  const listed = await deps.objects.list(input.bucket, input.prefix);
  const objects: InputObject[] = [];
  const skipped: string[] = [];
  for (const { key, size } of listed) {
    const format = formatOf(key);
    if (format === undefined || size === 0) skipped.push(key);
    else objects.push({ index: objects.length, key, format, size, name: objectName(objects.length, key) });
  }
  if (objects.length === 0) throw new BatchJobError('INPUT_EMPTY', `no CSV or JSON lines object under ${input.uri}`);
  if (objects.length > MAX_INPUT_OBJECTS) {
    throw new BatchJobError('TOO_MANY_OBJECTS', `${objects.length} input objects under ${input.uri}; one job scores at most ${MAX_INPUT_OBJECTS} (larger objects are fine)`);
  }
  const jobId = typeof job['job_id'] === 'string' && /^[A-Za-z0-9-]{1,64}$/.test(job['job_id']) ? job['job_id'] : deps.newId();
  const target = resolved.serving_target;
  return {
    job_id: jobId,
    model,
    model_version: resolved.model_version,
    artifact_sha256: resolved.artifact_sha256,
    serving: target.kind === 'sagemaker' ? 'sagemaker' : 'lambda',
    endpoint_name: target.kind === 'sagemaker' ? target.endpoint_name : null,
    transform_job_name: `batch-${jobId}`.replace(/[^A-Za-z0-9-]/g, '-').slice(0, 63),
    features: resolved.features,
    input,
    output,
    objects,
    object_count: objects.length,
    skipped,
    cursor: { index: 0 },
    batching: deps.batching,
    requested_by: typeof job['requested_by'] === 'string' ? job['requested_by'] : 'unknown',
    started_at: (deps.now?.() ?? new Date()).toISOString(),
  };
}

/**
 * A CSV row (the ItemReader gives every value as a string) as a predict instance: a numeric feature's text becomes a
 * number when it is one, is missing (null) when empty or a missing token the trainer reads as missing (NA, NaN, ?, …),
 * and otherwise stays text that validation refuses with INVALID_TYPE; an empty categorical value is missing; columns that are not features are left out of the instance and kept in the output.
 */
export function instanceOf(features: readonly FeatureType[], format: InputFormat, row: unknown): unknown {
  if (typeof row !== 'object' || row === null || Array.isArray(row)) return row;
  const values = row as Record<string, unknown>;
  const instance: Record<string, unknown> = {};
  for (const { name, type } of features) {
    if (!Object.hasOwn(values, name)) continue;
    const value = values[name];
    if (format === 'csv' && typeof value === 'string') {
      const text = value.trim();
      if (text === '') instance[name] = null;
      else if (type === 'numeric') {
        // The trainer's rule for numeric cells: NA, NaN, ? … are missing; other text stays text and is refused.
        if (isMissingCell(value)) instance[name] = null;
        else instance[name] = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text) ? Number(text) : value;
      } else instance[name] = value;
    } else {
      instance[name] = value;
    }
  }
  return instance;
}

function csvField(value: unknown): string {
  const text = value === null || value === undefined ? '' : typeof value === 'string' ? value : JSON.stringify(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** The scored rows of a batch beside their input columns: CSV with `probability,label` appended, or JSON lines. */
function scoredText(format: InputFormat, items: readonly BatchItem[], results: readonly RowScore[]): string | undefined {
  const lines: string[] = [];
  if (format === 'csv') {
    const first = items.find((_, i) => results[i]?.ok === true);
    if (first === undefined) return undefined;
    const columns = Object.keys(first.row as Record<string, unknown>);
    lines.push([...columns, 'probability', 'label'].map(csvField).join(','));
    items.forEach((item, i) => {
      const result = results[i];
      if (result?.ok !== true) return;
      const row = item.row as Record<string, unknown>;
      lines.push([...columns.map((c) => csvField(row[c])), String(result.probability), csvField(result.label)].join(','));
    });
  } else {
    items.forEach((item, i) => {
      const result = results[i];
      if (result?.ok !== true) return;
      lines.push(JSON.stringify({ ...(item.row as Record<string, unknown>), probability: result.probability, label: result.label }));
    });
    if (lines.length === 0) return undefined;
  }
  return `${lines.join('\n')}\n`;
}

const ERRORS_HEADER = 'object,line,code,field,message';

/** Scores one batch and writes its parts; throws `BatchRowsRefusedError` (after writing) when it is mostly wrong. */
export async function scoreBatch(deps: Pick<BatchJobDeps, 'objects' | 'scorer'>, event: BatchEvent): Promise<PartSummary> {
  const batch = event.BatchInput;
  const items = event.Items;
  if (items.length === 0) throw new BatchJobError('INVALID_BATCH', 'the batch has no items');
  const { object, output, features } = batch;
  const instances = items.map((item) => instanceOf(features, object.format, item.row));
  const scores = await deps.scorer.scoreRows(batch.model, batch.model_version, instances);
  if (scores.artifact_sha256 !== batch.artifact_sha256) {
    throw new BatchJobError('VERSION_CHANGED', `model "${batch.model}" version ${batch.model_version} no longer has the artifact the job started with`);
  }
  const lines = items.map((item) => lineOf(object.format, item.index));
  const firstLine = Math.min(...lines);
  const lastLine = Math.max(...lines);
  const refusedByCode: Record<string, number> = {};
  const errorLines: string[] = [];
  let scored = 0;
  scores.results.forEach((result, i) => {
    if (result.ok) {
      scored++;
      return;
    }
    refusedByCode[result.code] = (refusedByCode[result.code] ?? 0) + 1;
    errorLines.push([object.key, lines[i], result.code, result.field ?? '', result.message].map(csvField).join(','));
  });
  const refused = items.length - scored;
  const base = `${output.prefix}`;
  const scoredBody = scoredText(object.format, items, scores.results);
  const scoredKey = scoredBody === undefined ? null : `${base}scored/${object.name}/part-${pad(firstLine)}.${object.format}`;
  const errorsKey = errorLines.length === 0 ? null : `${base}errors/${object.name}/part-${pad(firstLine)}.csv`;
  if (scoredKey !== null && scoredBody !== undefined) {
    await deps.objects.putText(output.bucket, scoredKey, scoredBody, object.format === 'csv' ? 'text/csv' : 'application/x-ndjson');
  }
  if (errorsKey !== null) await deps.objects.putText(output.bucket, errorsKey, `${errorLines.join('\n')}\n`, 'text/csv');
  const summary: PartSummary = {
    object: object.name,
    key: object.key,
    first_line: firstLine,
    last_line: lastLine,
    rows: items.length,
    scored,
    refused,
    refused_by_code: refusedByCode,
    scored_key: scoredKey,
    errors_key: errorsKey,
  };
  await deps.objects.putText(output.bucket, `${base}_parts/${object.name}/${pad(firstLine)}.json`, JSON.stringify(summary), 'application/json');
  if ((refused / items.length) * 100 > batch.tolerated_failure_percentage) {
    throw new BatchRowsRefusedError(
      `${refused} of ${items.length} rows of ${object.key} (lines ${firstLine}-${lastLine}) were refused, above the tolerated ${batch.tolerated_failure_percentage}%`,
    );
  }
  return summary;
}

/** The error of a failed execution as Step Functions hands it to a Catch (`{ Error, Cause }`). */
export interface CaughtError {
  readonly Error?: string;
  readonly Cause?: string;
}

/**
 * Reads at a time when adding up the parts: a job of 1,000,000 rows has 2,000 of them, and all at once would queue
 * behind the SDK's 50 sockets (and warn), for no gain over a few dozen in flight.
 */
export const FINALIZE_READ_CONCURRENCY = 16;

/** `items.map(fn)` with at most `limit` calls in flight; results in the order of `items`. */
export async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}

/** Adds up the parts, merges the errors, writes `manifest.json`; returns the events' summary. */
export async function finalizeJob(
  deps: Pick<BatchJobDeps, 'objects' | 'now'>,
  plan: BatchPlan,
  outcome: { readonly status: 'succeeded' | 'failed'; readonly error?: CaughtError; readonly scoredBy?: BatchManifest['scored_by'] },
): Promise<BatchJobSummary> {
  const { output } = plan;
  const partKeys = (await deps.objects.list(output.bucket, `${output.prefix}_parts/`)).map((o) => o.key).sort();
  const parts = await mapLimited(partKeys, FINALIZE_READ_CONCURRENCY, async (key) => JSON.parse(await deps.objects.getText(output.bucket, key)) as PartSummary);
  let rows = 0;
  let scored = 0;
  let refused = 0;
  const byCode: Record<string, number> = {};
  const scoredKeys: string[] = [];
  const errorKeys: string[] = [];
  for (const part of parts) {
    rows += part.rows;
    scored += part.scored;
    refused += part.refused;
    for (const [code, count] of Object.entries(part.refused_by_code)) byCode[code] = (byCode[code] ?? 0) + count;
    if (part.scored_key !== null) scoredKeys.push(part.scored_key);
    if (part.errors_key !== null) errorKeys.push(part.errors_key);
  }
  let errorsKey: string | null = null;
  if (errorKeys.length > 0) {
    const bodies = await mapLimited(errorKeys, FINALIZE_READ_CONCURRENCY, (key) => deps.objects.getText(output.bucket, key));
    errorsKey = `${output.prefix}errors.csv`;
    await deps.objects.putText(output.bucket, errorsKey, `${ERRORS_HEADER}\n${bodies.join('')}`, 'text/csv');
  }
  const manifestKey = `${output.prefix}manifest.json`;
  const error = outcome.error === undefined ? undefined : { error: outcome.error.Error ?? 'Error', cause: (outcome.error.Cause ?? '').slice(0, 2000) };
  const manifest: BatchManifest = {
    job_id: plan.job_id,
    status: outcome.status,
    model: plan.model,
    model_version: plan.model_version,
    artifact_sha256: plan.artifact_sha256,
    scored_by: outcome.scoredBy ?? 'lambda',
    input: { uri: plan.input.uri, objects: plan.objects.map((o) => o.key), skipped: plan.skipped },
    output: { uri: plan.output.uri, manifest: manifestKey, errors: errorsKey, scored: scoredKeys },
    rows_in: rows,
    rows_scored: scored,
    rows_refused: refused,
    refused_by_code: byCode,
    batches: parts.length,
    requested_by: plan.requested_by,
    started_at: plan.started_at,
    finished_at: (deps.now?.() ?? new Date()).toISOString(),
    ...(error === undefined ? {} : { error }),
  };
  await deps.objects.putText(output.bucket, manifestKey, `${JSON.stringify(manifest, null, 2)}\n`, 'application/json');
  const { input: _input, output: _output, ...rest } = manifest;
  return { ...rest, input: plan.input.uri, output: plan.output.uri, manifest: `s3://${output.bucket}/${manifestKey}` };
}

/** A plan from the state machine's state, checked enough to use (finalize and fail receive it back). */
export function asPlan(value: unknown): BatchPlan {
  const plan = value as Partial<BatchPlan> | null;
  if (plan === null || typeof plan !== 'object' || typeof plan.job_id !== 'string' || plan.output === undefined || plan.input === undefined) {
    throw new RequestValidationError('INVALID_BODY', 'the step needs the job plan (job_id, input, output)', {});
  }
  return plan as BatchPlan;
}
