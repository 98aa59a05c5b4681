/**
 * Removes the `DependsOn` entries that a resource's own properties already imply through `Ref` or `Fn::GetAtt`.
 *
 * The CDK makes every function and state machine depend explicitly on its role although it also reads the role's
 * `Arn`; CloudFormation orders both the same way, and cfn-lint reports each such entry (W3005). Dropping exactly
 * those entries leaves the deployment order unchanged: the dependencies that only `DependsOn` expresses (a role's
 * default policy, for instance) stay.
 */
export function withoutRedundantDependsOn(template: { Resources?: Record<string, unknown> }): void {
  for (const resource of Object.values(template.Resources ?? {})) {
    if (!isRecord(resource) || resource['DependsOn'] === undefined) continue;
    const implied = referencedLogicalIds(resource['Properties']);
    const dependsOn = [resource['DependsOn']].flat().filter((id): id is string => typeof id === 'string');
    const kept = dependsOn.filter((id) => !implied.has(id));
    if (kept.length === dependsOn.length) continue;
    if (kept.length === 0) delete resource['DependsOn'];
    else resource['DependsOn'] = kept;
  }
}

function referencedLogicalIds(value: unknown, found = new Set<string>()): Set<string> {
  if (Array.isArray(value)) {
    for (const item of value) referencedLogicalIds(item, found);
  } else if (isRecord(value)) {
    for (const [key, inner] of Object.entries(value)) {
      if (key === 'Ref' && typeof inner === 'string') found.add(inner);
      else if (key === 'Fn::GetAtt' && Array.isArray(inner) && typeof inner[0] === 'string') found.add(inner[0]);
      else if (key === 'Fn::GetAtt' && typeof inner === 'string') found.add(inner.split('.')[0] ?? inner);
      else referencedLogicalIds(inner, found);
    }
  }
  return found;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
