import { randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { StateMachine } from 'aws-local-stepfunctions';

type Definition = ConstructorParameters<typeof StateMachine>[0];
type JsonValue = Parameters<NonNullable<NonNullable<NonNullable<Parameters<StateMachine['run']>[1]>['overrides']>['taskResourceLocalHandlers']>[string]>[0];
type TaskHandler = (input: JsonValue) => Promise<JsonValue>;
import { xgboostDataDistribution } from '#contracts/pipeline.ts';
import type { ApprovalStore } from '#core/pipeline/ports.ts';
import { PipelineStepError } from '#core/pipeline/steps.ts';
import {
  approvalNoticeText,
  type ApprovalNotifier,
  type PipelineEvent as StepEvent,
  type PipelineHandler,
} from '../lambdas/training-pipeline/pipeline-handler.ts';

/**
 * Runs the training pipeline's own ASL file (step-functions/training-pipeline.asl.json) on
 * this machine with aws-local-stepfunctions: every Lambda task calls the pipeline Lambda's own
 * handler (`createPipelineHandler`, with local dependencies), so its SDK-error to `TransientError`
 * mapping, its metrics and its approval notice run here as in AWS; SNS and EventBridge tasks land
 * in a local event log; the manual approval waits for `mlops approve|reject` through the approval
 * store, as the task token does in AWS. SageMaker training jobs cannot run here (the `sagemaker` and `xgboost`
 * trainers' runs fail at their training state, saying so).
 */

export const PIPELINE_DEFINITION = new URL('../step-functions/training-pipeline.asl.json', import.meta.url);

/** Placeholder values for the ASL's `${…}` substitutions (the CDK fills them in AWS). */
function localSubstitutions(bucket: string, instanceCount: number): Record<string, string> {
  return {
    PipelineFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:training-pipeline',
    NotificationTopicArn: 'arn:aws:sns:us-east-1:000000000000:mlops-notifications',
    EventBusName: 'default',
    SageMakerRoleArn: 'arn:aws:iam::000000000000:role/mlops-sagemaker-training',
    TrainingImage: 'local',
    TrainingInstanceType: 'ml.m5.xlarge',
    ArtifactBucketName: bucket,
    XgboostImage: 'local',
    XgboostDataDistribution: xgboostDataDistribution(instanceCount),
  };
}

/** Loads the ASL and fills its substitutions; throws when one is left unfilled. */
export function loadPipelineDefinition(substitutions: Record<string, string>): Definition {
  const text = readFileSync(PIPELINE_DEFINITION, 'utf8').replace(/\$\{(\w+)\}/g, (placeholder: string, name: string) => {
    const value = substitutions[name];
    if (value === undefined) throw new Error(`no substitution for ${placeholder} in training-pipeline.asl.json`);
    return value;
  });
  return JSON.parse(text) as Definition;
}

/** A notification or event the pipeline sent. */
export interface PipelineEvent {
  readonly at: string;
  readonly kind: 'notification' | 'event';
  readonly run_id: string;
  readonly subject?: string;
  readonly detail_type?: string;
  readonly body: unknown;
}

export type RunStatus = 'running' | 'succeeded' | 'failed';

export interface LocalRun {
  readonly run_id: string;
  status: RunStatus;
  readonly started_at: string;
  /** Every state entered, in order: what a person watches while it runs. */
  readonly progress: string[];
  /** When each state of `progress` was entered (ISO times). */
  readonly progress_at: string[];
  /** When the run ended. */
  ended_at?: string;
  output?: unknown;
  error?: { name: string; message: string };
}

/** What runs in place of a SageMaker training job: its request in, its description out. */
export type TrainingJobStandIn = (request: Record<string, unknown>) => Promise<{ readonly ModelArtifacts: { readonly S3ModelArtifacts: string }; readonly TrainingJobName: string }>;

/** Replaces a step's code inside the handler, e.g. to inject faults in tests. */
export type StepOverride = (step: string, payload: Record<string, unknown>, next: () => Promise<unknown>) => Promise<unknown>;

export interface LocalPipelineOptions {
  /**
   * Builds the pipeline Lambda's handler (lambdas/training-pipeline/pipeline-handler.ts) with the local notifier,
   * whose approval notices land in {@link LocalPipeline.events}.
   */
  readonly createHandler: (local: { readonly notifier: ApprovalNotifier }) => PipelineHandler;
  readonly approvals: ApprovalStore;
  readonly bucket: string;
  /** `pipeline.sagemaker.instanceCount`, for the `xgboost` job's data distribution. @default 1 */
  readonly instanceCount?: number;
  /** How often a waiting approval is checked. @default 250 */
  readonly approvalPollMs?: number;
  /** Retry pauses in ms instead of the ASL's seconds (tests make them 0). @default the ASL's */
  readonly retryIntervalMs?: number;
  readonly onEvent?: (event: PipelineEvent) => void;
  /**
   * Runs in place of the SageMaker training job states (`TrainOnSageMaker`, `TrainXgboostOnSageMaker`): it gets the
   * state's `createTrainingJob` parameters and answers as `DescribeTrainingJob` would (`ModelArtifacts`,
   * `TrainingJobName`). Tests use it to run the states after a job; `npm start` leaves it unset, and the states fail
   * saying SageMaker needs AWS. @default - the SageMaker states fail
   */
  readonly trainingJob?: TrainingJobStandIn;
  /**
   * Where runs are recorded (one JSON file each), so they outlive the process: a run that was running when the
   * process died is marked failed (`Interrupted`) at the next start instead of vanishing. @default - in memory only
   */
  readonly runsDir?: string;
}

const LAMBDA_TASKS = [
  'ValidateData',
  'Train',
  'ImportSageMakerModel',
  'PrepareXgboostData',
  'ConvertXgboostModel',
  'Evaluate',
  'CompareWithChampion',
  'Gate',
  'RecordDataRejection',
  'RecordRejection',
  'Register',
  'Promote',
  'RecordFailure',
];
/** SageMaker training jobs: refused here with what to do instead. */
const SAGEMAKER_TASKS = ['TrainOnSageMaker', 'TrainXgboostOnSageMaker'];
const NOTIFY_TASKS = ['NotifyDataRejected', 'NotifyRejected', 'NotifyPromoted', 'NotifyFailure'];
const EVENT_TASKS = ['EmitDataRejected', 'EmitRejected', 'EmitPromoted', 'EmitFailure'];

function taskStates(definition: Definition): Set<string> {
  const names = new Set<string>();
  const visit = (states: Record<string, Record<string, unknown>>): void => {
    for (const [name, state] of Object.entries(states)) {
      if (state.Type === 'Task') names.add(name);
      const processor = (state.ItemProcessor ?? state.Iterator) as { States?: Record<string, Record<string, unknown>> } | undefined;
      if (processor?.States !== undefined) visit(processor.States);
    }
  };
  visit(definition.States as unknown as Record<string, Record<string, unknown>>);
  return names;
}

export class LocalPipeline {
  readonly events: PipelineEvent[] = [];
  private readonly runs = new Map<string, LocalRun>();
  private readonly machine: StateMachine;
  private readonly tasks: Set<string>;
  private readonly handler: PipelineHandler;
  /** Set by {@link close}: the runs directory is no longer this process's to write. */
  private closed = false;

  constructor(private readonly options: LocalPipelineOptions) {
    this.handler = options.createHandler({
      notifier: {
        approvalRequested: async (notice) => {
          const { subject, message } = approvalNoticeText(notice, 'npx mlops --local');
          this.record({ at: new Date().toISOString(), kind: 'notification', run_id: notice.runId, subject, body: message });
        },
      },
    });
    const definition = loadPipelineDefinition(localSubstitutions(options.bucket, options.instanceCount ?? 1));
    this.tasks = taskStates(definition);
    for (const name of [...LAMBDA_TASKS, ...NOTIFY_TASKS, ...EVENT_TASKS, 'ManualApproval', ...SAGEMAKER_TASKS]) {
      if (!this.tasks.has(name)) throw new Error(`training-pipeline.asl.json has no Task state ${name}`);
    }
    this.machine = new StateMachine(definition, { validationOptions: { checkPaths: true, checkArn: true } });
    if (options.runsDir !== undefined) this.recoverRuns(options.runsDir);
  }

  /** Loads the recorded runs; one still `running` was cut off by the end of its process: it failed. */
  private recoverRuns(directory: string): void {
    mkdirSync(directory, { recursive: true });
    for (const name of readdirSync(directory)) {
      if (!name.endsWith('.json')) continue;
      let run: LocalRun;
      try {
        run = JSON.parse(readFileSync(join(directory, name), 'utf8')) as LocalRun;
      } catch {
        continue; // torn before its rename: never a current record
      }
      if (run.status === 'running') {
        run.status = 'failed';
        run.error = { name: 'Interrupted', message: 'the local platform stopped while this run was running; start it again' };
        this.persist(run);
      }
      this.runs.set(run.run_id, run);
    }
  }

  /**
   * Stops recording runs. A run still going (a retrain the drift job started, one waiting for approval) carries on
   * in memory, but its end is no longer written: the platform that owned the directory has stopped (a test may
   * already be deleting it), and the next start finds the run `running` and marks it `Interrupted`, as after a crash.
   */
  close(): void {
    this.closed = true;
  }

  private persist(run: LocalRun): void {
    const directory = this.options.runsDir;
    if (directory === undefined || this.closed) return;
    const path = join(directory, `${encodeURIComponent(run.run_id).slice(0, 200)}.json`);
    writeFileSync(`${path}.tmp`, JSON.stringify(run));
    renameSync(`${path}.tmp`, path);
  }

  /**
   * Records a run's end without letting a write failure reject `done`: nobody awaits a drift-triggered run, and an
   * unhandled rejection would stop the whole platform. The run in memory is right; its file stays `running` and is
   * recovered as `Interrupted` at the next start.
   */
  private persistEnd(run: LocalRun): void {
    try {
      this.persist(run);
    } catch (error) {
      console.error(`pipeline run ${run.run_id} ended ${run.status}, but its record could not be written:`, error);
    }
  }

  get(runId: string): LocalRun | undefined {
    return this.runs.get(runId);
  }

  /** Starts a run; `done` settles when it ends (never rejects: the run's status says how). */
  start(input: Record<string, unknown>): { run: LocalRun; done: Promise<LocalRun> } {
    const runId = typeof input.run_id === 'string' ? input.run_id : randomUUID();
    const run: LocalRun = { run_id: runId, status: 'running', started_at: new Date().toISOString(), progress: [], progress_at: [] };
    this.runs.set(runId, run);
    this.persist(run);
    const execution = this.machine.run(
      { ...input, run_id: runId },
      {
        overrides: {
          taskResourceLocalHandlers: this.handlers(runId),
          ...(this.options.retryIntervalMs === undefined
            ? {}
            : { retryIntervalOverrides: Object.fromEntries([...this.tasks].map((t) => [t, this.options.retryIntervalMs as number])) }),
        },
        context: { Task: { Token: `local-${runId}` } },
      },
    );
    const watch = (async () => {
      for await (const event of execution.eventLogs) {
        if (event.type === 'StateEntered' && 'state' in event) {
          run.progress.push(event.state.name);
          run.progress_at.push(new Date().toISOString());
        }
      }
    })().catch(() => undefined);
    const done = execution.result.then(
      (output: unknown) => {
        run.status = 'succeeded';
        run.ended_at = new Date().toISOString();
        run.output = output;
        this.persistEnd(run);
        return run;
      },
      (error: unknown) => {
        run.status = 'failed';
        run.ended_at = new Date().toISOString();
        // The runner wraps the error of the Fail state (or of a task nobody caught) as its cause.
        const failure = error as { name?: string; message?: string; cause?: { name?: string; message?: string } };
        const cause = failure.cause ?? failure;
        run.error = { name: String(cause.name ?? 'Error'), message: String(cause.message ?? error) };
        this.persistEnd(run);
        return run;
      },
    );
    return { run, done: done.then(async (r) => (await watch, r)) };
  }

  private handlers(runId: string): Record<string, TaskHandler> {
    const handlers: Record<string, TaskHandler> = {};
    const step = async (payload: Record<string, unknown>): Promise<JsonValue> => {
      const result = await this.handler(payload as StepEvent);
      // What a Lambda returns reaches Step Functions as JSON.
      return JSON.parse(JSON.stringify(result ?? null)) as JsonValue;
    };
    for (const name of LAMBDA_TASKS) {
      handlers[name] = async (input) => ({ Payload: await step((input as { Payload: Record<string, unknown> }).Payload) });
    }
    for (const name of NOTIFY_TASKS) {
      handlers[name] = async (input) => {
        const { Subject, Message } = input as { Subject?: string; Message?: string };
        this.record({ at: new Date().toISOString(), kind: 'notification', run_id: runId, subject: Subject ?? '', body: Message });
        return { MessageId: randomUUID() };
      };
    }
    for (const name of EVENT_TASKS) {
      handlers[name] = async (input) => {
        const entries = (input as { Entries: { DetailType: string; Detail: unknown }[] }).Entries;
        for (const entry of entries) {
          this.record({ at: new Date().toISOString(), kind: 'event', run_id: runId, detail_type: entry.DetailType, body: entry.Detail });
        }
        return { Entries: entries.map(() => ({ EventId: randomUUID() })), FailedEntryCount: 0 };
      };
    }
    handlers.ManualApproval = async (input) => {
      // The handler sends the approval notice (through the local notifier) as it does through SNS in AWS.
      const { approval_id: id } = (await step((input as { Payload: Record<string, unknown> }).Payload)) as unknown as { approval_id: string };
      for (;;) {
        const request = await this.options.approvals.get(id);
        if (request !== undefined && request.status !== 'pending') {
          return { approved: request.status === 'approved', decided_by: request.decided_by ?? '', reason: request.reason ?? '' };
        }
        await new Promise((resolve) => setTimeout(resolve, this.options.approvalPollMs ?? 250));
      }
    };
    const standIn = this.options.trainingJob;
    handlers.TrainOnSageMaker = async (input) => {
      if (standIn !== undefined) return (await standIn(input as Record<string, unknown>)) as unknown as JsonValue;
      throw new PipelineStepError('SageMaker training jobs need AWS; use the builtin trainers (logreg, gbdt) locally');
    };
    // The xgboost trainer's data step has run (its shards are in the local bucket); the algorithm itself is AWS's.
    handlers.TrainXgboostOnSageMaker = async (input) => {
      if (standIn !== undefined) return (await standIn(input as Record<string, unknown>)) as unknown as JsonValue;
      throw new PipelineStepError(
        "the xgboost trainer runs SageMaker's built-in XGBoost algorithm, which needs AWS; locally use the builtin trainers (logreg, gbdt), or train XGBoost elsewhere and register it with mlops --local register --xgboost model.json --metadata FILE",
      );
    };
    return handlers;
  }

  private record(event: PipelineEvent): void {
    this.events.push(event);
    this.options.onEvent?.(event);
  }
}
