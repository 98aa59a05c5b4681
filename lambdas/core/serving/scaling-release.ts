/**
 * What an endpoint update needs from Application Auto Scaling: SageMaker refuses an UpdateEndpoint that changes the
 * instance type of, or removes, a variant registered as a scalable target (docs/gpu.md#changing-the-instance-type).
 * Before the update, every variant of the endpoint other than the one the new config serves is deregistered; the new
 * variant is registered by the stack's scalable target after the update.
 */

/** The scalable targets of SageMaker endpoint variants (`sagemaker:variant:DesiredInstanceCount`). */
export interface VariantScalableTargets {
  /** The variants of `endpointName` registered as scalable targets. */
  registeredVariants(endpointName: string): Promise<string[]>;
  /** Deregisters one (its scaling policies go with it); a target already gone is not an error. */
  deregister(endpointName: string, variantName: string): Promise<void>;
}

/**
 * Deregisters the scalable target of every variant of `endpointName` but `keepVariant`, and resolves with the
 * variants released (in the order listed).
 */
export async function releaseOtherVariants(targets: VariantScalableTargets, endpointName: string, keepVariant: string): Promise<string[]> {
  const released: string[] = [];
  for (const variant of await targets.registeredVariants(endpointName)) {
    if (variant === keepVariant) continue;
    await targets.deregister(endpointName, variant);
    released.push(variant);
  }
  return released;
}

/** The Application Auto Scaling resource id of a SageMaker endpoint variant. */
export function variantResourceId(endpointName: string, variantName: string): string {
  return `endpoint/${endpointName}/variant/${variantName}`;
}

/** The variant a resource id of `endpointName` names, or undefined for another endpoint's (or anything else). */
export function variantOfResourceId(endpointName: string, resourceId: string): string | undefined {
  const prefix = `endpoint/${endpointName}/variant/`;
  if (!resourceId.startsWith(prefix)) return undefined;
  const variant = resourceId.slice(prefix.length);
  return variant === '' || variant.includes('/') ? undefined : variant;
}
