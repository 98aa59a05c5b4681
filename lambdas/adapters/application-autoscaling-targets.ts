import {
  type ApplicationAutoScalingClient,
  DeregisterScalableTargetCommand,
  DescribeScalableTargetsCommand,
  ObjectNotFoundException,
} from '@aws-sdk/client-application-auto-scaling';
import { type VariantScalableTargets, variantOfResourceId, variantResourceId } from '#core/serving/scaling-release.ts';

const NAMESPACE = 'sagemaker';
const DIMENSION = 'sagemaker:variant:DesiredInstanceCount';

/** SageMaker variants' scalable targets through the Application Auto Scaling API. */
export class ApplicationAutoScalingTargets implements VariantScalableTargets {
  public constructor(private readonly client: Pick<ApplicationAutoScalingClient, 'send'>) {}

  public async registeredVariants(endpointName: string): Promise<string[]> {
    const variants: string[] = [];
    let nextToken: string | undefined;
    do {
      // The API filters by exact resource ids only: the namespace's targets are listed and this endpoint's kept.
      const page = await this.client.send(
        new DescribeScalableTargetsCommand({ ServiceNamespace: NAMESPACE, ScalableDimension: DIMENSION, ...(nextToken === undefined ? {} : { NextToken: nextToken }) }),
      );
      for (const target of page.ScalableTargets ?? []) {
        const variant = variantOfResourceId(endpointName, target.ResourceId ?? '');
        if (variant !== undefined) variants.push(variant);
      }
      nextToken = page.NextToken;
    } while (nextToken !== undefined && nextToken !== '');
    return variants;
  }

  public async deregister(endpointName: string, variantName: string): Promise<void> {
    try {
      await this.client.send(
        new DeregisterScalableTargetCommand({ ServiceNamespace: NAMESPACE, ScalableDimension: DIMENSION, ResourceId: variantResourceId(endpointName, variantName) }),
      );
    } catch (error) {
      // Gone already (deregistered by hand, or with its endpoint): what this call wanted.
      if (error instanceof ObjectNotFoundException) return;
      throw error;
    }
  }
}
