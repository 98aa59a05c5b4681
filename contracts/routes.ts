/**
 * The HTTP routes, declared once: the inference API's (API Gateway builds its resources from {@link API_ROUTES}, the
 * handler and the local gateway route with {@link matchRoute}, the OpenAPI document and the CLI name their paths
 * with them) and the local platform's admin routes (`npm start` serves them, the CLI's `--local` mode calls them).
 */

export type HttpMethod = 'GET' | 'POST';

/** A route: a method on a resource template whose `{name}` segments are path parameters. */
export interface RouteSpec {
  readonly method: HttpMethod;
  /** The resource template, as API Gateway has it in `event.resource` (`/v1/models/{model}/predict`). */
  readonly resource: string;
}

/** The routes of the inference API, by name (the `route` metric dimension). */
export const API_ROUTES = {
  health: { method: 'GET', resource: '/v1/health', requiresApiKey: false },
  openapi: { method: 'GET', resource: '/v1/openapi.json', requiresApiKey: false },
  listModels: { method: 'GET', resource: '/v1/models', requiresApiKey: true },
  describeModel: { method: 'GET', resource: '/v1/models/{model}', requiresApiKey: true },
  listVersions: { method: 'GET', resource: '/v1/models/{model}/versions', requiresApiKey: true },
  predict: { method: 'POST', resource: '/v1/models/{model}/predict', requiresApiKey: true },
  explain: { method: 'POST', resource: '/v1/models/{model}/explain', requiresApiKey: true },
  feedback: { method: 'POST', resource: '/v1/models/{model}/feedback', requiresApiKey: true },
} as const satisfies Record<string, RouteSpec & { readonly requiresApiKey: boolean }>;

export type RouteName = keyof typeof API_ROUTES;

/** A route of the inference API. */
export interface Route extends RouteSpec {
  readonly name: RouteName;
  /** Whether the caller must present an API key. */
  readonly requiresApiKey: boolean;
}

/** The inference API's routes in declaration order (API Gateway creates the resources in this order). */
export const ROUTES: readonly Route[] = (Object.keys(API_ROUTES) as RouteName[]).map((name) => ({ name, ...API_ROUTES[name] }));

/**
 * The local platform's own routes, for the CLI's `--local` mode where AWS has its own APIs (Step Functions
 * StartExecution, DescribeExecution, SendTaskSuccess; Lambda Invoke).
 */
export const LOCAL_ROUTES = {
  /** Starts a training run (body: the execution input). */
  startPipelineRun: { method: 'POST', resource: '/local/v1/pipeline/runs' },
  /** A training run's status, progress, output and events. */
  describePipelineRun: { method: 'GET', resource: '/local/v1/pipeline/runs/{id}' },
  /** Decides an approval (`{"approved", "by", "reason"}`). */
  decideApproval: { method: 'POST', resource: '/local/v1/approvals/{id}' },
  /** Runs the drift job (body: its input, e.g. `{"model": "credit", "window": "1h"}`), as Lambda Invoke would. */
  runDrift: { method: 'POST', resource: '/local/v1/drift/runs' },
  /** The events the drift job put on the local bus. */
  listEvents: { method: 'GET', resource: '/local/v1/events' },
  /** Starts a batch scoring job (body: `{"model", "version"?, "input", "output"}`). */
  startBatchJob: { method: 'POST', resource: '/local/v1/batch/jobs' },
  /** A batch job's status, progress, output and events. */
  describeBatchJob: { method: 'GET', resource: '/local/v1/batch/jobs/{id}' },
  /** The API consumers' valid keys (`api.consumers`), values included. */
  listApiKeys: { method: 'GET', resource: '/local/v1/keys' },
  /** Rotates a consumer's key (body: `{"consumer", "overlap_seconds"}`): a new key, the old one valid until the overlap ends. */
  rotateApiKey: { method: 'POST', resource: '/local/v1/keys/rotate' },
} as const satisfies Record<string, RouteSpec>;

/**
 * The concrete path of a route: each `{name}` segment replaced by its parameter, URI-encoded.
 * @throws Error when a parameter of the template is not given
 */
export function routePath(route: RouteSpec, parameters: Readonly<Record<string, string>> = {}): string {
  return route.resource.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = parameters[name];
    if (value === undefined) throw new Error(`route ${route.resource} needs the path parameter "${name}"`);
    return encodeURIComponent(value);
  });
}

/** The path parameters of `path` when it matches the resource template, else undefined. */
export function matchTemplate(template: string, path: string): Record<string, string> | undefined {
  const templateParts = template.split('/');
  const pathParts = path.split('/');
  if (templateParts.length !== pathParts.length) return undefined;
  const parameters: Record<string, string> = {};
  for (let i = 0; i < templateParts.length; i++) {
    const expected = templateParts[i] ?? '';
    const actual = pathParts[i] ?? '';
    if (expected.startsWith('{') && expected.endsWith('}')) {
      if (actual === '') return undefined;
      try {
        parameters[expected.slice(1, -1)] = decodeURIComponent(actual);
      } catch {
        return undefined;
      }
    } else if (expected !== actual) {
      return undefined;
    }
  }
  return parameters;
}

export type RouteMatch =
  | { readonly kind: 'matched'; readonly route: Route; readonly pathParameters: Record<string, string> }
  | { readonly kind: 'method-not-allowed'; readonly allowed: readonly string[] }
  | { readonly kind: 'not-found' };

/** Finds the inference API's route for a method and a concrete path (without query string). */
export function matchRoute(method: string, path: string): RouteMatch {
  const normalised = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  const allowed: string[] = [];
  for (const route of ROUTES) {
    const parameters = matchTemplate(route.resource, normalised);
    if (parameters === undefined) continue;
    if (route.method === method) return { kind: 'matched', route, pathParameters: parameters };
    allowed.push(route.method);
  }
  return allowed.length > 0 ? { kind: 'method-not-allowed', allowed } : { kind: 'not-found' };
}
