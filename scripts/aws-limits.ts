/**
 * AWS service limits checked on a synthesized CloudFormation template: what `cdk synth` accepts but a deploy (or the
 * first run after it) would refuse. Used by test/infra/aws-limits.test.ts over the synthesized templates and by
 * `npm run rehearse` over the cloud assembly.
 *
 * Values that are CloudFormation intrinsics are estimated at a generous length (an ARN, a generated name), so a
 * template passes only when it fits with real names too.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { MAX_SEED, TRAINING_JOB_NAME, trainingJobPrefix } from '#core/pipeline/job-name.ts';
import { ALARM_METRIC_LAG_SECONDS } from '#contracts/observability.ts';
import { asError } from '#core/errors.ts';

type Json = Record<string, unknown>;
interface Resource {
  readonly Type: string;
  readonly Properties?: Json;
  readonly UpdatePolicy?: Json;
}
export interface CfnTemplate {
  readonly Resources?: Record<string, Resource>;
  readonly Outputs?: Record<string, unknown>;
  readonly Parameters?: Record<string, unknown>;
}

/** The limits (AWS documentation, service quotas that cannot be raised). */
export const LIMITS = {
  templateBytes: 1_048_576,
  resources: 500,
  outputs: 200,
  parameters: 200,
  lambdaEnvironmentBytes: 4096,
  lambdaUnzippedBytes: 262_144_000,
  roleInlinePolicyChars: 10_240,
  stateMachineDefinitionBytes: 1_048_576,
  names: {
    'AWS::Lambda::Function': { property: 'FunctionName', max: 64, pattern: /^[a-zA-Z0-9-_]+$/ },
    'AWS::IAM::Role': { property: 'RoleName', max: 64, pattern: /^[\w+=,.@-]+$/ },
    'AWS::Logs::LogGroup': { property: 'LogGroupName', max: 512, pattern: /^[.\-_/#A-Za-z0-9]+$/ },
    'AWS::CloudWatch::Alarm': { property: 'AlarmName', max: 255, pattern: /^[^\p{Cc}]+$/u },
    'AWS::CloudWatch::CompositeAlarm': { property: 'AlarmName', max: 255, pattern: /^[^\p{Cc}]+$/u },
    'AWS::StepFunctions::StateMachine': { property: 'StateMachineName', max: 80, pattern: /^[a-zA-Z0-9-_]+$/ },
    'AWS::SageMaker::Endpoint': { property: 'EndpointName', max: 63, pattern: /^[a-zA-Z0-9](-*[a-zA-Z0-9])*$/ },
    'AWS::SageMaker::EndpointConfig': { property: 'EndpointConfigName', max: 63, pattern: /^[a-zA-Z0-9](-*[a-zA-Z0-9])*$/ },
    'AWS::SageMaker::Model': { property: 'ModelName', max: 63, pattern: /^[a-zA-Z0-9](-*[a-zA-Z0-9])*$/ },
    'AWS::WAFv2::WebACL': { property: 'Name', max: 128, pattern: /^[\w-]+$/ },
    'AWS::SNS::Topic': { property: 'TopicName', max: 256, pattern: /^[\w-]+$/ },
    'AWS::DynamoDB::Table': { property: 'TableName', max: 255, pattern: /^[a-zA-Z0-9_.-]+$/ },
    'AWS::S3::Bucket': { property: 'BucketName', max: 63, pattern: /^[a-z0-9][a-z0-9.-]*[a-z0-9]$/ },
  } as Readonly<Record<string, { property: string; max: number; pattern: RegExp }>>,
} as const;

/** Seconds between traffic shifts of CodeDeploy's predefined Lambda configs (0: all at once). */
export const CODEDEPLOY_INTERVALS: Readonly<Record<string, number>> = {
  'CodeDeployDefault.LambdaAllAtOnce': 0,
  'CodeDeployDefault.LambdaCanary10Percent5Minutes': 300,
  'CodeDeployDefault.LambdaCanary10Percent10Minutes': 600,
  'CodeDeployDefault.LambdaCanary10Percent15Minutes': 900,
  'CodeDeployDefault.LambdaCanary10Percent30Minutes': 1800,
  'CodeDeployDefault.LambdaLinear10PercentEvery1Minute': 60,
  'CodeDeployDefault.LambdaLinear10PercentEvery2Minutes': 120,
  'CodeDeployDefault.LambdaLinear10PercentEvery3Minutes': 180,
  'CodeDeployDefault.LambdaLinear10PercentEvery10Minutes': 600,
};

/** A worst-case run id of the pipeline (a uuid) for the training job name check. */
const SAMPLE_RUN_ID = 'ffffffff-ffff-4fff-bfff-ffffffffffff';

/** What a `Ref` to a resource of these types resolves to, when it is short and of known length (an API key's id). */
const REF_LENGTHS: Readonly<Record<string, number>> = { 'AWS::ApiGateway::ApiKey': 10 };

/** Length of an intrinsic once CloudFormation resolves it, estimated on the long side; `template` tells what a `Ref` names. */
function estimate(value: unknown, template?: CfnTemplate): string {
  const inner = (part: unknown): string => estimate(part, template);
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return value.map(inner).join(',');
  if (typeof value !== 'object' || value === null) return '';
  const intrinsic = value as Json;
  if ('Fn::Join' in intrinsic) {
    const [separator, parts] = intrinsic['Fn::Join'] as [string, unknown[]];
    return parts.map(inner).join(separator);
  }
  if ('Ref' in intrinsic) {
    const ref = String(intrinsic['Ref']);
    const known = REF_LENGTHS[template?.Resources?.[ref]?.Type ?? ''];
    if (known !== undefined) return 'x'.repeat(known);
    if (ref.startsWith('AWS::')) return { 'AWS::Region': 'ap-southeast-3', 'AWS::AccountId': '123456789012', 'AWS::Partition': 'aws-iso-b', 'AWS::URLSuffix': 'amazonaws.com' }[ref] ?? 'x'.repeat(64);
    // A generated physical name or an ARN (a version's ARN, a topic's ARN): 128 characters covers either.
    return 'x'.repeat(128);
  }
  if ('Fn::GetAtt' in intrinsic) return 'x'.repeat(160);
  if ('Fn::FindInMap' in intrinsic) return 'x'.repeat(16);
  if ('Fn::Sub' in intrinsic || 'Fn::Select' in intrinsic || 'Fn::ImportValue' in intrinsic) return 'x'.repeat(160);
  return JSON.stringify(Object.fromEntries(Object.entries(intrinsic).map(([key, part]) => [key, inner(part)])));
}

function resources(template: CfnTemplate, type?: string): [string, Resource][] {
  return Object.entries(template.Resources ?? {}).filter(([, resource]) => type === undefined || resource.Type === type);
}

function checkNames(template: CfnTemplate, problems: string[]): void {
  for (const [id, resource] of resources(template)) {
    const rule = LIMITS.names[resource.Type];
    const value = rule === undefined ? undefined : resource.Properties?.[rule.property];
    if (rule === undefined || value === undefined) continue;
    const name = estimate(value);
    if (name.length > rule.max) problems.push(`${id} (${resource.Type}): ${rule.property} is ${name.length} characters, the limit is ${rule.max}: ${name}`);
    // Only a literal name can be checked against the pattern (an estimate is not the real text).
    if (typeof value === 'string' && !rule.pattern.test(value)) problems.push(`${id} (${resource.Type}): ${rule.property} "${value}" does not match ${rule.pattern.source}`);
  }
}

function checkLambdaEnvironment(template: CfnTemplate, problems: string[]): void {
  for (const [id, resource] of resources(template, 'AWS::Lambda::Function')) {
    const variables = ((resource.Properties?.['Environment'] as Json | undefined)?.['Variables'] ?? {}) as Json;
    const bytes = Object.entries(variables).reduce((sum, [key, value]) => sum + Buffer.byteLength(key) + Buffer.byteLength(estimate(value, template)), 0);
    if (bytes > LIMITS.lambdaEnvironmentBytes) problems.push(`${id}: environment variables take about ${bytes} bytes, Lambda allows ${LIMITS.lambdaEnvironmentBytes}`);
  }
}

/** The size IAM counts for an inline policy: its JSON without whitespace. */
function policyChars(document: unknown): number {
  return JSON.stringify(JSON.parse(JSON.stringify(document, (_key, value: unknown) => (typeof value === 'object' && value !== null && !Array.isArray(value) && isIntrinsic(value) ? estimate(value) : value)))).length;
}

function isIntrinsic(value: object): boolean {
  const keys = Object.keys(value);
  return keys.length === 1 && (keys[0] === 'Ref' || keys[0]?.startsWith('Fn::') === true);
}

function checkInlinePolicies(template: CfnTemplate, problems: string[]): void {
  const perRole = new Map<string, number>();
  for (const [, policy] of resources(template, 'AWS::IAM::Policy')) {
    const chars = policyChars(policy.Properties?.['PolicyDocument']);
    for (const role of (policy.Properties?.['Roles'] ?? []) as unknown[]) {
      const roleId = (role as Json)['Ref'];
      if (typeof roleId === 'string') perRole.set(roleId, (perRole.get(roleId) ?? 0) + chars);
    }
  }
  for (const [roleId, role] of resources(template, 'AWS::IAM::Role')) {
    for (const inline of (role.Properties?.['Policies'] ?? []) as Json[]) perRole.set(roleId, (perRole.get(roleId) ?? 0) + policyChars(inline['PolicyDocument']));
  }
  for (const [roleId, chars] of perRole) {
    if (chars > LIMITS.roleInlinePolicyChars) problems.push(`${roleId}: inline policies of the role take about ${chars} characters, IAM allows ${LIMITS.roleInlinePolicyChars}`);
  }
}

/** The definition with its substitutions made (intrinsics estimated). */
export function stateMachineDefinition(resource: Resource): string {
  let definition = estimate(resource.Properties?.['DefinitionString']);
  const substitutions = (resource.Properties?.['DefinitionSubstitutions'] ?? {}) as Json;
  for (const [key, value] of Object.entries(substitutions)) definition = definition.split(`\${${key}}`).join(estimate(value));
  return definition;
}

/** Every `"TrainingJobName.$"` expression of a definition. */
function trainingJobNameExpressions(node: unknown, found: string[] = []): string[] {
  if (Array.isArray(node)) for (const item of node) trainingJobNameExpressions(item, found);
  else if (typeof node === 'object' && node !== null) {
    for (const [key, value] of Object.entries(node)) {
      if (key === 'TrainingJobName.$' && typeof value === 'string') found.push(value);
      else if (key === 'TrainingJobName' && typeof value === 'string') found.push(`'${value}'`);
      else trainingJobNameExpressions(value, found);
    }
  }
  return found;
}

/**
 * The name a `States.Format('{}-{}', $.a, $.b)` (or a literal) gives for one run: `$.run.model` is the model,
 * `$.run.run_id` a uuid, `$.run.training_job_prefix` what the pipeline derives, `$.seed` the largest seed.
 */
export function trainingJobName(expression: string, model: string): string {
  const format = /^States\.Format\('([^']*)'\s*,\s*(.+)\)$/.exec(expression.trim());
  if (format === null) return expression.replace(/^'|'$/g, '');
  const values: Record<string, string> = {
    '$.run.model': model,
    '$.run.run_id': SAMPLE_RUN_ID,
    '$.run.training_job_prefix': trainingJobPrefix(model, SAMPLE_RUN_ID),
    '$.seed': String(MAX_SEED),
  };
  const args = (format[2] ?? '').split(',').map((arg) => arg.trim());
  let index = 0;
  return (format[1] ?? '').replace(/\{\}/g, () => values[args[index++] ?? ''] ?? `<${args[index - 1] ?? '?'}>`);
}

function checkStateMachines(template: CfnTemplate, modelNames: readonly string[], problems: string[]): void {
  for (const [id, resource] of resources(template, 'AWS::StepFunctions::StateMachine')) {
    const definition = stateMachineDefinition(resource);
    const bytes = Buffer.byteLength(definition);
    if (bytes > LIMITS.stateMachineDefinitionBytes) problems.push(`${id}: the definition is ${bytes} bytes, Step Functions allows ${LIMITS.stateMachineDefinitionBytes}`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(definition);
    } catch (error) {
      problems.push(`${id}: the definition is not JSON after its substitutions: ${asError(error).message}`);
      continue;
    }
    for (const expression of trainingJobNameExpressions(parsed)) {
      for (const model of modelNames) {
        const name = trainingJobName(expression, model);
        if (!TRAINING_JOB_NAME.test(name)) {
          problems.push(`${id}: the training job name of model "${model}" would be "${name}" (${name.length} characters), which breaks SageMaker's ${TRAINING_JOB_NAME.source}`);
        }
      }
    }
  }
}

/** Seconds an alarm needs to reach ALARM from a sustained breach: evaluation periods × period + CloudWatch's lag. */
export function secondsToAlarm(alarm: Resource): number {
  const props = alarm.Properties ?? {};
  const metricPeriods = ((props['Metrics'] ?? []) as Json[]).map((metric) => Number((metric['MetricStat'] as Json | undefined)?.['Period'] ?? metric['Period'] ?? 0));
  const period = Math.max(Number(props['Period'] ?? 0), ...metricPeriods);
  const evaluations = Number(props['DatapointsToAlarm'] ?? props['EvaluationPeriods'] ?? 1);
  // M of N alarms: the first M breaching periods can be the last M of the window.
  return evaluations * period + ALARM_METRIC_LAG_SECONDS;
}

function checkCanaryTiming(template: CfnTemplate, problems: string[]): void {
  const alarms = new Map(resources(template, 'AWS::CloudWatch::Alarm'));
  const byName = new Map(resources(template, 'AWS::CloudWatch::Alarm').map(([id, alarm]) => [alarm.Properties?.['AlarmName'], id] as const));
  for (const [id, group] of resources(template, 'AWS::CodeDeploy::DeploymentGroup')) {
    const configName = group.Properties?.['DeploymentConfigName'];
    const interval = typeof configName === 'string' ? CODEDEPLOY_INTERVALS[configName] : undefined;
    if (interval === undefined) {
      problems.push(`${id}: deployment config ${JSON.stringify(configName)} has no known interval to check its alarms against`);
      continue;
    }
    if (interval === 0) continue;
    const configured = (((group.Properties?.['AlarmConfiguration'] as Json | undefined)?.['Alarms'] ?? []) as Json[]).map((alarm) => alarm['Name']);
    for (const name of configured) {
      const alarmId = typeof name === 'object' && name !== null ? String((name as Json)['Ref']) : byName.get(name);
      const alarm = alarmId === undefined ? undefined : alarms.get(alarmId);
      if (alarm === undefined) {
        problems.push(`${id}: rollback alarm ${JSON.stringify(name)} is not in the template`);
        continue;
      }
      const needed = secondsToAlarm(alarm);
      if (needed > interval) problems.push(`${id}: rollback alarm ${alarmId} needs ${needed} s to reach ALARM, longer than the ${interval} s canary interval of ${String(configName)}`);
    }
  }
  for (const [id, endpoint] of resources(template, 'AWS::SageMaker::Endpoint')) {
    const deployment = endpoint.Properties?.['DeploymentConfig'] as Json | undefined;
    const routing = ((deployment?.['BlueGreenUpdatePolicy'] as Json | undefined)?.['TrafficRoutingConfiguration'] ?? undefined) as Json | undefined;
    const wait = Number(routing?.['WaitIntervalInSeconds'] ?? 0);
    if (routing === undefined || routing['Type'] === 'ALL_AT_ONCE') continue;
    for (const alarm of ((deployment?.['AutoRollbackConfiguration'] as Json | undefined)?.['Alarms'] ?? []) as Json[]) {
      const alarmId = byName.get(alarm['AlarmName']);
      const resource = alarmId === undefined ? undefined : alarms.get(alarmId);
      if (resource === undefined) {
        problems.push(`${id}: rollback alarm ${String(alarm['AlarmName'])} is not in the template`);
        continue;
      }
      const needed = secondsToAlarm(resource);
      if (needed > wait) problems.push(`${id}: rollback alarm ${String(alarm['AlarmName'])} needs ${needed} s to reach ALARM, longer than the ${wait} s canary bake of the endpoint`);
    }
  }
}

/** Bytes of everything under a directory (files only). */
function directoryBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += directoryBytes(path);
    else if (entry.isFile()) total += statSync(path).size;
  }
  return total;
}

/** The asset directory of a `Code`/`Content` property in a cloud assembly (`S3Key` is `<hash>.zip`). */
export function assetDirectory(assemblyDir: string, code: unknown): string | undefined {
  const key = estimate((code as Json | undefined)?.['S3Key']);
  const hash = /([0-9a-f]{64})\.zip$/.exec(key)?.[1];
  return hash === undefined ? undefined : join(assemblyDir, `asset.${hash}`);
}

function checkUnzippedSizes(template: CfnTemplate, assemblyDir: string, problems: string[]): void {
  const layerBytes = new Map<string, number>();
  for (const [id, layer] of resources(template, 'AWS::Lambda::LayerVersion')) {
    const dir = assetDirectory(assemblyDir, layer.Properties?.['Content']);
    if (dir !== undefined) layerBytes.set(id, directoryBytes(dir));
  }
  for (const [id, fn] of resources(template, 'AWS::Lambda::Function')) {
    const dir = assetDirectory(assemblyDir, fn.Properties?.['Code']);
    if (dir === undefined) continue;
    const layers = ((fn.Properties?.['Layers'] ?? []) as Json[]).map((layer) => layerBytes.get(String(layer['Ref'])) ?? 0);
    const total = directoryBytes(dir) + layers.reduce((a, b) => a + b, 0);
    if (total > LIMITS.lambdaUnzippedBytes) problems.push(`${id}: function and layers unzip to ${total} bytes, Lambda allows ${LIMITS.lambdaUnzippedBytes}`);
  }
}

export interface LimitsOptions {
  /** Model names the training pipeline may train (the config's `pipeline.models` and any others expected). */
  readonly modelNames?: readonly string[];
  /** The cloud assembly directory, to measure unzipped function and layer sizes; without it they are not measured. */
  readonly assemblyDir?: string;
}

/** Every limit the template breaks, one line each (empty: it fits). */
export function checkTemplateLimits(template: CfnTemplate, options: LimitsOptions = {}): string[] {
  const problems: string[] = [];
  const bytes = Buffer.byteLength(JSON.stringify(template));
  if (bytes > LIMITS.templateBytes) problems.push(`the template is ${bytes} bytes, CloudFormation allows ${LIMITS.templateBytes}`);
  const count = Object.keys(template.Resources ?? {}).length;
  if (count > LIMITS.resources) problems.push(`the template has ${count} resources, CloudFormation allows ${LIMITS.resources}`);
  if (Object.keys(template.Outputs ?? {}).length > LIMITS.outputs) problems.push(`the template has more than ${LIMITS.outputs} outputs`);
  if (Object.keys(template.Parameters ?? {}).length > LIMITS.parameters) problems.push(`the template has more than ${LIMITS.parameters} parameters`);
  checkNames(template, problems);
  checkLambdaEnvironment(template, problems);
  checkInlinePolicies(template, problems);
  checkStateMachines(template, options.modelNames ?? [], problems);
  checkCanaryTiming(template, problems);
  if (options.assemblyDir !== undefined) checkUnzippedSizes(template, options.assemblyDir, problems);
  return problems;
}
