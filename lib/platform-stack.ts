import { Stack, type StackProps, Tags } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { MlopsConfig } from './config.ts';
import { withoutRedundantDependsOn } from './redundant-depends-on.ts';

export interface PlatformStackProps extends StackProps {
  readonly config: MlopsConfig;
}

/** What both stacks of the platform share: the `app` and `managed-by` tags, and templates without redundant `DependsOn`. */
export abstract class PlatformStack extends Stack {
  protected constructor(scope: Construct, id: string, props: PlatformStackProps) {
    const { config, ...stackProps } = props;
    super(scope, id, stackProps);
    // Dashboard and scalable target tags are newer than cfn-lint's resource schema (E3002 'Tags' unexpected); neither
    // holds data.
    const tagOptions = { excludeResourceTypes: ['AWS::CloudWatch::Dashboard', 'AWS::ApplicationAutoScaling::ScalableTarget'] };
    Tags.of(this).add('app', config.appName, tagOptions);
    Tags.of(this).add('managed-by', 'cdk', tagOptions);
  }

  /** The template without the `DependsOn` entries its references already imply (cfn-lint W3005): see `withoutRedundantDependsOn`. */
  protected override _toCloudFormation(): ReturnType<Stack['_toCloudFormation']> {
    const template = super._toCloudFormation() as { Resources?: Record<string, unknown> };
    withoutRedundantDependsOn(template);
    return template;
  }
}
