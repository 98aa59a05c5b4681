import { Aws, Fn, RemovalPolicy } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../lib/config.ts';
import { createPlatform } from '../../lib/serverless-mlops-stack.ts';
import { buildStack, unbundledApp } from './support.ts';

type Json = Record<string, unknown>;
interface CfnResource {
  readonly Type: string;
  readonly Properties?: Json;
  readonly DeletionPolicy?: string;
}

/** Pseudo parameters that differ for each stack a deploy creates. */
const PER_STACK_PARAMETERS = new Set(['AWS::StackName', 'AWS::StackId']);

/** Whether a property value refers to something that exists once per stack (a resource of it, its name or id). */
function perStack(value: unknown, resources: Readonly<Record<string, unknown>>): boolean {
  if (Array.isArray(value)) return value.some((item) => perStack(item, resources));
  if (typeof value !== 'object' || value === null) return false;
  return Object.entries(value).some(([key, inner]) => {
    if (key === 'Ref' && typeof inner === 'string') return inner in resources || PER_STACK_PARAMETERS.has(inner);
    if (key === 'Fn::GetAtt') return true;
    return perStack(inner, resources);
  });
}

/**
 * "logical id (type): name" of each resource that CloudFormation keeps when it deletes it (DeletionPolicy Retain) and
 * whose physical name is fixed (the property `<Type>Name` or `Name`, built without anything of this stack): a second
 * create of the stack, after a rollback or `cdk destroy`, then fails with "already exists".
 */
function retainedWithFixedNames(template: Json): string[] {
  const resources = template['Resources'] as Record<string, CfnResource>;
  return Object.entries(resources).flatMap(([id, resource]) => {
    if (resource.DeletionPolicy !== 'Retain') return [];
    const kind = resource.Type.split('::').at(-1) ?? '';
    const name = resource.Properties?.[`${kind}Name`] ?? resource.Properties?.['Name'];
    if (name === undefined || perStack(name, resources)) return [];
    return [`${id} (${resource.Type}): ${JSON.stringify(name)}`];
  });
}

const CONFIGS: [string, unknown][] = [
  ['the default config', undefined],
  [
    'the GPU path and a pipeline on SageMaker',
    {
      pipeline: { sagemaker: { trainingImage: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/trainer:1' } },
      sagemakerServing: { endpoints: { 'fraud-gpu': { model: 'fraud', version: 3 } } },
      observability: { sagemakerEndpointNames: ['fraud-gpu'] },
    },
  ],
];

describe('the serving stack after a rollback or cdk destroy', () => {
  it.each(CONFIGS)('retains no resource whose name a second create would take again, with %s', (_name, overrides) => {
    const { template } = buildStack(overrides);
    expect(retainedWithFixedNames(template.toJSON())).toEqual([]);
  });

  it('deletes the state machines\' log groups, which keep their fixed /aws/vendedlogs/states/ names', () => {
    const { template } = buildStack();
    for (const name of ['serverless-mlops-training-pipeline', 'serverless-mlops-batch-scoring']) {
      template.hasResource('AWS::Logs::LogGroup', {
        Properties: { LogGroupName: `/aws/vendedlogs/states/${name}` },
        DeletionPolicy: 'Delete',
        UpdateReplacePolicy: 'Delete',
      });
    }
  });

  it('names a retained log group with a fixed name, and not one named after this stack\'s id', () => {
    // Prepare
    const app = unbundledApp();
    const { serving } = createPlatform(app, parseConfig(undefined));
    new LogGroup(serving, 'FixedRetained', { logGroupName: '/aws/vendedlogs/states/fixed', removalPolicy: RemovalPolicy.RETAIN });
    new LogGroup(serving, 'NamedAfterStack', { logGroupName: `/aws/vendedlogs/states/${serving.stackName}`, removalPolicy: RemovalPolicy.RETAIN });
    const stackUuid = Fn.select(2, Fn.split('/', Aws.STACK_ID));
    new LogGroup(serving, 'NamedAfterStackId', { logGroupName: `/aws/vendedlogs/states/${stackUuid}`, removalPolicy: RemovalPolicy.RETAIN });
    // Act
    const found = retainedWithFixedNames(Template.fromStack(serving).toJSON());
    // Assess: the stack name is a literal here (the CDK knows it), so a second stack of that name takes it again.
    expect(found).toEqual([
      expect.stringMatching(/^FixedRetained\w* \(AWS::Logs::LogGroup\): "\/aws\/vendedlogs\/states\/fixed"$/),
      expect.stringMatching(/^NamedAfterStack\w* \(AWS::Logs::LogGroup\): "\/aws\/vendedlogs\/states\/serverless-mlops"$/),
    ]);
  });
});
