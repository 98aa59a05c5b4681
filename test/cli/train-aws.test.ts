import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { CloudFormationClient, DescribeStacksCommand, type Output } from '@aws-sdk/client-cloudformation';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
  type HistoryEvent,
} from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runMlops, type CliResult } from '../support/mlops-cli.ts';
import type { RunReport } from '../../cli/run-report.ts';

/**
 * `mlops train`, `approve|reject` and `runs get` against a deployed stack, with the AWS SDK
 * mocked: the data goes to the artifact bucket, the run is a Step Functions execution named
 * by the run id, followed through DescribeExecution and GetExecutionHistory, and an approval
 * is answered with SendTaskSuccess and recorded in the registry table.
 */

const CREDIT_CSV = fileURLToPath(new URL('../../examples/credit/credit_data.csv', import.meta.url));
const CREDIT_SHA = createHash('sha256').update(readFileSync(CREDIT_CSV)).digest('hex');
const STATE_MACHINE = 'arn:aws:states:eu-west-1:123456789012:stateMachine:TrainingPipeline';
const executionOf = (name: string) => `arn:aws:states:eu-west-1:123456789012:execution:TrainingPipeline:${name}`;

const cloudFormation = mockClient(CloudFormationClient);
const s3 = mockClient(S3Client);
const sfn = mockClient(SFNClient);
const documents = mockClient(DynamoDBDocumentClient);
let sleeps: number[];

function outputs(extra: Output[] = [{ OutputKey: 'StateMachineArn', OutputValue: STATE_MACHINE }]): void {
  cloudFormation.on(DescribeStacksCommand).resolves({
    Stacks: [
      {
        StackName: 'serverless-mlops',
        CreationTime: new Date(0),
        StackStatus: 'CREATE_COMPLETE',
        Outputs: [
          { OutputKey: 'ArtifactBucketName', OutputValue: 'artifact-bucket' },
          { OutputKey: 'RegistryTableName', OutputValue: 'registry-table' },
          ...extra,
        ],
      },
    ],
  });
}

beforeEach(() => {
  sleeps = [];
  outputs();
  s3.on(PutObjectCommand).resolves({});
});

afterEach(() => {
  cloudFormation.reset();
  s3.reset();
  sfn.reset();
  documents.reset();
});

async function mlops(...args: string[]): Promise<CliResult> {
  return runMlops(['--region', 'eu-west-1', '--actor', 'alice@laptop', ...args], {
    cwd: tmpdir(),
    sleep: async (ms) => {
      sleeps.push(ms);
    },
  });
}

let eventId = 0;
function entered(name: string, type = 'TaskStateEntered'): HistoryEvent {
  eventId += 1;
  return { id: eventId, timestamp: new Date(0), type: type as HistoryEvent['type'], stateEnteredEventDetails: { name } };
}

function exited(name: string, output: unknown): HistoryEvent {
  eventId += 1;
  return { id: eventId, timestamp: new Date(0), type: 'TaskStateExited', stateExitedEventDetails: { name, output: JSON.stringify(output) } };
}

const METRICS = { roc_auc: 0.84, accuracy: 0.8, precision: 0.7, recall: 0.5, f1: 0.58, log_loss: 0.44 };
const PROMOTED_STATE = {
  model: 'credit',
  comparison: {
    result: {
      candidate: { seed: 1, candidate: {}, evaluation: { metrics: METRICS, fairness: null } },
      champion: { version: 3, metrics: { ...METRICS, roc_auc: 0.83 } },
      seeds: { runs: 2, metrics: {} },
    },
  },
  gate: {
    result: {
      passed: true,
      reasons: [{ check: 'min_roc_auc', passed: true, value: 0.84, threshold: 0.7, message: 'ROC AUC 0.84 is at least the min 0.7' }],
    },
  },
  registered: { result: { version: 4 } },
  promotion: { result: { version: 4, mode: 'canary at 0.1', message: 'model credit version 4 promoted to canary at 0.1' } },
};

describe('mlops train (AWS)', () => {
  it('uploads the data, starts an execution named by the run id and follows it to its outcome', async () => {
    sfn.on(StartExecutionCommand).callsFake((input: { name: string }) => ({ executionArn: executionOf(input.name), startDate: new Date(0) }));
    sfn
      .on(DescribeExecutionCommand)
      .resolvesOnce({ status: 'RUNNING', name: 'x', executionArn: 'x', stateMachineArn: STATE_MACHINE, startDate: new Date(0) })
      .resolvesOnce({ status: 'RUNNING', name: 'x', executionArn: 'x', stateMachineArn: STATE_MACHINE, startDate: new Date(0) })
      .resolves({ status: 'SUCCEEDED', name: 'x', executionArn: 'x', stateMachineArn: STATE_MACHINE, startDate: new Date(0), output: JSON.stringify(PROMOTED_STATE) });
    const history = [entered('ValidateData'), entered('TrainSeeds', 'MapStateEntered'), entered('Train'), entered('Train')];
    sfn
      .on(GetExecutionHistoryCommand)
      .resolvesOnce({ events: history.slice(0, 1) })
      .resolvesOnce({ events: history })
      .resolves({ events: [...history, entered('Promote'), entered('Promoted', 'SucceedStateEntered')] });

    const result = await mlops(
      'train', '--data', CREDIT_CSV, '--target', 'Status', '--positive', 'bad', '--model', 'credit',
      '--trainer', 'gbdt', '--seeds', '1,2', '--param', 'trees=50', '--param', 'learningRate=0.1', '--approval', '--canary', '10%', '--reason', 'monthly retrain',
    );

    expect(result.code).toBe(0);
    const put = s3.commandCalls(PutObjectCommand)[0]?.args[0].input;
    expect(put).toMatchObject({ Bucket: 'artifact-bucket', Key: `datasets/credit/${CREDIT_SHA}.csv`, ContentType: 'text/csv' });
    const start = sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input;
    expect(start?.stateMachineArn).toBe(STATE_MACHINE);
    expect(start?.name).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(JSON.parse(start?.input ?? '{}')).toEqual({
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
    expect(sfn.commandCalls(DescribeExecutionCommand).map((c) => c.args[0].input.executionArn)).toEqual([
      executionOf(start?.name ?? ''),
      executionOf(start?.name ?? ''),
      executionOf(start?.name ?? ''),
    ]);
    expect(sleeps).toEqual([2000, 2000]);
    // Each state once, as it is entered, however often the history is read.
    // By readable name, with the durations the execution history's timestamps give (all equal in this stub).
    expect(result.stderr.split('\n').filter((l) => l.startsWith('  ✓ '))).toEqual([
      '  ✓ validate the data          0 ms',
      '  ✓ train and evaluate         0 ms',
      '  ✓ promote                    0 ms',
    ]);
    expect(result.stdout).toMatch(/^outcome\s+promoted$/m);
    expect(result.stdout).toMatch(/^version\s+4$/m);
    expect(result.stdout).toMatch(/^mode\s+canary at 0\.1$/m);
    expect(result.stdout).toMatch(/^roc_auc\s+0\.8400\s+0\.8300$/m);
    expect(result.stdout).toContain('  ✓ min_roc_auc: ROC AUC 0.84 is at least the min 0.7');
  });

  it('prints the outcome as JSON, without progress', async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: 'x', startDate: new Date(0) });
    sfn.on(DescribeExecutionCommand).resolves({ status: 'SUCCEEDED', executionArn: 'x', stateMachineArn: STATE_MACHINE, startDate: new Date(0), output: JSON.stringify(PROMOTED_STATE) });
    sfn.on(GetExecutionHistoryCommand).resolves({ events: [entered('ValidateData')] });
    const result = await mlops('--json', 'train', '--data', CREDIT_CSV, '--target', 'Status', '--positive', 'bad', '--model', 'credit');
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
    const input = JSON.parse(sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input.input ?? '{}') as Record<string, unknown>;
    expect(Object.keys(input).sort()).toEqual(['dataset', 'model', 'positive_label', 'requested_by', 'run_id', 'target']);
  });

  it('exits 1 with the rejection message when the data fails validation', async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: 'x', startDate: new Date(0) });
    sfn.on(DescribeExecutionCommand).resolves({
      status: 'FAILED',
      executionArn: 'x',
      stateMachineArn: STATE_MACHINE,
      startDate: new Date(0),
      error: 'DataValidationFailed',
      cause: 'the training data failed its quality checks; see the data quality report',
    });
    sfn.on(GetExecutionHistoryCommand).resolves({
      events: [
        entered('ValidateData'),
        entered('RecordDataRejection'),
        exited('RecordDataRejection', { rejection: { result: { message: 'training run r of model credit rejected at ValidateData: too few rows' } } }),
        entered('DataRejected', 'FailStateEntered'),
      ],
    });
    const result = await mlops('--json', 'train', '--data', CREDIT_CSV, '--target', 'Status', '--positive', 'bad', '--model', 'credit');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^mlops: training run [0-9a-f-]{36} failed: DataValidationFailed\n$/);
    expect(JSON.parse(result.stdout)).toMatchObject({
      status: 'failed',
      outcome: 'failed',
      message: 'training run r of model credit rejected at ValidateData: too few rows',
      error: { name: 'DataValidationFailed', message: 'the training data failed its quality checks; see the data quality report' },
    });
  });

  it('says how to answer the approval the run waits for', async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: 'x', startDate: new Date(0) });
    sfn
      .on(DescribeExecutionCommand)
      .resolvesOnce({ status: 'RUNNING', executionArn: 'x', stateMachineArn: STATE_MACHINE, startDate: new Date(0) })
      .resolves({ status: 'SUCCEEDED', executionArn: 'x', stateMachineArn: STATE_MACHINE, startDate: new Date(0), output: JSON.stringify(PROMOTED_STATE) });
    const scheduled: HistoryEvent = {
      id: 99,
      timestamp: new Date(0),
      type: 'TaskScheduled',
      taskScheduledEventDetails: {
        resourceType: 'lambda',
        resource: 'invoke.waitForTaskToken',
        region: 'eu-west-1',
        parameters: JSON.stringify({ FunctionName: 'f', Payload: { step: 'request_approval', token: 'TOKEN-123', run: {} } }),
      },
    };
    sfn.on(GetExecutionHistoryCommand).resolves({ events: [entered('Gate'), entered('ManualApproval'), scheduled] });
    const result = await mlops('train', '--data', CREDIT_CSV, '--target', 'Status', '--positive', 'bad', '--model', 'credit', '--approval');
    const id = createHash('sha256').update('TOKEN-123').digest('hex').slice(0, 12);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain(`  waiting for approval: mlops approve ${id}  or  mlops reject ${id}\n`);
  });

  it('starts without following with --no-wait', async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: 'x', startDate: new Date(0) });
    const result = await mlops('train', '--data', CREDIT_CSV, '--target', 'Status', '--positive', 'bad', '--model', 'credit', '--no-wait');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^started training run ([0-9a-f-]{36}) of model credit \(follow it: mlops runs get \1 --wait\)\n$/);
    expect(sfn.commandCalls(DescribeExecutionCommand)).toHaveLength(0);
  });

  it('says when the stack has no state machine output', async () => {
    outputs([]);
    const result = await mlops('train', '--data', CREDIT_CSV, '--target', 'Status', '--positive', 'bad', '--model', 'credit');
    expect(result).toMatchObject({ code: 1, stdout: '' });
    expect(result.stderr).toBe('mlops: stack "serverless-mlops" has no output StateMachineArn: is it a serverless-mlops stack, fully deployed?\n');
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
  });
});

describe('mlops runs get (AWS)', () => {
  it('reads the execution the run id names', async () => {
    sfn.on(DescribeExecutionCommand).resolves({ status: 'RUNNING', name: 'run-1', executionArn: executionOf('run-1'), stateMachineArn: STATE_MACHINE, startDate: new Date(0) });
    sfn.on(GetExecutionHistoryCommand).resolves({ events: [entered('ValidateData')] });
    const result = await mlops('--json', 'runs', 'get', 'run-1');
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(result.stdout)).toMatchObject({ run_id: 'run-1', status: 'running', outcome: 'running' });
    expect(sfn.commandCalls(DescribeExecutionCommand)[0]?.args[0].input.executionArn).toBe(executionOf('run-1'));
  });
});

describe('mlops approve|reject (AWS)', () => {
  const pending = {
    pk: 'APPROVAL#abc123def456',
    sk: 'APPROVAL',
    id: 'abc123def456',
    task_token: 'TOKEN-123',
    model: 'credit',
    run_id: 'run-1',
    summary: 's',
    requested_at: '2026-01-01T00:00:00.000Z',
    status: 'pending',
    decided_by: null,
    decided_at: null,
    reason: null,
  };

  it('answers the task token with SendTaskSuccess, then records the decision', async () => {
    documents.on(GetCommand).resolves({ Item: pending });
    documents.on(UpdateCommand).resolves({});
    sfn.on(SendTaskSuccessCommand).resolves({});

    const approved = await mlops('approve', 'abc123def456', '--reason', 'looks good');

    expect(approved).toMatchObject({ code: 0, stderr: '' });
    expect(approved.stdout).toBe('approval abc123def456 approved: training run run-1 of model credit goes on to register and promote its candidate\n');
    expect(documents.commandCalls(GetCommand)[0]?.args[0].input).toMatchObject({ TableName: 'registry-table', Key: { pk: 'APPROVAL#abc123def456', sk: 'APPROVAL' } });
    const answer = sfn.commandCalls(SendTaskSuccessCommand)[0]?.args[0].input;
    expect(answer?.taskToken).toBe('TOKEN-123');
    expect(JSON.parse(answer?.output ?? '{}')).toEqual({ approved: true, decided_by: 'alice@laptop', reason: 'looks good' });
    expect(documents.commandCalls(UpdateCommand)[0]?.args[0].input.ExpressionAttributeValues).toMatchObject({
      ':status': 'approved',
      ':by': 'alice@laptop',
      ':reason': 'looks good',
    });

    const rejected = await mlops('--json', 'reject', 'abc123def456');
    expect(rejected.code).toBe(0);
    expect(JSON.parse(rejected.stdout)).toEqual({ id: 'abc123def456', model: 'credit', run_id: 'run-1', approved: false });
    expect(JSON.parse(sfn.commandCalls(SendTaskSuccessCommand)[1]?.args[0].input.output ?? '{}')).toEqual({
      approved: false,
      decided_by: 'alice@laptop',
      reason: '',
    });
  });

  it('fails with one line for an unknown, decided or expired approval', async () => {
    documents.on(GetCommand).resolves({});
    expect((await mlops('approve', 'nope')).stderr).toBe('mlops: no approval nope (APPROVAL_NOT_FOUND)\n');

    documents.on(GetCommand).resolves({ Item: { ...pending, status: 'rejected' } });
    const decided = await mlops('approve', 'abc123def456');
    expect(decided).toMatchObject({ code: 1, stdout: '', stderr: 'mlops: approval abc123def456 was decided already: rejected (ALREADY_DECIDED)\n' });

    documents.on(GetCommand).resolves({ Item: pending });
    sfn.on(SendTaskSuccessCommand).rejects(Object.assign(new Error('Task Timed Out'), { name: 'TaskTimedOut' }));
    const expired = await mlops('reject', 'abc123def456');
    expect(expired).toMatchObject({ code: 1, stderr: 'mlops: approval abc123def456: run run-1 no longer waits for it (TaskTimedOut)\n' });
    expect(sfn.commandCalls(SendTaskSuccessCommand)).toHaveLength(1);
    expect(documents.commandCalls(UpdateCommand)).toHaveLength(0);
  });
});
