import type { DecisionThresholdArgument } from './arguments.ts';
import { createHash } from 'node:crypto';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  SendTaskSuccessCommand,
  StartExecutionCommand,
  type HistoryEvent,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import type { ApprovalStore } from '#core/pipeline/ports.ts';
import { CliError, HttpApiError } from './errors.ts';
import type { ApiEndpoint } from './endpoint.ts';
import { LOCAL_ROUTES, routePath, type RouteSpec } from '#contracts/routes.ts';

/**
 * The training pipeline as the CLI sees it: start a run, read where it stands, answer an
 * approval. In AWS that is the state machine (Step Functions StartExecution,
 * DescribeExecution, GetExecutionHistory, SendTaskSuccess) and the approval records in the
 * registry table; locally it is the local platform's `/local/v1/...` routes.
 */

/** A run's input (the execution input): what `normalizeRun` reads. */
export interface RunInput {
  readonly run_id: string;
  readonly model: string;
  readonly dataset: { readonly key: string; readonly sha256: string };
  readonly target: string;
  readonly positive_label: string;
  readonly trainer?: string;
  readonly seeds?: readonly number[];
  readonly parameters?: Readonly<Record<string, number>>;
  readonly decision_threshold?: DecisionThresholdArgument;
  readonly class_weight?: 'none' | 'balanced';
  readonly missing_tokens?: readonly string[];
  readonly approval_required?: boolean;
  readonly promotion_mode?: 'production' | 'canary';
  readonly canary_share?: number;
  readonly requested_by: string;
  readonly reason?: string;
}

export type RunStatus = 'running' | 'succeeded' | 'failed';

/** Where a run stands. */
export interface RunSnapshot {
  readonly run_id: string;
  readonly status: RunStatus;
  /** Every state entered so far, in order. */
  readonly progress: readonly string[];
  /** When each state of `progress` was entered (ISO times), where the pipeline says. */
  readonly progress_at?: readonly string[];
  /** When the run ended, where the pipeline says. */
  readonly ended_at?: string;
  /** The final state when it succeeded; for a failed run, the last state known (may be absent). */
  readonly output?: unknown;
  readonly error?: { readonly name: string; readonly message: string };
  /** The approval a person answers with `mlops approve|reject ID`, once the run asked for one. */
  readonly approval_id?: string;
  /** The rejection or failure notification, when the output does not hold it. */
  readonly message?: string;
}

export interface ApprovalDecision {
  readonly approved: boolean;
  readonly by: string;
  readonly reason: string;
}

export interface ApprovalAnswer {
  readonly id: string;
  readonly model: string;
  readonly run_id: string;
  readonly approved: boolean;
}

export interface PipelineClient {
  /** True for the local platform (said in hints: `mlops --local approve ID`). */
  readonly local: boolean;
  /** How long to wait between two looks at a running run. */
  readonly pollMs: number;
  start(input: RunInput): Promise<string>;
  get(runId: string): Promise<RunSnapshot>;
  decide(id: string, decision: ApprovalDecision): Promise<ApprovalAnswer>;
}

export const LOCAL_POLL_MS = 300;
export const AWS_POLL_MS = 2000;

/** The approval id a person types: what `PipelineSteps.requestApproval` derives from the task token. */
export function approvalIdOf(taskToken: string): string {
  return createHash('sha256').update(taskToken).digest('hex').slice(0, 12);
}

// ---- the local platform ----

interface LocalRunAnswer {
  readonly run_id: string;
  readonly status: RunStatus;
  readonly progress?: readonly string[];
  readonly progress_at?: readonly string[];
  readonly ended_at?: string;
  readonly output?: unknown;
  readonly error?: { readonly name: string; readonly message: string };
  readonly events?: readonly { readonly kind: string; readonly subject?: string; readonly body?: unknown }[];
}

const APPROVAL_SUBJECT = /approval requested/;

export class LocalPipelineClient implements PipelineClient {
  readonly local = true;
  readonly pollMs = LOCAL_POLL_MS;

  constructor(private readonly endpoint: ApiEndpoint) {}

  async start(input: RunInput): Promise<string> {
    const answer = await this.call<{ run_id: string }>(LOCAL_ROUTES.startPipelineRun, {}, input);
    return answer.run_id;
  }

  async get(runId: string): Promise<RunSnapshot> {
    const run = await this.call<LocalRunAnswer>(LOCAL_ROUTES.describePipelineRun, { id: runId });
    const events = run.events ?? [];
    const notifications = events.filter((e) => e.kind === 'notification');
    const request = notifications.find((e) => APPROVAL_SUBJECT.test(e.subject ?? ''));
    const approvalId = request === undefined ? undefined : /approve ([0-9a-f]{12})/.exec(String(request.body))?.[1];
    const last = notifications.filter((e) => !APPROVAL_SUBJECT.test(e.subject ?? '')).at(-1);
    return {
      run_id: run.run_id,
      status: run.status,
      progress: run.progress ?? [],
      ...(run.progress_at === undefined ? {} : { progress_at: run.progress_at }),
      ...(run.ended_at === undefined ? {} : { ended_at: run.ended_at }),
      ...(run.output === undefined ? {} : { output: run.output }),
      ...(run.error === undefined ? {} : { error: run.error }),
      ...(approvalId === undefined ? {} : { approval_id: approvalId }),
      ...(typeof last?.body === 'string' ? { message: last.body } : {}),
    };
  }

  decide(id: string, decision: ApprovalDecision): Promise<ApprovalAnswer> {
    return this.call<ApprovalAnswer>(LOCAL_ROUTES.decideApproval, { id }, decision);
  }

  private async call<T>(route: RouteSpec, parameters: Readonly<Record<string, string>>, body?: unknown): Promise<T> {
    const response = await fetch(`${this.endpoint.url.replace(/\/+$/, '')}${routePath(route, parameters)}`, {
      method: route.method,
      headers: { 'x-api-key': this.endpoint.apiKey, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (!response.ok) {
      const error = (parsed as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
      throw new HttpApiError(
        response.status,
        typeof error?.code === 'string' ? error.code : 'HTTP_ERROR',
        typeof error?.message === 'string' ? error.message : `the local platform answered ${response.status} ${response.statusText}`,
      );
    }
    if (typeof parsed !== 'object' || parsed === null) throw new HttpApiError(response.status, 'UNEXPECTED_ANSWER', 'the local platform answered without JSON');
    return parsed as T;
  }
}

// ---- AWS: Step Functions ----

/** The states whose output holds the outcome of a run that ended in a Fail state. */
const RECORD_STATES = new Set(['RecordDataRejection', 'RecordRejection', 'RecordFailure']);
const TASK_GONE = new Set(['TaskTimedOut', 'TaskDoesNotExist', 'InvalidToken']);

function parseJson(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function messageOf(state: unknown): string | undefined {
  const s = state as { rejection?: { result?: { message?: unknown } }; failure?: { result?: { message?: unknown } } } | undefined;
  const message = s?.rejection?.result?.message ?? s?.failure?.result?.message;
  return typeof message === 'string' ? message : undefined;
}

export class SfnPipelineClient implements PipelineClient {
  readonly local = false;
  readonly pollMs = AWS_POLL_MS;

  constructor(
    private readonly sfn: SFNClient,
    private readonly stateMachineArn: string,
    private readonly approvals: ApprovalStore,
  ) {}

  /** A run id is the execution name; a full execution ARN is accepted too. */
  executionArn(runId: string): string {
    if (runId.startsWith('arn:')) return runId;
    return `${this.stateMachineArn.replace(':stateMachine:', ':execution:')}:${runId}`;
  }

  async start(input: RunInput): Promise<string> {
    await this.sfn.send(new StartExecutionCommand({ stateMachineArn: this.stateMachineArn, name: input.run_id, input: JSON.stringify(input) }));
    return input.run_id;
  }

  async get(runId: string): Promise<RunSnapshot> {
    const executionArn = this.executionArn(runId);
    const execution = await this.sfn.send(new DescribeExecutionCommand({ executionArn }));
    const history = await this.history(executionArn);
    const progress: string[] = [];
    const progressAt: string[] = [];
    let approvalId: string | undefined;
    let recorded: unknown;
    for (const event of history) {
      if (event.type?.endsWith('StateEntered') === true && event.stateEnteredEventDetails?.name !== undefined) {
        progress.push(event.stateEnteredEventDetails.name);
        progressAt.push(event.timestamp?.toISOString() ?? '');
      }
      if (event.type?.endsWith('StateExited') === true && RECORD_STATES.has(event.stateExitedEventDetails?.name ?? '')) {
        recorded = parseJson(event.stateExitedEventDetails?.output);
      }
      const parameters = parseJson(event.taskScheduledEventDetails?.parameters) as { Payload?: { step?: unknown; token?: unknown } } | undefined;
      if (parameters?.Payload?.step === 'request_approval' && typeof parameters.Payload.token === 'string') {
        approvalId = approvalIdOf(parameters.Payload.token);
      }
    }
    const name = (execution.name ?? runId).split(':').at(-1) ?? runId;
    const common = {
      run_id: name,
      progress,
      progress_at: progressAt,
      ...(execution.stopDate === undefined ? {} : { ended_at: execution.stopDate.toISOString() }),
      ...(approvalId === undefined ? {} : { approval_id: approvalId }) };
    switch (execution.status) {
      case 'SUCCEEDED':
        return { ...common, status: 'succeeded', output: parseJson(execution.output) };
      case 'RUNNING':
      case undefined:
        return { ...common, status: 'running' };
      default: {
        const message = messageOf(recorded);
        return {
          ...common,
          status: 'failed',
          ...(recorded === undefined ? {} : { output: recorded }),
          error: { name: execution.error ?? execution.status, message: execution.cause ?? '' },
          ...(message === undefined ? {} : { message }),
        };
      }
    }
  }

  async decide(id: string, decision: ApprovalDecision): Promise<ApprovalAnswer> {
    const request = await this.approvals.get(id);
    if (request === undefined) throw new CliError(`no approval ${id} (APPROVAL_NOT_FOUND)`);
    if (request.status !== 'pending') throw new CliError(`approval ${id} was decided already: ${request.status} (ALREADY_DECIDED)`);
    try {
      await this.sfn.send(
        new SendTaskSuccessCommand({
          taskToken: request.task_token,
          output: JSON.stringify({ approved: decision.approved, decided_by: decision.by, reason: decision.reason }),
        }),
      );
    } catch (error) {
      if (error instanceof Error && TASK_GONE.has(error.name)) {
        throw new CliError(`approval ${id}: run ${request.run_id} no longer waits for it (${error.name})`);
      }
      throw error;
    }
    const decided = await this.approvals.decide(id, { ...decision, at: new Date().toISOString() });
    if (!decided) throw new CliError(`approval ${id} was decided by someone else at the same time (ALREADY_DECIDED)`);
    return { id, model: request.model, run_id: request.run_id, approved: decision.approved };
  }

  private async history(executionArn: string): Promise<HistoryEvent[]> {
    const events: HistoryEvent[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000, includeExecutionData: true, nextToken }));
      events.push(...(page.events ?? []));
      nextToken = page.nextToken;
    } while (nextToken !== undefined);
    return events;
  }
}
