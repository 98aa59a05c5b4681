import { randomUUID } from 'node:crypto';
import { StateMachine } from 'aws-local-stepfunctions';
import { parseCsvRecords } from '#core/data/csv.ts';
import { asError } from '#core/errors.ts';

/**
 * The Distributed Map on this machine. aws-local-stepfunctions runs a `Map` state over an array in its input only: it
 * has no ItemReader, ItemBatcher, ResultWriter or tolerated failure threshold. This module supplies them, from the
 * same ASL: every `Map` state in DISTRIBUTED mode becomes a Task state (its Retry, Catch, ResultPath, Next kept) whose
 * local handler reads the object from the local S3 server as the ItemReader would (CSV with a header row, every value
 * a string; JSON lines), applies ItemSelector (`$$.Map.Item.Index`, `$$.Map.Item.Value`) and ItemBatcher
 * (`MaxItemsPerBatch[Path]`, `BatchInput`), runs the ItemProcessor with aws-local-stepfunctions for each batch (its
 * tasks call the same handlers as in AWS), at most `MaxConcurrency[Path]` at once, fails with
 * `States.ExceedToleratedFailureThreshold` once more batches failed than `ToleratedFailurePercentage[Path]` allows,
 * and writes the results as ResultWriter does (`{Prefix}/{run id}/manifest.json`, `SUCCEEDED_0.json`, `FAILED_0.json`).
 *
 * Paths are the subset the platform's ASL uses: `$`, `$.a.b`, `$$.Map.Item.Index|Value` and `States.Format`.
 */

type Definition = ConstructorParameters<typeof StateMachine>[0];
type JsonValue = Parameters<NonNullable<NonNullable<NonNullable<Parameters<StateMachine['run']>[1]>['overrides']>['taskResourceLocalHandlers']>[string]>[0];
export type LocalTaskHandler = (input: JsonValue) => Promise<JsonValue>;

/** The object store the local ItemReader and ResultWriter use (s3rver through the S3 client in the platform). */
export interface LocalMapObjects {
  getText(bucket: string, key: string): Promise<string>;
  putText(bucket: string, key: string, text: string, contentType: string): Promise<void>;
}

type Json = Record<string, unknown>;

/** An error the runner reports with this name, as Step Functions names its own. */
class StatesError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

function readPath(path: string, input: unknown, context: Json): unknown {
  const [root, rest] = path.startsWith('$$') ? [context as unknown, path.slice(2)] : [input, path.slice(1)];
  if (rest === '') return root;
  let node: unknown = root;
  for (const part of rest.replace(/^\./, '').split('.')) {
    if (typeof node !== 'object' || node === null) throw new StatesError('States.Runtime', `path ${path} does not exist in the input`);
    node = (node as Json)[part];
    if (node === undefined) throw new StatesError('States.Runtime', `path ${path} does not exist in the input`);
  }
  return node;
}

function evaluate(expression: string, input: unknown, context: Json): unknown {
  const format = /^States\.Format\('((?:[^'\\]|\\.)*)'\s*((?:,\s*[^,)]+)*)\)$/.exec(expression);
  if (format !== null) {
    const args = (format[2] ?? '').split(',').map((a) => a.trim()).filter((a) => a !== '').map((a) => readPath(a, input, context));
    let i = 0;
    return (format[1] as string).replace(/\{\}/g, () => String(args[i++] ?? ''));
  }
  if (expression.startsWith('$')) return readPath(expression, input, context);
  throw new StatesError('States.Runtime', `the local Distributed Map does not evaluate ${expression}`);
}

/** A payload template (`"key.$": path`) evaluated against the input and context. */
function template(value: unknown, input: unknown, context: Json): unknown {
  if (Array.isArray(value)) return value.map((v) => template(v, input, context));
  if (typeof value !== 'object' || value === null) return value;
  const out: Json = {};
  for (const [key, item] of Object.entries(value as Json)) {
    if (key.endsWith('.$') && typeof item === 'string') out[key.slice(0, -2)] = evaluate(item, input, context);
    else out[key] = template(item, input, context);
  }
  return out;
}

function setting(state: Json, name: string, input: unknown, fallback: number): number {
  const path = state[`${name}Path`];
  const value = typeof path === 'string' ? readPath(path, input, {}) : state[name];
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}

/** The items of an object as the ItemReader gives them. */
function readItems(text: string, config: Json, key: string): unknown[] {
  const type = config['InputType'];
  if (type === 'CSV') {
    if (config['CSVHeaderLocation'] !== 'FIRST_ROW') throw new StatesError('States.ItemReaderFailed', 'only CSVHeaderLocation FIRST_ROW is supported locally');
    const [header, ...records] = parseCsvRecords(text);
    if (header === undefined) return [];
    return records.map((cells) => Object.fromEntries(header.map((name, i) => [name ?? '', cells[i] ?? ''])));
  }
  if (type === 'JSONL') {
    return text
      .split(/\r?\n/)
      .filter((line) => line.trim() !== '')
      .map((line, i) => {
        try {
          return JSON.parse(line) as unknown;
        } catch {
          throw new StatesError('States.ItemReaderFailed', `${key} line ${i + 1} is not JSON`);
        }
      });
  }
  throw new StatesError('States.ItemReaderFailed', `InputType ${String(type)} is not supported locally`);
}

/**
 * The timeout of the Task state that stands in for a Distributed Map. Step Functions gives a Map run no timeout of its
 * own (a Distributed Map may run for up to a year), but aws-local-stepfunctions gives a Task without `TimeoutSeconds`
 * 60 seconds, which failed a local job of 1,000,000 rows (`npm run bench`) with `States.Timeout`. This is the longest
 * wait Node's `setTimeout` takes (2^31 - 1 ms) in whole seconds, about 24 days.
 */
export const LOCAL_MAP_TIMEOUT_SECONDS = 2_147_483;

export interface LocalizeOptions {
  readonly objects: LocalMapObjects;
  /** Handlers of the Task states inside item processors, by state name. */
  readonly processorHandlers: Record<string, LocalTaskHandler>;
  /** Caps the map's concurrency on this machine. @default 4 */
  readonly maxConcurrency?: number;
}

/**
 * The definition with its DISTRIBUTED Map states replaced by Task states, and the handlers that run them (to merge
 * into `taskResourceLocalHandlers`).
 */
export function localizeDistributedMaps(definition: Definition, options: LocalizeOptions): { definition: Definition; handlers: Record<string, LocalTaskHandler> } {
  const states = { ...(definition.States as unknown as Record<string, Json>) };
  const handlers: Record<string, LocalTaskHandler> = {};
  for (const [name, state] of Object.entries(states)) {
    const processor = state['ItemProcessor'] as Json | undefined;
    const mode = (processor?.['ProcessorConfig'] as Json | undefined)?.['Mode'];
    if (state['Type'] !== 'Map' || mode !== 'DISTRIBUTED' || processor === undefined) continue;
    const kept = Object.fromEntries(
      ['Comment', 'InputPath', 'OutputPath', 'ResultPath', 'ResultSelector', 'Retry', 'Catch', 'Next', 'End'].filter((k) => k in state).map((k) => [k, state[k]]),
    );
    // A Map run has no timeout in Step Functions; a Task without TimeoutSeconds gets 60 s from the local runner.
    states[name] = { Type: 'Task', Resource: `arn:aws:lambda:us-east-1:000000000000:function:local-distributed-map`, TimeoutSeconds: LOCAL_MAP_TIMEOUT_SECONDS, ...kept };
    handlers[name] = (input) => runDistributedMap(state, processor, input, options) as Promise<JsonValue>;
  }
  return { definition: { ...definition, States: states } as unknown as Definition, handlers };
}

async function runDistributedMap(state: Json, processor: Json, input: unknown, options: LocalizeOptions): Promise<unknown> {
  const reader = state['ItemReader'] as Json | undefined;
  if (reader === undefined) throw new StatesError('States.Runtime', 'a local Distributed Map needs an ItemReader');
  const location = template(reader['Parameters'], input, {}) as { Bucket: string; Key: string };
  let text: string;
  try {
    text = await options.objects.getText(location.Bucket, location.Key);
  } catch (error) {
    throw new StatesError('States.ItemReaderFailed', `cannot read s3://${location.Bucket}/${location.Key}: ${asError(error).message}`);
  }
  const values = readItems(text, (reader['ReaderConfig'] as Json | undefined) ?? {}, location.Key);
  const selector = state['ItemSelector'];
  const items = values.map((value, index) => (selector === undefined ? value : template(selector, input, { Map: { Item: { Index: index, Value: value } } })));

  const batcher = state['ItemBatcher'] as Json | undefined;
  const batches: unknown[] = [];
  if (batcher === undefined) {
    batches.push(...items);
  } else {
    const size = Math.max(1, setting(batcher, 'MaxItemsPerBatch', input, 100));
    const batchInput = batcher['BatchInput'] === undefined ? undefined : template(batcher['BatchInput'], input, {});
    for (let start = 0; start < items.length; start += size) {
      batches.push({ ...(batchInput === undefined ? {} : { BatchInput: batchInput }), Items: items.slice(start, start + size) });
    }
  }

  const tolerated = setting(state, 'ToleratedFailurePercentage', input, 0);
  const concurrency = Math.max(1, Math.min(options.maxConcurrency ?? 4, setting(state, 'MaxConcurrency', input, 40) || 40));
  const { ProcessorConfig: _config, ...processorDefinition } = processor;
  const child = new StateMachine(processorDefinition as unknown as Definition, { validationOptions: { checkPaths: true, checkArn: true } });
  const succeeded: { Input: string; Output: string }[] = [];
  const failed: { Input: string; Error: string; Cause: string }[] = [];
  let next = 0;
  let exceeded = false;
  const worker = async (): Promise<void> => {
    while (!exceeded && next < batches.length) {
      const batch = batches[next++];
      try {
        const output = await child.run(batch as JsonValue, { overrides: { taskResourceLocalHandlers: options.processorHandlers } }).result;
        succeeded.push({ Input: JSON.stringify(batch), Output: JSON.stringify(output) });
      } catch (error) {
        const failure = error as { name?: string; message?: string; cause?: { name?: string; message?: string } };
        const cause = failure.cause ?? failure;
        failed.push({ Input: JSON.stringify(batch), Error: String(cause.name ?? 'Error'), Cause: String(cause.message ?? error) });
        // Step Functions stops the run as soon as the failures exceed the threshold.
        if ((failed.length / batches.length) * 100 > tolerated) exceeded = true;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, Math.max(1, batches.length)) }, worker));

  const runId = randomUUID();
  const writer = state['ResultWriter'] as Json | undefined;
  let details: { Bucket: string; Key: string } | undefined;
  if (writer !== undefined) {
    const target = template(writer['Parameters'], input, {}) as { Bucket: string; Prefix: string };
    const prefix = `${target.Prefix.replace(/\/$/, '')}/${runId}/`;
    const files: Record<string, { Key: string; Size: number }[]> = { FAILED: [], PENDING: [], SUCCEEDED: [] };
    for (const [kind, list] of [['SUCCEEDED', succeeded], ['FAILED', failed]] as const) {
      if (list.length === 0) continue;
      const body = JSON.stringify(list);
      const key = `${prefix}${kind}_0.json`;
      await options.objects.putText(target.Bucket, key, body, 'application/json');
      (files[kind] as { Key: string; Size: number }[]).push({ Key: key, Size: Buffer.byteLength(body) });
    }
    const manifest = { DestinationBucket: target.Bucket, MapRunArn: `arn:aws:states:local:map-run/${runId}`, ResultFiles: files };
    await options.objects.putText(target.Bucket, `${prefix}manifest.json`, JSON.stringify(manifest), 'application/json');
    details = { Bucket: target.Bucket, Key: `${prefix}manifest.json` };
  }
  if (exceeded || (batches.length > 0 && (failed.length / batches.length) * 100 > tolerated)) {
    throw new StatesError(
      'States.ExceedToleratedFailureThreshold',
      `${failed.length} of ${batches.length} batches failed, above the tolerated ${tolerated}%; first: ${failed[0]?.Error ?? ''}: ${failed[0]?.Cause ?? ''}`,
    );
  }
  return details === undefined ? succeeded.map((s) => JSON.parse(s.Output) as unknown) : { MapRunArn: `arn:aws:states:local:map-run/${runId}`, ResultWriterDetails: details };
}
