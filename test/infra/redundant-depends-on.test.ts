import { describe, expect, it } from 'vitest';
import { withoutRedundantDependsOn } from '../../lib/redundant-depends-on.ts';
import { buildStack } from './support.ts';

/** cfn-lint's W3005: a `DependsOn` that a `Ref` or `Fn::GetAtt` of the same resource already implies. */
function redundantDependsOn(resources: Record<string, { DependsOn?: string | string[]; Properties?: unknown }>): string[] {
  return Object.entries(resources).flatMap(([id, resource]) => {
    const properties = JSON.stringify(resource.Properties ?? {});
    return [resource.DependsOn ?? []]
      .flat()
      .filter((target) => properties.includes(`{"Ref":"${target}"}`) || properties.includes(`{"Fn::GetAtt":["${target}",`))
      .map((target) => `${id} -> ${target}`);
  });
}

describe('withoutRedundantDependsOn', () => {
  it('drops the entries a Ref or Fn::GetAtt implies and keeps the others', () => {
    const template = {
      Resources: {
        Fn: {
          Type: 'AWS::Lambda::Function',
          DependsOn: ['FnRolePolicy', 'FnRole'],
          Properties: { Role: { 'Fn::GetAtt': ['FnRole', 'Arn'] } },
        },
        Machine: { Type: 'AWS::StepFunctions::StateMachine', DependsOn: 'Log', Properties: { Logs: { Ref: 'Log' } } },
        Alias: { Type: 'AWS::Lambda::Alias', DependsOn: ['Other'], Properties: { FunctionName: { 'Fn::GetAtt': 'Fn.Arn' } } },
        Plain: { Type: 'AWS::S3::Bucket' },
      },
    };
    withoutRedundantDependsOn(template);
    expect(template.Resources.Fn.DependsOn).toEqual(['FnRolePolicy']);
    expect(template.Resources.Machine).not.toHaveProperty('DependsOn');
    expect(template.Resources.Alias.DependsOn).toEqual(['Other']);
    expect(template.Resources.Plain).not.toHaveProperty('DependsOn');
  });

  it('leaves the stack with no redundant DependsOn, and each function still after its role policy', () => {
    const { template } = buildStack();
    const resources = template.toJSON().Resources as Record<string, { Type: string; DependsOn?: string | string[]; Properties?: unknown }>;
    expect(redundantDependsOn(resources)).toEqual([]);
    const functions = Object.values(resources).filter((r) => r.Type === 'AWS::Lambda::Function' && r.DependsOn !== undefined);
    expect(functions.length).toBeGreaterThan(0);
    for (const fn of functions) {
      // What only DependsOn orders is still there: the function's role policy, which no property references.
      expect([fn.DependsOn].flat().some((id) => resources[id ?? '']?.Type === 'AWS::IAM::Policy')).toBe(true);
    }
  });
});
