import { Match, type Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { DATA_EXPORTS, dataExportName } from '../../lib/constructs/data-imports.ts';
import { dataStackIdFor } from '../../lib/data-stack.ts';
import { buildStack, type Built, imported, IMPORTED_GSI1_ARN, IMPORTED_TABLE_ARN, importedObjects } from './support.ts';

type Json = Record<string, unknown>;
interface CfnResource {
  readonly Type: string;
  readonly Properties?: Json;
  readonly DeletionPolicy?: string;
  readonly UpdateReplacePolicy?: string;
}

/** Resource types whose deletion deletes data (objects, items, records, files): none of them may be in the serving stack. */
const DATA_HOLDING_TYPES = [
  'AWS::S3::Bucket',
  'AWS::DynamoDB::Table',
  'AWS::DynamoDB::GlobalTable',
  'AWS::Kinesis::Stream',
  'AWS::SQS::Queue',
  'AWS::EFS::FileSystem',
  'AWS::RDS::DBInstance',
  'AWS::RDS::DBCluster',
  'AWS::ECR::Repository',
  'AWS::SageMaker::ModelPackageGroup',
  'AWS::SageMaker::FeatureGroup',
  'AWS::Backup::BackupVault',
];

function resources(template: Template): [string, CfnResource][] {
  return Object.entries((template.toJSON() as { Resources: Record<string, CfnResource> }).Resources);
}

/** Every logical id a value names through `Ref` or `Fn::GetAtt` (pseudo parameters left out). */
function referencedIds(value: unknown, found = new Set<string>()): Set<string> {
  if (Array.isArray(value)) for (const item of value) referencedIds(item, found);
  else if (typeof value === 'object' && value !== null) {
    for (const [key, inner] of Object.entries(value)) {
      if (key === 'Ref' && typeof inner === 'string' && !inner.startsWith('AWS::')) found.add(inner);
      else if (key === 'Fn::GetAtt' && Array.isArray(inner) && typeof inner[0] === 'string') found.add(inner[0]);
      else referencedIds(inner, found);
    }
  }
  return found;
}

/** The IAM statements of the policies attached to the role of the function whose service name is `service`. */
function statementsOfService(template: Template, service: string): Json[] {
  const [fn] = Object.values(template.findResources('AWS::Lambda::Function', { Properties: { Environment: { Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: service }) } } })) as CfnResource[];
  const roleId = (fn?.Properties?.['Role'] as { 'Fn::GetAtt': [string, string] } | undefined)?.['Fn::GetAtt'][0];
  expect(roleId).toBeDefined();
  return Object.values(template.findResources('AWS::IAM::Policy') as Record<string, CfnResource>)
    .filter((policy) => (policy.Properties?.['Roles'] as Json[]).some((role) => role['Ref'] === roleId))
    .flatMap((policy) => (policy.Properties?.['PolicyDocument'] as { Statement: Json[] }).Statement);
}

describe.each([
  ['the default config (retain)', undefined, 'Retain'],
  ['a dev config (destroy)', { removalPolicy: 'destroy' }, 'Delete'],
  [
    'the GPU path, a SageMaker trainer and consumers',
    {
      pipeline: { sagemaker: { trainingImage: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/trainer:1' } },
      sagemakerServing: { endpoints: { 'fraud-gpu': { model: 'fraud', version: 3 } } },
      api: { consumers: [{ name: 'bank-a', models: ['credit'] }] },
    },
    'Retain',
  ],
] as const)('the stack split, %s', (_name, overrides, deletionPolicy) => {
  const built: Built = buildStack(overrides);
  const { template, dataTemplate, dataStack, stack, config } = built;

  it('puts every data-holding resource in the data stack and none in the serving stack', () => {
    // Only the dead-letter queue: it holds failure notices of the serving stack's own schedules and rules (their events,
    // which the runbook re-runs), kept 14 days, not data; it lives and goes with what sends to it.
    const serving = resources(template).filter(([, r]) => DATA_HOLDING_TYPES.includes(r.Type)).map(([id, r]) => `${r.Type} ${id.replace(/[0-9A-F]{8}$/, '')}`);
    expect(serving).toEqual(['AWS::SQS::Queue DeadLettersQueue']);
    const data = resources(dataTemplate).filter(([, r]) => DATA_HOLDING_TYPES.includes(r.Type));
    // The artifact, access-log, capture and batch buckets and the registry table.
    expect(data.map(([id, r]) => `${r.Type} ${id.replace(/[0-9A-F]{8}$/, '')}`).sort()).toEqual([
      'AWS::DynamoDB::Table ModelStoreRegistryTable',
      'AWS::S3::Bucket BatchScoringBatchBucket',
      'AWS::S3::Bucket ModelStoreAccessLogsBucket',
      'AWS::S3::Bucket ModelStoreArtifactBucket',
      'AWS::S3::Bucket PredictionCaptureCaptureBucket',
    ]);
  });

  it(`names the stacks from the config, turns termination protection on for the data stack, and makes each of its data resources ${deletionPolicy}`, () => {
    expect([stack.stackName, dataStack.stackName]).toEqual([config.appName, dataStackIdFor(config)]);
    expect(dataStack.terminationProtection).toBe(true);
    const assembly = built.app.synth();
    expect(assembly.getStackByName(dataStack.stackName).terminationProtection).toBe(true);
    for (const [id, resource] of resources(dataTemplate).filter(([, r]) => DATA_HOLDING_TYPES.includes(r.Type))) {
      expect([id, resource.DeletionPolicy, resource.UpdateReplacePolicy]).toEqual([id, deletionPolicy, deletionPolicy]);
    }
    dataTemplate.hasResourceProperties('AWS::DynamoDB::Table', { DeletionProtectionEnabled: deletionPolicy === 'Retain' });
  });

  it('deploys the data stack first: the serving stack depends on it, and the data stack on nothing of the serving stack (no cycle)', () => {
    const assembly = built.app.synth();
    expect(assembly.getStackByName(stack.stackName).dependencies.map((artifact) => artifact.id)).toContain(dataStack.artifactId);
    expect(assembly.getStackByName(dataStack.stackName).dependencies.map((artifact) => artifact.id)).not.toContain(stack.artifactId);
    // The data stack imports nothing, and every reference of it (bucket policies, log delivery) stays inside it.
    expect(JSON.stringify(dataTemplate.toJSON())).not.toContain('Fn::ImportValue');
    const ids = new Set(resources(dataTemplate).map(([id]) => id));
    const parameters = Object.keys((dataTemplate.toJSON() as { Parameters?: Json }).Parameters ?? {});
    for (const [id, resource] of resources(dataTemplate)) {
      for (const ref of referencedIds(resource)) expect([id, ids.has(ref) || parameters.includes(ref)]).toEqual([id, true]);
    }
    // The serving stack exports nothing another stack could come to depend on.
    const outputs = Object.values((template.toJSON() as { Outputs: Record<string, Json> }).Outputs);
    expect(outputs.filter((output) => output['Export'] !== undefined)).toEqual([]);
  });

  it('exports each data resource under its own name, and the serving stack imports only those', () => {
    const dataIds = Object.fromEntries(resources(dataTemplate).map(([id]) => [id.replace(/[0-9A-F]{8}$/, ''), id]));
    const expected: Record<keyof typeof DATA_EXPORTS, unknown> = {
      ArtifactBucketName: { Ref: dataIds['ModelStoreArtifactBucket'] },
      ArtifactBucketArn: { 'Fn::GetAtt': [dataIds['ModelStoreArtifactBucket'], 'Arn'] },
      RegistryTableName: { Ref: dataIds['ModelStoreRegistryTable'] },
      CaptureBucketName: { Ref: dataIds['PredictionCaptureCaptureBucket'] },
      CaptureBucketArn: { 'Fn::GetAtt': [dataIds['PredictionCaptureCaptureBucket'], 'Arn'] },
      BatchBucketName: { Ref: dataIds['BatchScoringBatchBucket'] },
      BatchBucketArn: { 'Fn::GetAtt': [dataIds['BatchScoringBatchBucket'], 'Arn'] },
    };
    for (const [key, value] of Object.entries(expected)) {
      dataTemplate.hasOutput(key, { Value: value, Export: { Name: dataExportName(dataStack.stackName, key as keyof typeof DATA_EXPORTS) } });
    }
    const imports = new Set([...JSON.stringify(template.toJSON()).matchAll(/"Fn::ImportValue":"([^"]+)"/g)].map((match) => match[1]));
    expect([...imports].sort()).toEqual(Object.keys(DATA_EXPORTS).map((key) => `${dataStack.stackName}:${key}`).sort());
    // The CLI reads the serving stack's outputs, then those of the data stack it names; no output repeats an import.
    template.hasOutput('DataStackName', { Value: dataStack.stackName });
    const outputValues = Object.values((template.toJSON() as { Outputs: Record<string, Json> }).Outputs).map((output) => JSON.stringify(output['Value']));
    expect(outputValues.filter((value) => value.includes('Fn::ImportValue'))).toEqual([]);
  });
});

describe('grants of the serving stack on the data stack', () => {
  const { template } = buildStack();
  const objects = importedObjects;
  // The table and its one index, nothing else of the data stack's DynamoDB.
  const registryRead = { Action: ['dynamodb:GetItem', 'dynamodb:Query'], Effect: 'Allow', Resource: [IMPORTED_GSI1_ARN, IMPORTED_TABLE_ARN] };

  it('lets the predict function read models under models/ and the registry, and write feedback only', () => {
    const onData = statementsOfService(template, 'inference-api').filter((statement) => JSON.stringify(statement).includes('Fn::ImportValue'));
    expect(onData).toEqual([
      registryRead,
      { Action: 's3:GetObject', Effect: 'Allow', Resource: objects('ArtifactBucketArn', 'models/*') },
      { Action: 's3:ListBucket', Condition: { StringLike: { 's3:prefix': ['models/*'] } }, Effect: 'Allow', Resource: imported('ArtifactBucketArn') },
      { Action: 's3:PutObject', Effect: 'Allow', Resource: objects('CaptureBucketArn', 'feedback/*') },
    ]);
  });

  it('lets the delivery stream write captures, the drift job read captures and write reports, batch jobs use the batch bucket', () => {
    const firehose = Object.values(template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: Match.stringLikeRegexp('^PredictionCaptureDeliveryRole') }] } }) as Record<string, CfnResource>).flatMap(
      (policy) => (policy.Properties?.['PolicyDocument'] as { Statement: Json[] }).Statement,
    );
    expect(firehose.filter((statement) => JSON.stringify(statement).includes('Fn::ImportValue'))).toEqual([
      { Action: ['s3:AbortMultipartUpload', 's3:GetBucketLocation', 's3:ListBucket', 's3:ListBucketMultipartUploads'], Effect: 'Allow', Resource: imported('CaptureBucketArn') },
      { Action: ['s3:AbortMultipartUpload', 's3:GetObject', 's3:PutObject'], Effect: 'Allow', Resource: [objects('CaptureBucketArn', 'capture-errors/*'), objects('CaptureBucketArn', 'captures/*')] },
    ]);
    const drift = statementsOfService(template, 'drift-monitor');
    expect(drift).toContainEqual(expect.objectContaining({ Action: 's3:PutObject', Resource: objects('CaptureBucketArn', 'drift-reports/*') }));
    expect(drift).toContainEqual(registryRead);
    const batch = statementsOfService(template, 'batch-scoring');
    expect(batch).toContainEqual(expect.objectContaining({ Action: ['s3:GetObject', 's3:PutObject'], Resource: objects('BatchBucketArn', '*') }));
    expect(batch).toContainEqual(expect.objectContaining({ Action: 's3:GetObject', Resource: objects('ArtifactBucketArn', 'models/*') }));
  });

  it('sets the functions’ bucket and table variables from the imports', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: 'inference-api', ARTIFACT_BUCKET_NAME: imported('ArtifactBucketName'), REGISTRY_TABLE_NAME: imported('RegistryTableName'), CAPTURE_BUCKET_NAME: imported('CaptureBucketName') }) },
    });
  });
});
