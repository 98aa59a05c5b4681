import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { PRE_TRAFFIC_METRICS } from '#contracts/metrics.ts';
import { type PreTrafficResult, type ProxyAnswer, runPreTrafficCheck, type VersionInvoker } from '#core/serving/pre-traffic-check.ts';
import type { RegistryReader } from '#core/serving/ports.ts';

/** CodeDeploy's lifecycle hook event (BeforeAllowTraffic). */
export interface LifecycleHookEvent {
  readonly DeploymentId: string;
  readonly LifecycleEventHookExecutionId: string;
}

export type HookStatus = 'Succeeded' | 'Failed';

export interface PreTrafficHookOptions {
  readonly registry: Pick<RegistryReader, 'listModels' | 'getVersion'>;
  readonly invoke: VersionInvoker;
  /** Tells CodeDeploy the verdict (`PutLifecycleEventHookExecutionStatus`). */
  readonly report: (deploymentId: string, executionId: string, status: HookStatus) => Promise<void>;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

/** Thrown for an event that is not a CodeDeploy lifecycle hook event: there is nothing to report to. */
export class HookEventError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HookEventError';
  }
}

function parseHookEvent(event: unknown): LifecycleHookEvent {
  const raw = (typeof event === 'object' && event !== null ? event : {}) as Record<string, unknown>;
  const deploymentId = raw.DeploymentId;
  const executionId = raw.LifecycleEventHookExecutionId;
  if (typeof deploymentId !== 'string' || deploymentId === '' || typeof executionId !== 'string' || executionId === '') {
    throw new HookEventError(`not a codedeploy lifecycle hook event: DeploymentId and LifecycleEventHookExecutionId are required, got ${JSON.stringify(event).slice(0, 200)}`);
  }
  return { DeploymentId: deploymentId, LifecycleEventHookExecutionId: executionId };
}

/** Invokes one qualified function version with a proxy event; a function error (crash, missing module) throws. */
export function lambdaVersionInvoker(client: Pick<LambdaClient, 'send'>, functionArn: string): VersionInvoker {
  return async (event) => {
    const out = await client.send(new InvokeCommand({ FunctionName: functionArn, Payload: new TextEncoder().encode(JSON.stringify(event)) }));
    const text = out.Payload === undefined ? '' : new TextDecoder().decode(out.Payload);
    if (out.FunctionError !== undefined) throw new Error(`${functionArn} failed (${out.FunctionError}): ${text.slice(0, 500)}`);
    const answer = JSON.parse(text) as Partial<ProxyAnswer>;
    return { statusCode: Number(answer.statusCode), body: typeof answer.body === 'string' ? answer.body : '' };
  };
}

/**
 * Runs the pre-traffic check and reports Succeeded or Failed. The check never throws (a failed call is a failed
 * check); only a report that cannot be delivered throws, so that Lambda retries it and CodeDeploy does not wait out
 * its hook timeout.
 */
export function createPreTrafficHookHandler(options: PreTrafficHookOptions) {
  return async (event: unknown): Promise<PreTrafficResult & { readonly status: HookStatus }> => {
    const hook = parseHookEvent(event);
    const result = await runPreTrafficCheck(options);
    const status: HookStatus = result.ok ? 'Succeeded' : 'Failed';
    const log = { deployment_id: hook.DeploymentId, status, checks: result.checks };
    if (result.ok) options.logger.info('pre-traffic check passed', log);
    else options.logger.error('pre-traffic check failed: the deployment is stopped and rolled back', log);
    options.metrics.addMetric(result.ok ? PRE_TRAFFIC_METRICS.passed : PRE_TRAFFIC_METRICS.failed, MetricUnit.Count, 1);
    await options.report(hook.DeploymentId, hook.LifecycleEventHookExecutionId, status);
    return { ...result, status };
  };
}
