import type { HistoryEvent } from '@aws-sdk/client-sfn';
import { StateMachine } from 'aws-local-stepfunctions';
import { loadPipelineDefinition } from '../../local/pipeline.ts';

type Definition = ConstructorParameters<typeof StateMachine>[0];
type JsonValue = Parameters<NonNullable<NonNullable<NonNullable<Parameters<StateMachine['run']>[1]>['overrides']>['taskResourceLocalHandlers']>[string]>[0];

/**
 * One execution of the training pipeline's real ASL (step-functions/training-pipeline.asl.json) in
 * aws-local-stepfunctions, recorded as the Step Functions API reports it: its events as
 * GetExecutionHistory's `HistoryEvent`s and its end as DescribeExecution's status, output, error and cause.
 * The pipeline Lambda's answers are given per step (its `Payload.step`); which states run, in which order,
 * what each passes on and how the run ends are the ASL's own, so the CLI tests read a history the ASL produced.
 */
export interface RecordedExecution {
  readonly events: HistoryEvent[];
  readonly status: 'SUCCEEDED' | 'FAILED';
  readonly output?: string;
  readonly error?: string;
  readonly cause?: string;
}

/** What the pipeline Lambda answers to one step's payload. */
export type StepAnswers = Readonly<Record<string, (payload: Record<string, unknown>) => unknown>>;

const SUBSTITUTIONS = {
  PipelineFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:training-pipeline',
  NotificationTopicArn: 'arn:aws:sns:eu-west-1:123456789012:mlops-notifications',
  EventBusName: 'default',
  SageMakerRoleArn: 'arn:aws:iam::123456789012:role/mlops-sagemaker-training',
  TrainingImage: 'image',
  TrainingInstanceType: 'ml.m5.xlarge',
  ArtifactBucketName: 'artifact-bucket',
  XgboostImage: 'image',
  XgboostDataDistribution: 'FullyReplicated',
};

interface AslState {
  readonly Type: string;
  readonly Resource?: string;
  readonly ItemProcessor?: { readonly States: Record<string, AslState> };
}

function taskResources(states: Record<string, AslState>, into = new Map<string, string>()): Map<string, string> {
  for (const [name, state] of Object.entries(states)) {
    if (state.Type === 'Task' && state.Resource !== undefined) into.set(name, state.Resource);
    if (state.ItemProcessor !== undefined) taskResources(state.ItemProcessor.States, into);
  }
  return into;
}

/** `Task` -> `TaskStateEntered`, `Map` -> `MapStateEntered`, as Step Functions names its events. */
function eventType(stateType: string, phase: 'Entered' | 'Exited'): HistoryEvent['type'] {
  return `${stateType}State${phase}` as HistoryEvent['type'];
}

/** Runs the ASL on `input` with the given step answers and token; resolves with its recorded execution. */
export async function recordTrainingExecution(input: Record<string, unknown>, answers: StepAnswers, taskToken = 'TOKEN'): Promise<RecordedExecution> {
  const definition = loadPipelineDefinition(SUBSTITUTIONS);
  const resources = taskResources(definition.States as unknown as Record<string, AslState>);
  const scheduled = new Map<string, string>();
  const handlers: Record<string, (input: JsonValue) => Promise<JsonValue>> = {};
  for (const [name, resource] of resources) {
    handlers[name] = async (parameters) => {
      if (!resource.startsWith('arn:aws:states:::lambda:invoke')) return {}; // SNS Publish, EventBridge PutEvents
      const payload = (parameters as { Payload: Record<string, unknown> }).Payload;
      const answer = answers[String(payload.step)];
      if (answer === undefined) throw new Error(`no answer for step ${String(payload.step)} (state ${name})`);
      const result = JSON.parse(JSON.stringify(answer(payload) ?? null)) as JsonValue;
      if (resource.endsWith('.waitForTaskToken')) {
        scheduled.set(name, JSON.stringify(parameters));
        return result; // the task token's answer: what SendTaskSuccess gives
      }
      return { Payload: result };
    };
  }
  const machine = new StateMachine(definition as Definition, { validationOptions: { checkPaths: true, checkArn: true } });
  const execution = machine.run(input as JsonValue, { overrides: { taskResourceLocalHandlers: handlers }, context: { Task: { Token: taskToken } } });
  const logs = [];
  for await (const log of execution.eventLogs) logs.push(log);
  await execution.result.catch(() => undefined);

  const events: HistoryEvent[] = [];
  const add = (event: Omit<HistoryEvent, 'id'>) => events.push({ ...event, id: events.length + 1 } as HistoryEvent);
  let end: Omit<RecordedExecution, 'events'> = { status: 'FAILED' };
  for (const log of logs) {
    const timestamp = new Date(log.timestamp);
    if (log.type === 'StateEntered') {
      add({ timestamp, type: eventType(log.state.type, 'Entered'), stateEnteredEventDetails: { name: log.state.name, input: JSON.stringify(log.state.input) } });
      const parameters = scheduled.get(log.state.name);
      if (parameters !== undefined) {
        add({
          timestamp,
          type: 'TaskScheduled',
          taskScheduledEventDetails: { resourceType: 'lambda', resource: 'invoke.waitForTaskToken', region: 'eu-west-1', parameters },
        });
      }
    } else if (log.type === 'StateExited') {
      add({ timestamp, type: eventType(log.state.type, 'Exited'), stateExitedEventDetails: { name: log.state.name, output: JSON.stringify(log.state.output) } });
    } else if (log.type === 'ExecutionSucceeded') {
      add({ timestamp, type: 'ExecutionSucceeded', executionSucceededEventDetails: { output: JSON.stringify(log.output) } });
      end = { status: 'SUCCEEDED', output: JSON.stringify(log.output) };
    } else if (log.type === 'ExecutionFailed') {
      add({ timestamp, type: 'ExecutionFailed', executionFailedEventDetails: { error: log.Error, cause: String(log.Cause) } });
      end = { status: 'FAILED', error: log.Error, cause: String(log.Cause) };
    }
  }
  return { events, ...end };
}
