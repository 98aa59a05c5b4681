/**
 * The pre-traffic check of a code deployment of the predict function (CodeDeploy's BeforeAllowTraffic hook): before
 * any client request reaches the new version, it answers the health route and predicts the reference instance of
 * every production model. Anything but a valid answer fails the deployment, so a version that cannot load its
 * modules, its model or its layer never gets traffic, even when no client calls during the canary.
 */
import { API_ROUTES, routePath, type RouteSpec } from '#contracts/routes.ts';
import type { ModelMetadata } from '#core/model/metadata.ts';
import type { RegistryReader } from '#core/serving/ports.ts';

/** What the new version answers to an API Gateway proxy event. */
export interface ProxyAnswer {
  readonly statusCode: number;
  readonly body: string;
}

/** Calls the new version with an API Gateway proxy event (a synchronous Lambda invoke in AWS). */
export type VersionInvoker = (event: Record<string, unknown>) => Promise<ProxyAnswer>;

export interface PreTrafficCheck {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

export interface PreTrafficResult {
  readonly ok: boolean;
  readonly checks: readonly PreTrafficCheck[];
}

/**
 * One instance every production model accepts: the baseline median of each numeric feature (the mean when the
 * profile has no quantiles, 0 without a profile) and the most frequent category of each categorical feature.
 */
export function referenceInstance(metadata: ModelMetadata): Record<string, number | string> {
  const instance: Record<string, number | string> = {};
  for (const feature of metadata.input_schema.features) {
    const profile = metadata.baseline[feature.name];
    if (feature.type === 'numeric') {
      const median = profile?.type === 'numeric' ? (profile.quantiles[Math.floor(profile.quantiles.length / 2)] ?? profile.mean) : 0;
      instance[feature.name] = Number.isFinite(median) ? median : 0;
    } else {
      const frequencies = profile?.type === 'categorical' ? Object.entries(profile.frequencies) : [];
      const known = frequencies.filter(([category]) => feature.categories.includes(category)).sort((a, b) => b[1] - a[1]);
      instance[feature.name] = known[0]?.[0] ?? feature.categories[0] ?? '';
    }
  }
  return instance;
}

/** An API Gateway REST proxy event (the shape API Gateway sends the predict function). */
export function proxyEvent(options: {
  readonly route: RouteSpec;
  readonly pathParameters?: Readonly<Record<string, string>>;
  readonly body?: unknown;
  readonly requestId?: string;
  readonly headers?: Readonly<Record<string, string>>;
}): Record<string, unknown> {
  const pathParameters = options.pathParameters ?? {};
  const { method, resource } = options.route;
  const path = routePath(options.route, pathParameters);
  const requestId = options.requestId ?? 'pre-traffic';
  return {
    resource,
    path,
    httpMethod: method,
    headers: { 'content-type': 'application/json', ...options.headers },
    multiValueHeaders: {},
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: Object.keys(pathParameters).length === 0 ? null : { ...pathParameters },
    stageVariables: null,
    requestContext: {
      resourcePath: resource,
      httpMethod: method,
      path,
      requestId,
      stage: 'pre-traffic',
      identity: { sourceIp: '127.0.0.1', userAgent: 'mlops-pre-traffic-hook' },
    },
    body: options.body === undefined ? null : JSON.stringify(options.body),
    isBase64Encoded: false,
  };
}

function parse(body: string): unknown {
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return undefined;
  }
}

/** Whether a predict answer holds exactly one prediction with a probability in [0, 1]. */
function validPrediction(answer: ProxyAnswer): string | undefined {
  if (answer.statusCode !== 200) return `answered ${answer.statusCode}: ${answer.body.slice(0, 300)}`;
  const body = parse(answer.body) as { predictions?: { probability?: unknown }[] } | undefined;
  const predictions = body?.predictions;
  if (!Array.isArray(predictions) || predictions.length !== 1) return `answered 200 without one prediction: ${answer.body.slice(0, 300)}`;
  const probability = predictions[0]?.probability;
  if (typeof probability !== 'number' || !(probability >= 0 && probability <= 1)) return `answered a probability outside [0, 1]: ${String(probability)}`;
  return undefined;
}

/** Runs the checks; a thrown invoke (function error, timeout) is a failed check, not an exception. */
export async function runPreTrafficCheck(deps: {
  readonly registry: Pick<RegistryReader, 'listModels' | 'getVersion'>;
  readonly invoke: VersionInvoker;
}): Promise<PreTrafficResult> {
  const checks: PreTrafficCheck[] = [];
  const attempt = async (name: string, run: () => Promise<string | undefined>): Promise<void> => {
    try {
      const problem = await run();
      checks.push({ name, ok: problem === undefined, detail: problem ?? 'ok' });
    } catch (error) {
      checks.push({ name, ok: false, detail: error instanceof Error ? error.message : String(error) });
    }
  };
  await attempt('health', async () => {
    const answer = await deps.invoke(proxyEvent({ route: API_ROUTES.health }));
    return answer.statusCode === 200 ? undefined : `answered ${answer.statusCode}: ${answer.body.slice(0, 300)}`;
  });
  let models: Awaited<ReturnType<typeof deps.registry.listModels>> = [];
  await attempt('registry', async () => {
    models = await deps.registry.listModels();
    return undefined;
  });
  for (const model of models) {
    if (model.production_version === null) continue;
    const version = model.production_version;
    await attempt(`predict ${model.model} v${version}`, async () => {
      const record = await deps.registry.getVersion(model.model, version);
      if (record === undefined) return `version ${version} of ${model.model} is not in the registry`;
      const answer = await deps.invoke(
        proxyEvent({
          route: API_ROUTES.predict,
          pathParameters: { model: model.model },
          body: { instances: [referenceInstance(record.metadata)] },
        }),
      );
      return validPrediction(answer);
    });
  }
  return { ok: checks.every((check) => check.ok), checks };
}
