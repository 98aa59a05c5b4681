/**
 * The routes of the inference API. API Gateway matches them in AWS (lib/constructs/inference-api.ts
 * declares the same resources); the local gateway matches them with `matchRoute`.
 */

export type RouteName = 'health' | 'openapi' | 'listModels' | 'describeModel' | 'listVersions' | 'predict' | 'explain' | 'feedback';

export interface Route {
  readonly name: RouteName;
  readonly method: 'GET' | 'POST';
  /** The API Gateway resource template, as it arrives in `event.resource`. */
  readonly resource: string;
  /** Whether the caller must present an API key. */
  readonly requiresApiKey: boolean;
}

export const ROUTES: readonly Route[] = [
  { name: 'health', method: 'GET', resource: '/v1/health', requiresApiKey: false },
  { name: 'openapi', method: 'GET', resource: '/v1/openapi.json', requiresApiKey: false },
  { name: 'listModels', method: 'GET', resource: '/v1/models', requiresApiKey: true },
  { name: 'describeModel', method: 'GET', resource: '/v1/models/{model}', requiresApiKey: true },
  { name: 'listVersions', method: 'GET', resource: '/v1/models/{model}/versions', requiresApiKey: true },
  { name: 'predict', method: 'POST', resource: '/v1/models/{model}/predict', requiresApiKey: true },
  { name: 'explain', method: 'POST', resource: '/v1/models/{model}/explain', requiresApiKey: true },
  { name: 'feedback', method: 'POST', resource: '/v1/models/{model}/feedback', requiresApiKey: true },
];

export type RouteMatch =
  | { readonly kind: 'matched'; readonly route: Route; readonly pathParameters: Record<string, string> }
  | { readonly kind: 'method-not-allowed'; readonly allowed: readonly string[] }
  | { readonly kind: 'not-found' };

function matchTemplate(template: string, path: string): Record<string, string> | undefined {
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

/** Finds the route for a method and a concrete path (without query string). */
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
