/**
 * `{ "Fn::GetAtt": [logicalId, "Arn"] }` → logicalId: how cdk-nag names a resource of this stack in its findings, for
 * acknowledgements that name the exact resource (`AwsSolutions-IAM5[Resource::<logicalId>.Arn/models/*]`).
 * @param resolved a resolved ARN token (`Stack.of(scope).resolve(bucket.bucketArn)`); undefined for an imported resource
 */
function logicalIdOf(resolved: unknown): string | undefined {
  if (typeof resolved !== 'object' || resolved === null || !('Fn::GetAtt' in resolved)) return undefined;
  const getAtt: unknown = resolved['Fn::GetAtt'];
  if (!Array.isArray(getAtt)) return undefined;
  const first: unknown = getAtt[0];
  return typeof first === 'string' ? first : undefined;
}

/**
 * How cdk-nag spells an ARN in its findings, for acknowledgements that name the exact resource
 * (`AwsSolutions-IAM5[Resource::${nagArnOf(...)}/models/*]`): `<logicalId.Arn>` for a resource of this stack, the
 * export name for one imported from the data stack (`Fn::ImportValue`, which cdk-nag writes as its bare name).
 * @param resolved a resolved ARN token (`Stack.of(scope).resolve(bucket.bucketArn)`)
 * @returns undefined for anything else (a literal ARN: the caller writes it out)
 */
export function nagArnOf(resolved: unknown): string | undefined {
  const logicalId = logicalIdOf(resolved);
  if (logicalId !== undefined) return `<${logicalId}.Arn>`;
  if (typeof resolved !== 'object' || resolved === null || !('Fn::ImportValue' in resolved)) return undefined;
  const name: unknown = resolved['Fn::ImportValue'];
  return typeof name === 'string' ? name : undefined;
}
