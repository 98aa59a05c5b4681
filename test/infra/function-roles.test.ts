import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { ANY_RESOURCE_ACTIONS, MlopsFunction } from '../../lib/constructs/mlops-function.ts';
import { parseConfig } from '../../lib/config.ts';
import { createPlatform } from '../../lib/serverless-mlops-stack.ts';
import { buildStack, unbundledApp } from './support.ts';

type Json = Record<string, unknown>;
interface Statement {
  readonly Effect?: string;
  readonly Action?: string | string[];
  readonly NotAction?: unknown;
  readonly Resource?: unknown;
}
interface Grant {
  readonly role: string;
  readonly policy: string;
  readonly statement: Statement;
}

const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : value === undefined ? [] : [value]);

/** The logical ids of the roles Lambda assumes. */
function functionRoles(template: Json): Set<string> {
  const resources = template['Resources'] as Record<string, { Type: string; Properties?: Json }>;
  const roles = Object.entries(resources).filter(([, resource]) => {
    if (resource.Type !== 'AWS::IAM::Role') return false;
    const statements = (resource.Properties?.['AssumeRolePolicyDocument'] as { Statement: { Principal?: { Service?: unknown } }[] }).Statement;
    return statements.some((s) => list(s.Principal?.Service).includes('lambda.amazonaws.com'));
  });
  return new Set(roles.map(([id]) => id));
}

/** Every statement that reaches a function role: inline policies of the role and the policies attached to it. */
function functionRoleGrants(template: Json): Grant[] {
  const resources = template['Resources'] as Record<string, { Type: string; Properties?: Json }>;
  const roles = functionRoles(template);
  const grants: Grant[] = [];
  for (const [id, resource] of Object.entries(resources)) {
    if (resource.Type === 'AWS::IAM::Role' && roles.has(id)) {
      for (const inline of list(resource.Properties?.['Policies']) as { PolicyName: string; PolicyDocument: { Statement: Statement[] } }[]) {
        for (const statement of inline.PolicyDocument.Statement) grants.push({ role: id, policy: `${id}.${inline.PolicyName}`, statement });
      }
    }
    if (resource.Type === 'AWS::IAM::Policy' || resource.Type === 'AWS::IAM::ManagedPolicy') {
      const attached = (list(resource.Properties?.['Roles']) as { Ref?: string }[]).map((r) => r.Ref).filter((r) => r !== undefined && roles.has(r));
      const statements = (resource.Properties?.['PolicyDocument'] as { Statement: Statement[] }).Statement;
      for (const role of attached) for (const statement of statements) grants.push({ role: role ?? '', policy: id, statement });
    }
  }
  return grants;
}

/**
 * "role policy: actions" for every Allow statement of a function role on Resource "*" (or with a wildcard action) that
 * holds anything but the read and tracing actions of ANY_RESOURCE_ACTIONS.
 */
function widerThanAllowed(template: Json): string[] {
  const allowed: readonly string[] = ANY_RESOURCE_ACTIONS;
  return functionRoleGrants(template)
    .filter(({ statement }) => statement.Effect === 'Allow')
    .filter(({ statement }) => {
      const actions = list(statement.Action) as string[];
      if (statement.NotAction !== undefined || actions.some((action) => action.includes('*'))) return true;
      return list(statement.Resource).includes('*') && actions.some((action) => !allowed.includes(action));
    })
    .map(({ role, policy, statement }) => `${role} ${policy}: ${list(statement.Action).join(', ')}`);
}

function nagFindings(scope: IConstruct): string[] {
  return new AwsSolutionsChecks().validateScope(scope).violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath}`));
}

/** The default stack, not synthesized yet (a synthesized app does not synthesize again). */
function unsynthesized(): { app: ReturnType<typeof unbundledApp>; stack: Stack } {
  const config = parseConfig(undefined);
  const app = unbundledApp();
  return { app, stack: createPlatform(app, config).serving };
}

function driftFunction(stack: Stack): MlopsFunction {
  const found = stack.node.findAll().filter((c): c is MlopsFunction => c instanceof MlopsFunction && c.node.id === 'DriftFunction');
  expect(found).toHaveLength(1);
  return found[0] as MlopsFunction;
}

const CONFIGS: [string, unknown][] = [
  ['the default config', undefined],
  [
    'a pipeline on SageMaker and the GPU path',
    {
      pipeline: { sagemaker: { trainingImage: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/trainer:1' } },
      sagemakerServing: { endpoints: { 'fraud-gpu': { model: 'fraud', version: 3 } } },
      observability: { sagemakerEndpointNames: ['fraud-gpu'] },
    },
  ],
];

describe('function roles', () => {
  it.each(CONFIGS)('hold nothing on Resource "*" but read and tracing actions, for %s', (_name, overrides) => {
    const { template } = buildStack(overrides);
    const json = template.toJSON();
    expect(functionRoles(json).size).toBeGreaterThanOrEqual(4);
    expect(widerThanAllowed(json)).toEqual([]);
  });

  it('keep each Resource "*" grant in a policy of its own, acknowledged there and nowhere else', () => {
    const json = buildStack().template.toJSON();
    const onAny = functionRoleGrants(json).filter(({ statement }) => list(statement.Resource).includes('*'));
    expect(onAny.length).toBeGreaterThanOrEqual(functionRoles(json).size);
    const resources = json['Resources'] as Record<string, { Properties: { PolicyDocument: { Statement: unknown[] } } }>;
    for (const { policy } of onAny) {
      // One statement per such policy: nothing else shares its acknowledgement.
      expect(resources[policy]?.Properties.PolicyDocument.Statement).toHaveLength(1);
      expect(policy).toMatch(/(TracingPolicy|MetricReadPolicy)[0-9A-F]{8}$/);
    }
  });

  it('fail the check and cdk-nag when the drift function widens its PutItem to Resource "*"', () => {
    const { app, stack } = unsynthesized();
    driftFunction(stack).addToRolePolicy(new PolicyStatement({ actions: ['dynamodb:PutItem'], resources: ['*'] }));
    const widened = widerThanAllowed(Template.fromStack(stack).toJSON());
    expect(widened).toHaveLength(1);
    expect(widened[0]).toMatch(/^\S*DriftFunctionRole\w* \S*DriftFunctionRoleDefaultPolicy\w*: dynamodb:PutItem$/);
    expect(nagFindings(app)).toEqual([expect.stringMatching(/^AwsSolutions-IAM5\[Resource::\*\] at .*\/DriftFunctionRole\/DefaultPolicy\/Resource$/)]);
  });

  it('fail the check on a wildcard action, whatever its resource', () => {
    const { stack } = unsynthesized();
    driftFunction(stack).addToRolePolicy(new PolicyStatement({ actions: ['s3:*'], resources: ['arn:aws:s3:::some-bucket/*'] }));
    expect(widerThanAllowed(Template.fromStack(stack).toJSON())).toEqual([expect.stringMatching(/DriftFunctionRoleDefaultPolicy\w*: s3:\*$/)]);
  });

  it('refuse a write action through grantOnAnyResource at synth', () => {
    const fn = driftFunction(unsynthesized().stack);
    expect(() => fn.grantOnAnyResource('Widened', ['dynamodb:PutItem' as never], 'no')).toThrow(
      'actions on resource "*" must be among xray:PutTraceSegments, xray:PutTelemetryRecords, cloudwatch:GetMetricData, application-autoscaling:DescribeScalableTargets, got dynamodb:PutItem',
    );
  });
});
