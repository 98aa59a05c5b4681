/**
 * `{ "Fn::GetAtt": [logicalId, "Arn"] }` → logicalId: how cdk-nag names a resource of this stack in its findings, for
 * acknowledgements that name the exact resource (`AwsSolutions-IAM5[Resource::<logicalId>.Arn/models/*]`).
 * @param resolved a resolved ARN token (`Stack.of(scope).resolve(bucket.bucketArn)`); undefined for an imported resource
 */
export function logicalIdOf(resolved: unknown): string | undefined {
  if (typeof resolved !== 'object' || resolved === null || !('Fn::GetAtt' in resolved)) return undefined;
  const getAtt: unknown = resolved['Fn::GetAtt'];
  if (!Array.isArray(getAtt)) return undefined;
  const first: unknown = getAtt[0];
  return typeof first === 'string' ? first : undefined;
}
