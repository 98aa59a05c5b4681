import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { pipelineConfigJson } from '../../lib/config.ts';
import { PROJECT_ROOT } from '../../lib/constructs/mlops-function.ts';
import {
  DEFINITION_SUBSTITUTION_KEYS,
  PIPELINE_EVENT_BUS_NAME,
  SAGEMAKER_SYNC_RULE_NAME,
  TRAINING_IMAGE_NOT_SET,
  TRAINING_PIPELINE_ASL,
} from '../../lib/constructs/training-pipeline.ts';
import { DRIFT_DETAIL_TYPES, DRIFT_EVENT_SOURCE, RETRAIN_REQUESTER, matchesEventPattern, type ExactEventPattern } from '#contracts/drift.ts';
import { buildStack, imported, IMPORTED_TABLE_ARN, importedObjects } from './support.ts';

type Json = Record<string, unknown>;
type CfnResource = { Type?: string; Properties?: Json };

interface State {
  readonly Type: string;
  readonly Resource?: string;
  readonly Next?: string;
  readonly Default?: string;
  readonly Choices?: ReadonlyArray<{ readonly Next?: string }>;
  readonly Retry?: ReadonlyArray<{ readonly ErrorEquals: string[]; readonly BackoffRate?: number; readonly MaxAttempts?: number }>;
  readonly Catch?: ReadonlyArray<{ readonly ErrorEquals: string[]; readonly Next: string }>;
  readonly ItemProcessor?: { readonly StartAt: string; readonly States: Readonly<Record<string, State>> };
}
interface Machine {
  readonly StartAt: string;
  readonly States: Readonly<Record<string, State>>;
}

const ASL_TEXT = readFileSync(join(PROJECT_ROOT, TRAINING_PIPELINE_ASL), 'utf8');

/** The task integrations the construct grants; any other one in the ASL would run without permissions. */
const GRANTED_RESOURCES = [
  'arn:aws:states:::lambda:invoke',
  'arn:aws:states:::lambda:invoke.waitForTaskToken',
  'arn:aws:states:::sns:publish',
  'arn:aws:states:::events:putEvents',
  'arn:aws:states:::sagemaker:createTrainingJob.sync',
];

/** Every state, nested Map processors included, with the Map it sits in (undefined at the top level). */
function allStates(machine: Machine, parent?: State): Array<{ name: string; state: State; parent: State | undefined; scope: Machine }> {
  return Object.entries(machine.States).flatMap(([name, state]) => [
    { name, state, parent, scope: machine },
    ...(state.ItemProcessor === undefined ? [] : allStates(state.ItemProcessor, state)),
  ]);
}

function transitions(state: State): string[] {
  return [
    ...(state.Next === undefined ? [] : [state.Next]),
    ...(state.Default === undefined ? [] : [state.Default]),
    ...(state.Choices ?? []).flatMap((choice) => (choice.Next === undefined ? [] : [choice.Next])),
    ...(state.Catch ?? []).map((c) => c.Next),
  ];
}

/** States reachable from the Catch targets: the failure path (errors there have nowhere to go but Fail). */
function failurePath(machine: Machine): Set<string> {
  const seen = new Set<string>();
  const queue = Object.values(machine.States).flatMap((state) => (state.Catch ?? []).map((c) => c.Next));
  while (queue.length > 0) {
    const name = queue.pop();
    if (name === undefined || seen.has(name)) continue;
    seen.add(name);
    const state = machine.States[name];
    if (state !== undefined) queue.push(...transitions(state).filter((next) => !(state.Catch ?? []).some((c) => c.Next === next)));
  }
  return seen;
}

function parseMachine(text: string): Machine {
  return JSON.parse(text) as Machine;
}

function onlyResource(template: Template, type: string, props?: Json): CfnResource {
  const resources = Object.values(template.findResources(type, props)) as CfnResource[];
  expect(resources).toHaveLength(1);
  const [resource] = resources;
  if (resource === undefined) throw new Error(`no ${type}`);
  return resource;
}

/** The statements of every policy attached to roles whose logical id matches `role`. */
function statementsOf(template: Template, role: RegExp): Json[] {
  const policies = Object.values(template.findResources('AWS::IAM::Policy')) as CfnResource[];
  return policies
    .filter((policy) => JSON.stringify(policy.Properties?.['Roles']).match(role) !== null)
    .flatMap((policy) => (policy.Properties?.['PolicyDocument'] as { Statement: Json[] }).Statement);
}

/** The EventBridge rules of the TrainingPipeline construct (the stack has others, e.g. the canary watch's). */
function pipelineRuleIds(template: Template): string[] {
  return Object.keys(template.findResources('AWS::Events::Rule')).filter((id) => id.startsWith('TrainingPipeline'));
}

/** The event pattern of the pipeline's retrain rule, as the template has it. */
function retrainRulePattern(template: Template): ExactEventPattern {
  const rule = onlyResource(template, 'AWS::Events::Rule', { Properties: { EventPattern: { 'detail-type': [DRIFT_DETAIL_TYPES.retrainRequested] } } });
  return rule.Properties?.['EventPattern'] as ExactEventPattern;
}

/** A retrain request as a drift job puts it on the bus. */
function retrainEvent(detail: Record<string, unknown>, source: string = DRIFT_EVENT_SOURCE): Record<string, unknown> {
  return { source, 'detail-type': DRIFT_DETAIL_TYPES.retrainRequested, detail: { model: 'credit', ...detail } };
}

function pipelineFunction(template: Template): CfnResource {
  return onlyResource(template, 'AWS::Lambda::Function', {
    Properties: { Environment: { Variables: { POWERTOOLS_SERVICE_NAME: 'training-pipeline' } } },
  });
}

describe('training-pipeline.asl.json', () => {
  const machine = parseMachine(ASL_TEXT);
  const states = allStates(machine);

  it('parses and fills every ${X} placeholder from the construct substitutions (and uses each one)', () => {
    const placeholders = new Set([...ASL_TEXT.matchAll(/\$\{(\w+)\}/g)].map((match) => match[1]));
    expect([...placeholders].sort()).toEqual([...DEFINITION_SUBSTITUTION_KEYS].sort());
  });

  it('only goes to states that exist, in the same scope', () => {
    for (const { name, state, scope } of states) {
      for (const next of transitions(state)) {
        expect(scope.States[next], `${name} -> ${next}`).toBeDefined();
      }
    }
    for (const scope of [machine, ...states.flatMap(({ state }) => (state.ItemProcessor === undefined ? [] : [state.ItemProcessor]))]) {
      expect(scope.States[scope.StartAt], scope.StartAt).toBeDefined();
    }
  });

  it('retries every Task with exponential backoff and uses only granted integrations', () => {
    const tasks = states.filter(({ state }) => state.Type === 'Task');
    expect(tasks.length).toBeGreaterThan(10);
    for (const { name, state } of tasks) {
      expect(GRANTED_RESOURCES, name).toContain(state.Resource);
      expect(state.Retry?.length, name).toBeGreaterThan(0);
      for (const retry of state.Retry ?? []) {
        expect(retry.BackoffRate ?? 2, name).toBeGreaterThan(1);
        expect(retry.MaxAttempts ?? 3, name).toBeGreaterThan(0);
      }
    }
  });

  it('names SageMaker training jobs from the run\'s sanitised prefix and never retries their validation errors', () => {
    // The user-container job and the built-in XGBoost job.
    const jobs = states.filter(({ state }) => state.Resource === 'arn:aws:states:::sagemaker:createTrainingJob.sync');
    expect(jobs).toHaveLength(2);
    for (const { name, state } of jobs) {
      const job = state as unknown as { Parameters: Record<string, unknown>; Retry: { ErrorEquals: string[] }[] };
      expect(job.Parameters['TrainingJobName.$'], name).toBe("States.Format('{}-{}', $.run.training_job_prefix, $.seed)");
      const retried = job.Retry.flatMap((retry) => retry.ErrorEquals);
      // SageMaker reports a bad name, role or image as a ValidationException inside AmazonSageMakerException: retrying cannot help.
      for (const error of ['SageMaker.AmazonSageMakerException', 'SageMaker.ValidationException', 'States.ALL', 'States.TaskFailed']) {
        expect(retried, name).not.toContain(error);
      }
      expect(retried, name).toContain('SageMaker.ThrottlingException');
    }
  });

  it('catches every Lambda Task, directly, through its Map, or by being on the failure path', () => {
    const failure = failurePath(machine);
    expect(failure.size).toBeGreaterThan(0);
    for (const { name, state, parent } of states) {
      if (state.Type !== 'Task' || state.Resource?.startsWith('arn:aws:states:::lambda:') !== true) continue;
      const caught = state.Catch !== undefined || parent?.Catch !== undefined || failure.has(name);
      expect(caught, name).toBe(true);
    }
    for (const { name, state } of states) {
      for (const c of state.Catch ?? []) expect(c.ErrorEquals, name).toContain('States.ALL');
    }
  });
});

describe('TrainingPipeline', () => {
  const { template, config } = buildStack();

  it('runs a STANDARD state machine that logs errors without execution data and traces, with the ASL inline and every substitution', () => {
    // The training pipeline's (batch scoring's has a fixed name).
    const sm = onlyResource(template, 'AWS::StepFunctions::StateMachine', { Properties: { StateMachineName: Match.absent() } });
    // Execution data would put approval task tokens in the logs.
    template.hasResourceProperties('AWS::Logs::LogGroup', { LogGroupName: '/aws/vendedlogs/states/serverless-mlops-training-pipeline' });
    expect(sm.Properties).toMatchObject({
      StateMachineType: 'STANDARD',
      LoggingConfiguration: {
        Level: 'ERROR',
        IncludeExecutionData: false,
        Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: { 'Fn::GetAtt': [expect.stringMatching(/StateMachineLogs/), 'Arn'] } } }],
      },
      TracingConfiguration: { Enabled: true },
    });
    const definition = sm.Properties?.['DefinitionString'];
    if (typeof definition !== 'string') throw new Error('DefinitionString is not inline');
    expect(parseMachine(definition)).toEqual(parseMachine(ASL_TEXT));

    const substitutions = sm.Properties?.['DefinitionSubstitutions'] as Json;
    expect(Object.keys(substitutions).sort()).toEqual([...DEFINITION_SUBSTITUTION_KEYS].sort());
    expect(substitutions).toEqual({
      PipelineFunctionArn: { 'Fn::GetAtt': [expect.stringMatching(/PipelineFunction/), 'Arn'] },
      NotificationTopicArn: { Ref: expect.stringMatching(/NotificationTopic/) },
      EventBusName: PIPELINE_EVENT_BUS_NAME,
      SageMakerRoleArn: { 'Fn::GetAtt': [expect.stringMatching(/SageMakerRole/), 'Arn'] },
      TrainingImage: TRAINING_IMAGE_NOT_SET,
      TrainingInstanceType: 'ml.m5.xlarge',
      // The data stack's bucket, imported.
      ArtifactBucketName: { 'Fn::ImportValue': 'serverless-mlops-data:ArtifactBucketName' },
      // AWS's built-in algorithm image of the deployment region (an environment-agnostic stack: a mapping).
      XgboostImage: {
        'Fn::Join': [
          '',
          [
            { 'Fn::FindInMap': [expect.stringMatching(/XgboostImageAccounts/), { Ref: 'AWS::Region' }, 'account'] },
            '.dkr.ecr.',
            { Ref: 'AWS::Region' },
            '.',
            { Ref: 'AWS::URLSuffix' },
            '/sagemaker-xgboost:1.7-1',
          ],
        ],
      },
      // One instance by default: every instance (the one) reads all of the data.
      XgboostDataDistribution: 'FullyReplicated',
    });
    const mappings = template.toJSON()['Mappings'] as Record<string, Record<string, { account: string }>>;
    const accounts = Object.entries(mappings).find(([id]) => /XgboostImageAccounts/.test(id))?.[1];
    expect(accounts?.['us-east-1']).toEqual({ account: '683313688378' });
    expect(accounts?.['eu-west-1']).toEqual({ account: '141502667606' });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: config.logRetentionDays });
  });

  it('grants the state machine role exactly its task resources', () => {
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: Match.objectLike({
        Statement: [Match.objectLike({ Principal: { Service: 'states.amazonaws.com' } })],
      }),
      ManagedPolicyArns: Match.absent(),
    });
    const statements = statementsOf(template, /StateMachineRole/);
    const arn = (service: string, resource: string): Json => ({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:${service}:`, { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, resource]],
    });
    expect(statements).toEqual(
      expect.arrayContaining([
        { Effect: 'Allow', Action: 'lambda:InvokeFunction', Resource: { 'Fn::GetAtt': [expect.stringMatching(/PipelineFunction/), 'Arn'] } },
        { Effect: 'Allow', Action: 'sns:Publish', Resource: { Ref: expect.stringMatching(/NotificationTopic/) } },
        {
          Effect: 'Allow',
          Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
          Resource: { 'Fn::GetAtt': [expect.stringMatching(/NotificationKey/), 'Arn'] },
        },
        { Effect: 'Allow', Action: 'events:PutEvents', Resource: arn('events', ':event-bus/default') },
        {
          Effect: 'Allow',
          Action: ['sagemaker:CreateTrainingJob', 'sagemaker:DescribeTrainingJob', 'sagemaker:ListTags', 'sagemaker:StopTrainingJob'],
          Resource: arn('sagemaker', ':training-job/*'),
        },
        {
          Effect: 'Allow',
          Action: ['events:DescribeRule', 'events:PutRule', 'events:PutTargets'],
          Resource: arn('events', `:rule/${SAGEMAKER_SYNC_RULE_NAME}`),
        },
        {
          Effect: 'Allow',
          Action: 'iam:PassRole',
          Resource: { 'Fn::GetAtt': [expect.stringMatching(/SageMakerRole/), 'Arn'] },
          Condition: { StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } },
        },
      ]),
    );
    // Only the unqualified function (no `:*` for versions and aliases), no wildcard actions.
    expect(JSON.stringify(statements)).not.toMatch(/"Arn"\]\},":\*"|lambda:\*|sns:\*|sagemaker:\*|kms:GenerateDataKey\*/);
    const wildcards = statements.filter((s) => s['Resource'] === '*').flatMap((s) => [s['Action']].flat());
    expect(wildcards.every((action) => typeof action === 'string' && /^(logs|xray):/.test(action))).toBe(true);
  });

  it('creates a SageMaker role without managed policies: datasets in, training-jobs out, its logs', () => {
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: Match.objectLike({
        Statement: [Match.objectLike({ Principal: { Service: 'sagemaker.amazonaws.com' } })],
      }),
      ManagedPolicyArns: Match.absent(),
    });
    const statements = statementsOf(template, /SageMakerRole/);
    const objects = (prefix: string): Json => importedObjects('ArtifactBucketArn', `${prefix}*`);
    expect(statements).toEqual(
      expect.arrayContaining([
        // The datasets, and the xgboost trainer's encoded rows; nothing else of the bucket.
        { Effect: 'Allow', Action: 's3:GetObject', Resource: [objects('datasets/'), objects('training-data/')] },
        { Effect: 'Allow', Action: ['s3:AbortMultipartUpload', 's3:PutObject'], Resource: objects('training-jobs/') },
      ]),
    );
    const writes = statements.filter((s) => [s['Action']].flat().some((a) => /s3:Put/.test(String(a))));
    expect(writes).toHaveLength(1);
    expect(JSON.stringify(statements)).not.toMatch(/ecr:/); // no training image configured
  });

  it('encrypts the topic with a rotated key and denies publishing without TLS', () => {
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('NotificationKey'), 'Arn'] } });
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Principal: '*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
    template.resourceCountIs('AWS::SNS::Subscription', 0);
  });

  it("starts a run from this deployment's drift RetrainRequested events only, with the event detail as input", () => {
    expect(pipelineRuleIds(template)).toHaveLength(1); // no model has a schedule by default
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: [DRIFT_EVENT_SOURCE],
        'detail-type': [DRIFT_DETAIL_TYPES.retrainRequested],
        detail: { app: [config.appName], requested_by: [RETRAIN_REQUESTER] },
      },
      EventBusName: Match.absent(),
      Targets: [
        {
          Id: Match.anyValue(),
          Arn: { Ref: Match.stringLikeRegexp('StateMachine') },
          InputPath: '$.detail',
          RoleArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('StartExecutionRole'), 'Arn'] },
        },
      ],
    });
    expect(statementsOf(template, /StartExecutionRole/)).toEqual([
      { Effect: 'Allow', Action: 'states:StartExecution', Resource: { Ref: expect.stringMatching(/StateMachine/) } },
    ]);
  });

  it("matches this deployment's drift requests, not another deployment's, another source's or a non-drift run's", () => {
    const pattern = retrainRulePattern(template);
    expect(matchesEventPattern(pattern, retrainEvent({ app: config.appName, requested_by: RETRAIN_REQUESTER }))).toBe(true);
    // A second deployment (staging) in the same account and region: its drift job's requests start its own pipeline only.
    expect(matchesEventPattern(pattern, retrainEvent({ app: 'staging', requested_by: RETRAIN_REQUESTER }))).toBe(false);
    expect(matchesEventPattern(pattern, retrainEvent({ requested_by: RETRAIN_REQUESTER }))).toBe(false);
    expect(matchesEventPattern(pattern, retrainEvent({ app: config.appName, requested_by: RETRAIN_REQUESTER }, 'someone.else'))).toBe(false);
    // A run input that does not say drift would escape drift.retrainPromotion: no rule starts it.
    expect(matchesEventPattern(pattern, retrainEvent({ app: config.appName, requested_by: 'cli', approval_required: false }))).toBe(false);
    expect(matchesEventPattern(pattern, retrainEvent({ app: config.appName }))).toBe(false);
  });

  it('gives the pipeline function the retrain promotion policy it holds drift runs to', () => {
    const variables = (pipelineFunction(template).Properties?.['Environment'] as { Variables: Record<string, string> }).Variables;
    expect(JSON.parse(variables['RETRAIN_PROMOTION'] ?? '')).toEqual({ mode: 'canary', approvalRequired: true });
    const { template: production } = buildStack({ drift: { retrainPromotion: { mode: 'production', approvalRequired: false } } });
    const productionVariables = (pipelineFunction(production).Properties?.['Environment'] as { Variables: Record<string, string> }).Variables;
    expect(JSON.parse(productionVariables['RETRAIN_PROMOTION'] ?? '')).toEqual({ mode: 'production', approvalRequired: false });
  });

  it('gives the pipeline function the shared ONNX layer, its settings and its environment', () => {
    const fn = pipelineFunction(template);
    expect(fn.Properties).toMatchObject({ Runtime: 'nodejs24.x', MemorySize: 3008, Timeout: 900, TracingConfig: { Mode: 'Active' } });
    template.resourceCountIs('AWS::Lambda::LayerVersion', 1);
    const predict = onlyResource(template, 'AWS::Lambda::Function', {
      Properties: { Environment: { Variables: { POWERTOOLS_SERVICE_NAME: 'inference-api' } } },
    });
    expect(fn.Properties?.['Layers']).toEqual(predict.Properties?.['Layers']);

    const variables = (fn.Properties?.['Environment'] as { Variables: Json }).Variables;
    expect(variables).toEqual({
      NODE_OPTIONS: '--enable-source-maps',
      POWERTOOLS_SERVICE_NAME: 'training-pipeline',
      POWERTOOLS_METRICS_NAMESPACE: 'ServerlessMLOps',
      POWERTOOLS_LOG_LEVEL: 'INFO',
      MLOPS_ENVIRONMENT: 'serverless-mlops',
      PIPELINE_CONFIG: pipelineConfigJson(config.pipeline),
      RETRAIN_PROMOTION: JSON.stringify(config.drift.retrainPromotion),
      NOTIFICATION_TOPIC_ARN: { Ref: expect.stringMatching(/NotificationTopic/) },
      ONNX_INTRA_OP_THREADS: '1',
      REGISTRY_TABLE_NAME: imported('RegistryTableName'),
      ARTIFACT_BUCKET_NAME: imported('ArtifactBucketName'),
    });
    expect(JSON.parse(String(variables['PIPELINE_CONFIG']))).toEqual(JSON.parse(JSON.stringify(config.pipeline)));
  });

  it('lets the pipeline function read its prefixes, write only cache, runs, models and the xgboost rows, and publish', () => {
    const statements = statementsOf(template, /PipelineFunctionRole/);
    const objects = (prefix: string): Json => importedObjects('ArtifactBucketArn', `${prefix}*`);
    const actions = (action: string): unknown[] => statements.filter((s) => [s['Action']].flat().includes(action)).flatMap((s) => [s['Resource']].flat());
    expect(actions('s3:GetObject')).toEqual(
      expect.arrayContaining(['datasets/', 'training-cache/', 'pipeline-runs/', 'models/', 'training-jobs/'].map(objects)),
    );
    const writes = actions('s3:PutObject');
    expect(writes).toHaveLength(4);
    expect(writes).toEqual(expect.arrayContaining(['training-cache/', 'pipeline-runs/', 'models/', 'training-data/'].map(objects)));
    expect(actions('dynamodb:PutItem')).toEqual([IMPORTED_TABLE_ARN]);
    expect(actions('sns:Publish')).toEqual([{ Ref: expect.stringMatching(/NotificationTopic/) }]);
    expect(JSON.stringify(statements)).not.toMatch(/s3:DeleteObject|dynamodb:DeleteItem|dynamodb:Scan|"s3:\*"|"dynamodb:\*"/);
  });
});

describe('TrainingPipeline with configured schedules, emails and a SageMaker image', () => {
  const image = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/trainer:1.2';
  const { template } = buildStack({
    notifications: { emails: ['ml-team@example.com'] },
    pipeline: {
      sagemaker: { trainingImage: image, instanceType: 'ml.c5.2xlarge' },
      models: {
        credit: { target: 'Status', positiveLabel: 'bad' },
        fraud: { target: 'is_fraud', positiveLabel: '1', datasetKey: 'datasets/fraud/latest.csv', schedule: 'cron(0 3 ? * MON *)', trainer: 'sagemaker' },
      },
    },
  });

  it('adds a schedule rule for the scheduled model with the run input', () => {
    expect(pipelineRuleIds(template)).toHaveLength(2);
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'cron(0 3 ? * MON *)',
      Targets: [
        {
          Id: Match.anyValue(),
          Arn: { Ref: Match.stringLikeRegexp('StateMachine') },
          RoleArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('StartExecutionRole'), 'Arn'] },
          Input: JSON.stringify({
            model: 'fraud',
            dataset: { key: 'datasets/fraud/latest.csv' },
            target: 'is_fraud',
            positive_label: '1',
            trainer: 'sagemaker',
            requested_by: 'schedule',
          }),
        },
      ],
    });
  });

  it('subscribes the emails and passes the image and instance type to the definition', () => {
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ml-team@example.com' });
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      DefinitionSubstitutions: Match.objectLike({ TrainingImage: image, TrainingInstanceType: 'ml.c5.2xlarge' }),
    });
  });

  it('lets the SageMaker role pull the training image repository only', () => {
    expect(statementsOf(template, /SageMakerRole/)).toEqual(
      expect.arrayContaining([
        {
          Effect: 'Allow',
          Action: ['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
          Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ecr:eu-west-1:123456789012:repository/team/trainer']] },
        },
        { Effect: 'Allow', Action: 'ecr:GetAuthorizationToken', Resource: '*' },
      ]),
    );
  });
});

describe('TrainingPipeline with an existing topic and SageMaker role', () => {
  const topicArn = 'arn:aws:sns:eu-west-1:123456789012:ml-alerts';
  const roleArn = 'arn:aws:iam::123456789012:role/sagemaker-training';
  const { template } = buildStack({ notifications: { topicArn }, pipeline: { sagemaker: { roleArn } } });

  it('imports them instead of creating a topic, a key and a role', () => {
    template.resourceCountIs('AWS::SNS::Topic', 0);
    template.resourceCountIs('AWS::KMS::Key', 0);
    expect(
      Object.keys(
        template.findResources('AWS::IAM::Role', {
          Properties: { AssumeRolePolicyDocument: { Statement: [{ Principal: { Service: 'sagemaker.amazonaws.com' } }] } },
        }),
      ),
    ).toHaveLength(0);
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      DefinitionSubstitutions: Match.objectLike({ NotificationTopicArn: topicArn, SageMakerRoleArn: roleArn }),
    });
    const statements = statementsOf(template, /StateMachineRole/);
    expect(statements).toEqual(
      expect.arrayContaining([
        { Effect: 'Allow', Action: 'sns:Publish', Resource: topicArn },
        {
          Effect: 'Allow',
          Action: 'iam:PassRole',
          Resource: roleArn,
          Condition: { StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } },
        },
      ]),
    );
    expect(JSON.stringify(statements)).not.toMatch(/kms:/);
  });
});

describe('TrainingPipeline with the xgboost trainer on several instances', () => {
  const { template, config } = buildStack({
    pipeline: {
      sagemaker: { instanceCount: 3, instanceType: 'ml.m5.2xlarge' },
      xgboost: { hyperparameters: { numRound: 300, maxDepth: 4 } },
      models: { credit: { target: 'Status', positiveLabel: 'bad', trainer: 'xgboost' } },
    },
  });
  const sm = onlyResource(template, 'AWS::StepFunctions::StateMachine', { Properties: { StateMachineName: Match.absent() } });
  const substitutions = sm.Properties?.['DefinitionSubstitutions'] as Json;
  const states = (JSON.parse(ASL_TEXT) as { States: Record<string, { ItemProcessor: { States: Record<string, Json> } }> }).States['TrainSeeds']?.ItemProcessor.States ?? {};

  it('shards the data by S3 key over the instances, and the function writes one shard per instance', () => {
    expect(substitutions['XgboostDataDistribution']).toBe('ShardedByS3Key');
    expect(substitutions['TrainingInstanceType']).toBe('ml.m5.2xlarge');
    const env = onlyResource(template, 'AWS::Lambda::Function', { Properties: { Description: Match.stringLikeRegexp('training pipeline') } }).Properties?.['Environment'] as { Variables: Record<string, string> };
    const pipeline = JSON.parse(env.Variables['PIPELINE_CONFIG'] as string) as { sagemaker: { instanceCount: number }; xgboost: { hyperparameters: { numRound: number } } };
    expect(pipeline.sagemaker.instanceCount).toBe(3);
    expect(pipeline.xgboost.hyperparameters.numRound).toBe(300);
    expect(config.pipeline.xgboost.hyperparameters.eta).toBe(0.3);
  });

  it('runs the built-in algorithm image on both channels, then converts, then evaluates like every trainer', () => {
    const train = states['TrainXgboostOnSageMaker'] as { Resource: string; Parameters: Json; Next: string };
    expect(train.Resource).toBe('arn:aws:states:::sagemaker:createTrainingJob.sync');
    expect(train.Parameters).toMatchObject({
      RoleArn: '${SageMakerRoleArn}',
      AlgorithmSpecification: { TrainingImage: '${XgboostImage}', TrainingInputMode: 'File' },
      'HyperParameters.$': '$.xgboost_data.result.hyperparameters',
      ResourceConfig: { 'InstanceCount.$': '$.xgboost_data.result.shards', InstanceType: '${TrainingInstanceType}' },
    });
    const channels = train.Parameters['InputDataConfig'] as { ChannelName: string; ContentType: string; DataSource: { S3DataSource: Json } }[];
    expect(channels.map((c) => c.ChannelName)).toEqual(['train', 'validation']);
    for (const channel of channels) {
      expect(channel.ContentType).toBe('text/csv');
      expect(channel.DataSource.S3DataSource['S3DataDistributionType']).toBe('${XgboostDataDistribution}');
    }
    expect(states['Trainer?']?.['Choices']).toEqual(expect.arrayContaining([{ Variable: '$.run.trainer', StringEquals: 'xgboost', Next: 'PrepareXgboostData' }]));
    expect(states['PrepareXgboostData']?.['Next']).toBe('TrainXgboostOnSageMaker');
    expect(train.Next).toBe('ConvertXgboostModel');
    expect(states['ConvertXgboostModel']?.['Next']).toBe('Evaluate');
  });

  it('passes only the SageMaker role, which reads the encoded rows and writes the job output, and nothing else', () => {
    const passRole = statementsOf(template, /StateMachineRole/).filter((s) => [s['Action']].flat().includes('iam:PassRole'));
    expect(passRole).toEqual([
      {
        Effect: 'Allow',
        Action: 'iam:PassRole',
        Resource: { 'Fn::GetAtt': [expect.stringMatching(/SageMakerRole/), 'Arn'] },
        Condition: { StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } },
      },
    ]);
    // AWS's own image: no ECR grant on the execution role.
    expect(JSON.stringify(statementsOf(template, /SageMakerRole/))).not.toMatch(/ecr:/);
  });

  it('refuses exact trees on more than one instance at synth', () => {
    expect(() => buildStack({ pipeline: { sagemaker: { instanceCount: 2 }, xgboost: { hyperparameters: { treeMethod: 'exact' } } } })).toThrow(
      /pipeline\.xgboost\.hyperparameters\.treeMethod" must be "hist" or "approx" when sagemaker\.instanceCount is above 1/,
    );
  });
});
