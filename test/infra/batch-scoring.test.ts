import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Match } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../lib/constructs/mlops-function.ts';
import { BATCH_SCORING_ASL, BATCH_SUBSTITUTION_KEYS } from '../../lib/constructs/batch-scoring.ts';
import { buildStack, type Built } from './support.ts';

type Json = Record<string, unknown>;
interface State extends Json {
  readonly Type: string;
  readonly Next?: string;
  readonly Default?: string;
  readonly Choices?: ReadonlyArray<{ readonly Next?: string }>;
  readonly Catch?: ReadonlyArray<{ readonly Next: string }>;
  readonly ItemProcessor?: { readonly StartAt: string; readonly States: Readonly<Record<string, State>>; readonly ProcessorConfig?: Json };
}

const ASL_TEXT = readFileSync(join(PROJECT_ROOT, BATCH_SCORING_ASL), 'utf8');
const machine = JSON.parse(ASL_TEXT) as { StartAt: string; States: Record<string, State> };

describe('step-functions/batch-scoring.asl.json', () => {
  it('parses, fills every ${placeholder} from the construct, and every Next, Default and Catch names a state of its scope', () => {
    const placeholders = new Set([...ASL_TEXT.matchAll(/\$\{(\w+)\}/g)].map((m) => m[1]));
    expect([...placeholders].sort()).toEqual([...BATCH_SUBSTITUTION_KEYS].sort());
    const check = (states: Record<string, State>, start: string) => {
      expect(states[start]).toBeDefined();
      for (const state of Object.values(states)) {
        const targets = [state.Next, state.Default, ...(state.Choices ?? []).map((c) => c.Next), ...(state.Catch ?? []).map((c) => c.Next)];
        for (const target of targets) if (target !== undefined) expect(Object.keys(states)).toContain(target);
        if (state.ItemProcessor !== undefined) check(state.ItemProcessor.States as Record<string, State>, state.ItemProcessor.StartAt);
      }
    };
    check(machine.States, machine.StartAt);
  });

  it('reads each input object with a Distributed Map: ItemReader (CSV with a header, JSON lines), ItemBatcher, the tolerated failure percentage and concurrency from the plan, ResultWriter', () => {
    for (const [name, inputType] of [['ScoreCsvObject', 'CSV'], ['ScoreJsonLinesObject', 'JSONL']] as const) {
      const map = machine.States[name] as State;
      expect(map.Type).toBe('Map');
      expect(map.ItemProcessor?.ProcessorConfig).toEqual({ Mode: 'DISTRIBUTED', ExecutionType: 'EXPRESS' });
      expect(map['ItemReader']).toMatchObject({ Resource: 'arn:aws:states:::s3:getObject', ReaderConfig: { InputType: inputType } });
      expect(map['ItemBatcher']).toMatchObject({ MaxItemsPerBatchPath: '$.batching.max_items_per_batch', BatchInput: expect.any(Object) });
      expect(map['ToleratedFailurePercentagePath']).toBe('$.batching.tolerated_failure_percentage');
      expect(map['MaxConcurrencyPath']).toBe('$.batching.max_concurrency');
      expect(map['ResultWriter']).toMatchObject({ Resource: 'arn:aws:states:::s3:putObject' });
      expect(map.Catch?.map((c) => c.Next)).toEqual(['RecordFailure']);
    }
    expect(machine.States['TransformOnSageMaker']).toMatchObject({ Resource: 'arn:aws:states:::sagemaker:createTransformJob.sync' });
  });
});

describe('BatchScoring construct', () => {
  let built: Built;
  beforeAll(() => {
    built = buildStack({ batch: { maxItemsPerBatch: 250, toleratedFailurePercentage: 5 } });
  });

  it('synthesizes the batch state machine with its Distributed Map, logging to /aws/vendedlogs/states/ with tracing', () => {
    const machines = built.template.findResources('AWS::StepFunctions::StateMachine', { Properties: { StateMachineName: 'serverless-mlops-batch-scoring' } });
    const [resource] = Object.values(machines) as { Properties: { DefinitionString: unknown; TracingConfiguration: Json } }[];
    expect(resource).toBeDefined();
    expect(JSON.stringify(resource?.Properties.DefinitionString)).toContain('\\"Mode\\": \\"DISTRIBUTED\\"');
    expect(resource?.Properties.TracingConfiguration).toEqual({ Enabled: true });
    built.template.hasResourceProperties('AWS::Logs::LogGroup', { LogGroupName: '/aws/vendedlogs/states/serverless-mlops-batch-scoring' });
  });

  it('gives the batch function the config as environment and the Distributed Map the rights to start its own children', () => {
    built.template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ BATCH_MAX_ITEMS_PER_BATCH: '250', BATCH_TOLERATED_FAILURE_PERCENTAGE: '5', BATCH_MAX_CONCURRENCY: '100' }) },
    });
    const policies = built.template.findResources('AWS::IAM::Policy');
    const statements = Object.values(policies).flatMap((p) => ((p as { Properties: { PolicyDocument: { Statement: Json[] } } }).Properties.PolicyDocument.Statement));
    const startExecution = statements.find((s) => s['Action'] === 'states:StartExecution' && JSON.stringify(s['Resource']).includes(':stateMachine:serverless-mlops-batch-scoring'));
    expect(startExecution).toBeDefined();
    // No wildcard action anywhere in the batch statements.
    const batchStatements = statements.filter((s) => JSON.stringify(s).includes('batch-scoring') || JSON.stringify(s).includes('transform-job'));
    for (const s of batchStatements) for (const action of [s['Action']].flat()) expect(String(action)).not.toMatch(/\*$/);
  });

  it('reserves no concurrency by default, and batch.reservedConcurrency when set: a job then cannot take the predict function\'s', () => {
    const batchFunction = { Environment: { Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: 'batch-scoring' }) } };
    const [fn] = Object.values(built.template.findResources('AWS::Lambda::Function', { Properties: batchFunction })) as { Properties: Json }[];
    expect(fn?.Properties['ReservedConcurrentExecutions']).toBeUndefined();
    const reserved = buildStack({ batch: { maxConcurrency: 50, reservedConcurrency: 60 } });
    reserved.template.hasResourceProperties('AWS::Lambda::Function', { ...batchFunction, ReservedConcurrentExecutions: 60 });
  });

  it('alarms on a failed job and has zero unacknowledged cdk-nag findings', () => {
    built.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ExecutionsFailed',
      Namespace: 'AWS/States',
      Threshold: 1,
    });
    const report = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(built.app);
    const batch = report.violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath}`)).filter((line) => line.includes('BatchScoring'));
    expect(batch).toEqual([]);
  });

  it('outputs the state machine and (from the data stack) the bucket the CLI uses', () => {
    built.template.hasOutput('BatchStateMachineArn', {});
    built.dataTemplate.hasOutput('BatchBucketName', {});
  });
});
