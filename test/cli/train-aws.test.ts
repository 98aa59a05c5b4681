import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CloudFormationClient, DescribeStacksCommand, type Output } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_PIPELINE_CONFIG, normalizeRun } from '#core/pipeline/run.ts';
import { startDynamoDb, startS3, type RunningEmulator } from '../../local/emulators.ts';
import { ensureRegistryTable } from '../../local/provision.ts';
import { runMlops, type CliResult } from '../support/mlops-cli.ts';
import { recordTrainingExecution, type RecordedExecution, type StepAnswers } from '../support/recorded-execution.ts';
import type { RunReport } from '../../cli/run-report.ts';

/**
 * `mlops train`, `approve|reject` and `runs get` against a deployed stack. The artifact bucket is s3rver and the
 * registry table dynalite, both real servers on 127.0.0.1 that the CLI's own SDK clients reach (through the SDK's
 * AWS_ENDPOINT_URL_S3 / _DYNAMODB settings). The Step Functions execution the CLI follows is one the training
 * pipeline's real ASL produced in aws-local-stepfunctions (test/support/recorded-execution.ts), served through
 * DescribeExecution and GetExecutionHistory; CloudFormation's stack outputs and SendTaskSuccess faults are stubbed.
 */

const CREDIT_CSV = fileURLToPath(new URL('../../examples/credit/credit_data.csv', import.meta.url));
const CREDIT_BYTES = readFileSync(CREDIT_CSV);
const CREDIT_SHA = createHash('sha256').update(CREDIT_BYTES).digest('hex');
const STATE_MACHINE = 'arn:aws:states:eu-west-1:123456789012:stateMachine:TrainingPipeline';
const BUCKET = 'artifact-bucket';
const UNTOUCHED_BUCKET = 'untouched-bucket';
const TABLE = 'registry-table';
const executionOf = (name: string) => `arn:aws:states:eu-west-1:123456789012:execution:TrainingPipeline:${name}`;

const cloudFormation = mockClient(CloudFormationClient);
const sfn = mockClient(SFNClient);
let sleeps: number[];
let dataDir: string;
let dynalite: RunningEmulator;
let s3rver: RunningEmulator;
let s3: S3Client;
let documents: DynamoDBDocumentClient;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'mlops-train-aws-'));
  [dynalite, s3rver] = await Promise.all([startDynamoDb(dataDir), startS3(dataDir, [BUCKET, UNTOUCHED_BUCKET])]);
  // The CLI builds its clients with a region only, as against AWS; the SDK's endpoint settings send them here.
  vi.stubEnv('AWS_ENDPOINT_URL_S3', s3rver.endpoint);
  vi.stubEnv('AWS_ENDPOINT_URL_DYNAMODB', dynalite.endpoint);
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'S3RVER'); // s3rver's own key pair; dynalite takes any
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'S3RVER');
  const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
  const dynamo = new DynamoDBClient({ region: 'eu-west-1', endpoint: dynalite.endpoint, credentials });
  await ensureRegistryTable(dynamo, TABLE);
  documents = DynamoDBDocumentClient.from(dynamo);
  s3 = new S3Client({ region: 'eu-west-1', endpoint: s3rver.endpoint, forcePathStyle: true, credentials });
});

afterAll(async () => {
  vi.unstubAllEnvs();
  documents?.destroy();
  s3?.destroy();
  await Promise.all([dynalite?.close(), s3rver?.close()]);
  rmSync(dataDir, { recursive: true, force: true });
});

function outputs(list: Output[]): void {
  cloudFormation.on(DescribeStacksCommand).resolves({
    Stacks: [{ StackName: 'serverless-mlops', CreationTime: new Date(0), StackStatus: 'CREATE_COMPLETE', Outputs: list }],
  });
}

const STACK_OUTPUTS: Output[] = [
  { OutputKey: 'ArtifactBucketName', OutputValue: BUCKET },
  { OutputKey: 'RegistryTableName', OutputValue: TABLE },
  { OutputKey: 'StateMachineArn', OutputValue: STATE_MACHINE },
];

beforeEach(() => {
  sleeps = [];
  outputs(STACK_OUTPUTS);
});

afterEach(() => {
  cloudFormation.reset();
  sfn.reset();
});

async function mlops(...args: string[]): Promise<CliResult> {
  return runMlops(['--region', 'eu-west-1', '--actor', 'alice@laptop', ...args], {
    cwd: tmpdir(),
    sleep: async (ms) => {
      sleeps.push(ms);
    },
  });
}

const METRICS = { roc_auc: 0.84, accuracy: 0.8, precision: 0.7, recall: 0.5, f1: 0.58, log_loss: 0.44 };

/** The run as ValidateData completes it (defaults filled), by the pipeline's own rules. */
const validatedRun = (payload: Record<string, unknown>) => normalizeRun(payload.run, DEFAULT_PIPELINE_CONFIG, new Date(), randomUUID);

/** The pipeline Lambda's answers for a run that passes its gate and is promoted to a canary. */
function promotingAnswers(approved = true): StepAnswers {
  return {
    validate_data: (payload) => ({ ...validatedRun(payload), validation: { passed: true } }),
    train: (payload) => ({ seed: payload.seed, candidate: {} }),
    evaluate: (payload) => ({ seed: payload.seed, candidate: {}, evaluation: { metrics: METRICS, fairness: null } }),
    compare_with_champion: () => ({
      candidate: { seed: 1, candidate: {}, evaluation: { metrics: METRICS, fairness: null } },
      champion: { version: 3, metrics: { ...METRICS, roc_auc: 0.83 } },
      seeds: { runs: 2, metrics: {} },
    }),
    gate: () => ({
      passed: true,
      reasons: [{ check: 'min_roc_auc', passed: true, value: 0.84, threshold: 0.7, message: 'ROC AUC 0.84 is at least the min 0.7' }],
    }),
    request_approval: () => ({ approved, decided_by: 'bob@laptop', reason: 'ok' }),
    record_rejection: (payload) => ({ message: 'rejected by bob@laptop', event: { model: 'credit', stage: payload.stage } }),
    register: () => ({ version: 4 }),
    promote: () => ({ version: 4, mode: 'canary at 0.1', message: 'model credit version 4 promoted to canary at 0.1', event: { model: 'credit', version: 4 } }),
    record_failure: () => ({ message: 'failed', event: { model: 'credit' } }),
  };
}

/** The run input `mlops train` sent, for the ASL to run on. */
function startedInput(): Record<string, unknown> {
  return JSON.parse(sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input.input ?? '{}') as Record<string, unknown>;
}

/**
 * Serves an execution to the CLI: StartExecution records the input, the run is recorded from it (the ASL in
 * aws-local-stepfunctions), and each DescribeExecution/GetExecutionHistory pair shows it running with the first
 * `cuts[i]` events of its history, then ended with all of them.
 */
function serveExecution(answers: StepAnswers, cuts: (events: RecordedExecution['events']) => number[], token = 'TOKEN-123'): void {
  let recorded: Promise<RecordedExecution> | undefined;
  const execution = () => (recorded ??= recordTrainingExecution(startedInput(), answers, token));
  let looks = 0;
  let shown = 0;
  sfn.on(StartExecutionCommand).callsFake((input: { name: string }) => ({ executionArn: executionOf(input.name), startDate: new Date(0) }));
  sfn.on(DescribeExecutionCommand).callsFake(async (input: { executionArn: string }) => {
    const run = await execution();
    const cut = cuts(run.events)[looks];
    looks += 1;
    shown = cut ?? run.events.length;
    const common = { executionArn: input.executionArn, name: input.executionArn.split(':').at(-1), stateMachineArn: STATE_MACHINE, startDate: run.events[0]?.timestamp };
    if (cut !== undefined) return { ...common, status: 'RUNNING' };
    const stopDate = run.events.at(-1)?.timestamp;
    return { ...common, stopDate, status: run.status, output: run.output, error: run.error, cause: run.cause };
  });
  sfn.on(GetExecutionHistoryCommand).callsFake(async () => ({ events: (await execution()).events.slice(0, shown) }));
}

const TRAIN = ['train', '--data', CREDIT_CSV, '--target', 'Status', '--positive', 'bad', '--model', 'credit'];
/** The steps an approval-gated run prints up to its approval. */
const UP_TO_APPROVAL = ['validate the data', 'train and evaluate', 'compare with the champion', 'gate', 'wait for approval'];
const STEP_LINE = /^ {2}✓ (.+?) +\d+(\.\d)? m?s$/;

function stepsPrinted(stderr: string): string[] {
  return stderr
    .split('\n')
    .filter((l) => l.startsWith('  ✓ '))
    .map((l) => {
      expect(l).toMatch(STEP_LINE);
      return STEP_LINE.exec(l)?.[1] ?? '';
    });
}

describe('mlops train (AWS)', () => {
  it('uploads the data, starts an execution named by the run id and follows it to its outcome', async () => {
    // Running at the first look with ValidateData entered, at the second inside the seeds' Map, then ended.
    serveExecution(promotingAnswers(), (events) => {
      const entered = (name: string) => events.findIndex((e) => e.stateEnteredEventDetails?.name === name) + 1;
      return [entered('ValidateData'), entered('Evaluate')];
    });

    const result = await mlops(
      ...TRAIN, '--trainer', 'gbdt', '--seeds', '1,2', '--param', 'trees=50', '--param', 'learningRate=0.1', '--approval', '--canary', '10%', '--reason', 'monthly retrain',
    );

    expect(result.code).toBe(0);
    const stored = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: `datasets/credit/${CREDIT_SHA}.csv` }));
    expect(stored.ContentType).toBe('text/csv');
    expect(createHash('sha256').update((await stored.Body?.transformToByteArray()) ?? '').digest('hex')).toBe(CREDIT_SHA);
    const start = sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input;
    expect(start?.stateMachineArn).toBe(STATE_MACHINE);
    expect(start?.name).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(startedInput()).toEqual({
      run_id: start?.name,
      model: 'credit',
      dataset: { key: `datasets/credit/${CREDIT_SHA}.csv`, sha256: CREDIT_SHA },
      target: 'Status',
      positive_label: 'bad',
      trainer: 'gbdt',
      seeds: [1, 2],
      parameters: { trees: 50, learningRate: 0.1 },
      approval_required: true,
      promotion_mode: 'canary',
      canary_share: 0.1,
      requested_by: 'alice@laptop',
      reason: 'monthly retrain',
    });
    expect(sfn.commandCalls(DescribeExecutionCommand).map((c) => c.args[0].input.executionArn)).toEqual(Array(3).fill(executionOf(start?.name ?? '')));
    expect(sleeps).toEqual([2000, 2000]);
    // Each state the ASL went through once, as it finished, however often the history was read; with a duration.
    expect(stepsPrinted(result.stderr)).toEqual([
      ...UP_TO_APPROVAL,
      'register the version',
      'promote',
      'notify: promoted',
      'event: ModelPromoted',
    ]);
    expect(result.stdout).toMatch(/^outcome\s+promoted$/m);
    expect(result.stdout).toMatch(/^version\s+4$/m);
    expect(result.stdout).toMatch(/^mode\s+canary at 0\.1$/m);
    expect(result.stdout).toMatch(/^roc_auc\s+0\.8400\s+0\.8300$/m);
    expect(result.stdout).toContain('  ✓ min_roc_auc: ROC AUC 0.84 is at least the min 0.7');
  });

  it('prints the outcome as JSON, without progress', async () => {
    serveExecution(promotingAnswers(), () => []);
    const result = await mlops('--json', ...TRAIN);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    const report = JSON.parse(result.stdout) as RunReport;
    expect(report).toMatchObject({
      status: 'succeeded',
      outcome: 'promoted',
      version: 4,
      mode: 'canary at 0.1',
      metrics: METRICS,
      fairness: null,
      champion: { version: 3 },
      gate: { passed: true },
      message: 'model credit version 4 promoted to canary at 0.1',
    });
    expect(Object.keys(startedInput()).sort()).toEqual(['dataset', 'model', 'positive_label', 'requested_by', 'run_id', 'target']);
  });

  it('exits 1 with the rejection message when the data fails validation', async () => {
    serveExecution(
      {
        ...promotingAnswers(),
        validate_data: (payload) => ({ ...validatedRun(payload), validation: { passed: false } }),
        record_rejection: (payload) => ({
          message: `training run ${String((payload.run as { run_id: string }).run_id)} of model credit rejected at ${String(payload.stage)}: too few rows`,
          event: { model: 'credit', stage: payload.stage },
        }),
      },
      () => [],
    );
    const result = await mlops('--json', ...TRAIN);
    expect(result.code).toBe(1);
    const runId = startedInput().run_id as string;
    expect(result.stderr).toBe(`mlops: training run ${runId} failed: DataValidationFailed\n`);
    const report = JSON.parse(result.stdout) as RunReport;
    expect(report).toMatchObject({
      status: 'failed',
      outcome: 'failed',
      message: `training run ${runId} of model credit rejected at ValidateData: too few rows`,
      // The ASL's DataRejected Fail state's error and cause, as DescribeExecution reports them.
      error: { name: 'DataValidationFailed', message: 'the training data failed its quality checks; see the data quality report' },
    });
  });

  it('says how to answer the approval the run waits for, and exits 3 when the answer rejects the candidate', async () => {
    serveExecution(
      promotingAnswers(false),
      (events) => [events.findIndex((e) => e.type === 'TaskScheduled') + 1],
      'TOKEN-123',
    );
    const result = await mlops(...TRAIN, '--approval');
    const id = createHash('sha256').update('TOKEN-123').digest('hex').slice(0, 12);
    expect(result.code).toBe(3); // the run ended with its candidate rejected
    expect(result.stderr).toContain(`  waiting for approval: mlops approve ${id}  or  mlops reject ${id}\n`);
    expect(stepsPrinted(result.stderr)).toEqual([
      ...UP_TO_APPROVAL,
      'record the rejection',
      'notify: rejected',
      'event: ModelRejected',
    ]);
    expect(result.stdout).toMatch(/^outcome\s+rejected$/m);
  });

  it('starts without following with --no-wait', async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: 'x', startDate: new Date(0) });
    const result = await mlops(...TRAIN, '--no-wait');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^started training run ([0-9a-f-]{36}) of model credit \(follow it: mlops runs get \1 --wait\)\n$/);
    expect(sfn.commandCalls(DescribeExecutionCommand)).toHaveLength(0);
  });

  it('says when the stack has no state machine output, before uploading anything', async () => {
    outputs([
      { OutputKey: 'ArtifactBucketName', OutputValue: UNTOUCHED_BUCKET },
      { OutputKey: 'RegistryTableName', OutputValue: TABLE },
    ]);
    const result = await mlops(...TRAIN);
    expect(result).toMatchObject({ code: 1, stdout: '' });
    expect(result.stderr).toBe('mlops: stack "serverless-mlops" has no output StateMachineArn: is it a serverless-mlops stack, fully deployed?\n');
    expect((await s3.send(new ListObjectsV2Command({ Bucket: UNTOUCHED_BUCKET }))).KeyCount ?? 0).toBe(0);
  });
});

describe('mlops runs get (AWS)', () => {
  it('reads the execution the run id names', async () => {
    const run = `run-${randomUUID()}`;
    const recorded = await recordTrainingExecution(
      { run_id: run, model: 'credit', dataset: { key: `datasets/credit/${CREDIT_SHA}.csv`, sha256: CREDIT_SHA }, target: 'Status', positive_label: 'bad' },
      promotingAnswers(),
    );
    sfn.on(DescribeExecutionCommand).resolves({ status: 'RUNNING', name: run, executionArn: executionOf(run), stateMachineArn: STATE_MACHINE, startDate: new Date(0) });
    sfn.on(GetExecutionHistoryCommand).resolves({ events: recorded.events.slice(0, 1) });
    const result = await mlops('--json', 'runs', 'get', run);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(result.stdout)).toMatchObject({ run_id: run, status: 'running', outcome: 'running' });
    expect(sfn.commandCalls(DescribeExecutionCommand)[0]?.args[0].input.executionArn).toBe(executionOf(run));
  });
});

describe('mlops approve|reject (AWS)', () => {
  /** A pending approval in the registry table, as the pipeline's request_approval step writes it. */
  async function pending(status = 'pending'): Promise<string> {
    const id = randomUUID().replaceAll('-', '').slice(0, 12);
    await documents.send(
      new PutCommand({
        TableName: TABLE,
        Item: {
          pk: `APPROVAL#${id}`,
          sk: 'APPROVAL',
          id,
          task_token: `TOKEN-${id}`,
          model: 'credit',
          run_id: 'run-1',
          summary: 's',
          requested_at: '2026-01-01T00:00:00.000Z',
          status,
          decided_by: null,
          decided_at: null,
          reason: null,
        },
      }),
    );
    return id;
  }

  const stored = async (id: string) => (await documents.send(new GetCommand({ TableName: TABLE, Key: { pk: `APPROVAL#${id}`, sk: 'APPROVAL' } }))).Item;

  it('answers the task token with SendTaskSuccess, then records the decision', async () => {
    sfn.on(SendTaskSuccessCommand).resolves({});
    const first = await pending();

    const approved = await mlops('approve', first, '--reason', 'looks good');

    expect(approved).toMatchObject({ code: 0, stderr: '' });
    expect(approved.stdout).toBe(`approval ${first} approved: training run run-1 of model credit goes on to register and promote its candidate\n`);
    const answer = sfn.commandCalls(SendTaskSuccessCommand)[0]?.args[0].input;
    expect(answer?.taskToken).toBe(`TOKEN-${first}`);
    expect(JSON.parse(answer?.output ?? '{}')).toEqual({ approved: true, decided_by: 'alice@laptop', reason: 'looks good' });
    expect(await stored(first)).toMatchObject({ status: 'approved', decided_by: 'alice@laptop', reason: 'looks good' });

    const second = await pending();
    const rejected = await mlops('--json', 'reject', second);
    expect(rejected.code).toBe(0);
    expect(JSON.parse(rejected.stdout)).toEqual({ id: second, model: 'credit', run_id: 'run-1', approved: false });
    expect(JSON.parse(sfn.commandCalls(SendTaskSuccessCommand)[1]?.args[0].input.output ?? '{}')).toEqual({
      approved: false,
      decided_by: 'alice@laptop',
      reason: '',
    });
    expect(await stored(second)).toMatchObject({ status: 'rejected', decided_by: 'alice@laptop' });
    // Deciding again is refused: the record says it was decided.
    expect(await mlops('approve', first)).toMatchObject({ code: 1, stderr: `mlops: approval ${first} was decided already: approved (ALREADY_DECIDED)\n` });
  });

  it('fails with one line for an unknown, decided or expired approval', async () => {
    expect((await mlops('approve', 'nope')).stderr).toBe('mlops: no approval nope (APPROVAL_NOT_FOUND)\n');

    const decided = await pending('rejected');
    expect(await mlops('approve', decided)).toMatchObject({ code: 1, stdout: '', stderr: `mlops: approval ${decided} was decided already: rejected (ALREADY_DECIDED)\n` });

    const expired = await pending();
    sfn.on(SendTaskSuccessCommand).rejects(Object.assign(new Error('Task Timed Out'), { name: 'TaskTimedOut' }));
    expect(await mlops('reject', expired)).toMatchObject({ code: 1, stderr: `mlops: approval ${expired}: run run-1 no longer waits for it (TaskTimedOut)\n` });
    expect(sfn.commandCalls(SendTaskSuccessCommand)).toHaveLength(1);
    expect(await stored(expired)).toMatchObject({ status: 'pending', decided_by: null });
  });
});
