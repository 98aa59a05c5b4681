import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { StateMachine } from 'aws-local-stepfunctions';
import { localizeDistributedMaps, type LocalMapObjects, type LocalTaskHandler } from './distributed-map.ts';

type Definition = ConstructorParameters<typeof StateMachine>[0];
type JsonValue = Parameters<LocalTaskHandler>[0];

/**
 * Runs batch scoring's own ASL file (step-functions/batch-scoring.asl.json) on this machine with
 * aws-local-stepfunctions: the Lambda tasks, and the Distributed Map's item processor, call the same batch scoring
 * handler as the Lambda; the Distributed Map's S3 reader and writer and its failure threshold come from
 * local/distributed-map.ts; EventBridge and SNS tasks land in a local event log. SageMaker Batch Transform needs AWS.
 */

export const BATCH_SCORING_DEFINITION = new URL('../step-functions/batch-scoring.asl.json', import.meta.url);

/** Placeholder values for the ASL's `${…}` substitutions (the CDK fills them in AWS). */
export const LOCAL_BATCH_SUBSTITUTIONS: Readonly<Record<string, string>> = {
  BatchFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:batch-scoring',
  NotificationTopicArn: 'arn:aws:sns:us-east-1:000000000000:mlops-notifications',
  EventBusName: 'default',
  TransformInstanceType: 'ml.m5.xlarge',
};

/** Loads the ASL and fills its substitutions; throws when one is left unfilled. */
export function loadBatchScoringDefinition(substitutions: Readonly<Record<string, string>> = LOCAL_BATCH_SUBSTITUTIONS): Definition {
  const text = readFileSync(BATCH_SCORING_DEFINITION, 'utf8').replace(/\$\{(\w+)\}/g, (placeholder: string, name: string) => {
    const value = substitutions[name];
    if (value === undefined) throw new Error(`no substitution for ${placeholder} in batch-scoring.asl.json`);
    return value;
  });
  return JSON.parse(text) as Definition;
}

/** An event or notification a job sent. */
export interface BatchJobEvent {
  readonly at: string;
  readonly kind: 'notification' | 'event';
  readonly job: string;
  readonly subject?: string;
  readonly detail_type?: string;
  readonly body: unknown;
}

export interface LocalBatchJob {
  readonly id: string;
  status: 'running' | 'succeeded' | 'failed';
  readonly started_at: string;
  readonly progress: string[];
  output?: unknown;
  error?: { name: string; message: string };
}

export interface LocalBatchScoringOptions {
  /** The batch scoring Lambda's function (`batchScoringHandler`): every Lambda task calls it with its payload. */
  readonly handler: (payload: never) => Promise<unknown>;
  readonly objects: LocalMapObjects;
  /** Batches scored at once on this machine. @default 4 */
  readonly maxConcurrency?: number;
  /** Retry pauses in ms instead of the ASL's seconds (tests make them 0). */
  readonly retryIntervalMs?: number;
  readonly onEvent?: (event: BatchJobEvent) => void;
}

const LAMBDA_TASKS = ['Plan', 'Finalize', 'FinalizeTransform', 'PlanFailed', 'RecordFailure'];
const EVENT_TASKS = ['EmitSucceeded', 'EmitFailed'];
const NOTIFY_TASKS = ['NotifySucceeded', 'NotifyFailed'];
const SAGEMAKER_TASKS = ['DescribeEndpoint', 'DescribeEndpointConfig', 'TransformOnSageMaker'];

export class LocalBatchScoring {
  readonly events: BatchJobEvent[] = [];
  private readonly jobs = new Map<string, LocalBatchJob>();
  private readonly machine: StateMachine;
  private readonly mapHandlers: Record<string, LocalTaskHandler>;
  private readonly states: string[];

  constructor(private readonly options: LocalBatchScoringOptions) {
    const lambda = this.lambdaTask();
    const { definition, handlers } = localizeDistributedMaps(loadBatchScoringDefinition(), {
      objects: options.objects,
      processorHandlers: { ScoreBatch: lambda },
      ...(options.maxConcurrency === undefined ? {} : { maxConcurrency: options.maxConcurrency }),
    });
    this.mapHandlers = handlers;
    this.states = Object.keys(definition.States);
    for (const name of [...LAMBDA_TASKS, ...EVENT_TASKS, ...NOTIFY_TASKS, ...SAGEMAKER_TASKS, 'ScoreCsvObject', 'ScoreJsonLinesObject']) {
      if (!this.states.includes(name)) throw new Error(`batch-scoring.asl.json has no state ${name}`);
    }
    this.machine = new StateMachine(definition, { validationOptions: { checkPaths: true, checkArn: true } });
  }

  get(id: string): LocalBatchJob | undefined {
    return this.jobs.get(id);
  }

  /** Starts a job (`{ model, version?, input, output }` with s3:// URIs); `done` settles when it ends, never rejects. */
  start(input: Record<string, unknown>): { job: LocalBatchJob; done: Promise<LocalBatchJob> } {
    const id = typeof input.job_id === 'string' ? input.job_id : randomUUID();
    const job: LocalBatchJob = { id, status: 'running', started_at: new Date().toISOString(), progress: [] };
    this.jobs.set(id, job);
    const execution = this.machine.run(
      { ...input, job_id: id },
      {
        overrides: {
          taskResourceLocalHandlers: this.handlers(id),
          ...(this.options.retryIntervalMs === undefined
            ? {}
            : { retryIntervalOverrides: Object.fromEntries(this.states.map((s) => [s, this.options.retryIntervalMs as number])) }),
        },
      },
    );
    const watch = (async () => {
      for await (const event of execution.eventLogs) {
        if (event.type === 'StateEntered' && 'state' in event) job.progress.push(event.state.name);
      }
    })().catch(() => undefined);
    const done = execution.result.then(
      (output: unknown) => {
        job.status = 'succeeded';
        job.output = output;
        return job;
      },
      (error: unknown) => {
        job.status = 'failed';
        const failure = error as { name?: string; message?: string; cause?: { name?: string; message?: string } };
        const cause = failure.cause ?? failure;
        job.error = { name: String(cause.name ?? 'Error'), message: String(cause.message ?? error) };
        return job;
      },
    );
    return { job, done: done.then(async (j) => (await watch, j)) };
  }

  /** A Lambda task: the payload to the handler, its answer as Lambda Invoke returns it (JSON, under `Payload`). */
  private lambdaTask(): LocalTaskHandler {
    return async (input) => {
      const payload = (input as { Payload: unknown }).Payload;
      const result = await this.options.handler(payload as never);
      return { Payload: JSON.parse(JSON.stringify(result ?? null)) as JsonValue } as JsonValue;
    };
  }

  private handlers(id: string): Record<string, LocalTaskHandler> {
    const handlers: Record<string, LocalTaskHandler> = { ...this.mapHandlers };
    const lambda = this.lambdaTask();
    for (const name of LAMBDA_TASKS) handlers[name] = lambda;
    for (const name of EVENT_TASKS) {
      handlers[name] = async (input) => {
        const entries = (input as { Entries: { DetailType: string; Detail: unknown }[] }).Entries;
        for (const entry of entries) this.record({ at: new Date().toISOString(), kind: 'event', job: id, detail_type: entry.DetailType, body: entry.Detail });
        return { Entries: entries.map(() => ({ EventId: randomUUID() })), FailedEntryCount: 0 } as JsonValue;
      };
    }
    for (const name of NOTIFY_TASKS) {
      handlers[name] = async (input) => {
        const { Subject, Message } = input as { Subject?: string; Message?: string };
        this.record({ at: new Date().toISOString(), kind: 'notification', job: id, subject: Subject ?? '', body: Message });
        return { MessageId: randomUUID() } as JsonValue;
      };
    }
    for (const name of SAGEMAKER_TASKS) {
      handlers[name] = async () => {
        const error = new Error('versions served by a SageMaker endpoint are scored by SageMaker Batch Transform, which needs AWS');
        error.name = 'SageMakerNotAvailableLocally';
        throw error;
      };
    }
    return handlers;
  }

  private record(event: BatchJobEvent): void {
    this.events.push(event);
    this.options.onEvent?.(event);
  }
}
