import { describe, expect, it } from 'vitest';
import { API_ROUTES, LOCAL_ROUTES, matchRoute, matchTemplate, ROUTES, routePath } from '../../contracts/routes.ts';

describe('routePath', () => {
  it('fills each parameter, URI-encoded, so the path matches its own template again', () => {
    const path = routePath(API_ROUTES.predict, { model: 'a b/c' });
    expect(path).toBe('/v1/models/a%20b%2Fc/predict');
    expect(matchTemplate(API_ROUTES.predict.resource, path)).toEqual({ model: 'a b/c' });
  });

  it('refuses a template whose parameter is not given, naming it', () => {
    expect(() => routePath(LOCAL_ROUTES.describePipelineRun)).toThrow('route /local/v1/pipeline/runs/{id} needs the path parameter "id"');
  });
});

describe('matchRoute', () => {
  it('matches every declared route with a concrete path, parameters decoded', () => {
    for (const route of ROUTES) {
      const match = matchRoute(route.method, routePath(route, { model: 'credit risk' }));
      expect(match).toMatchObject({ kind: 'matched', route: { name: route.name } });
    }
    expect(matchRoute('POST', '/v1/models/credit%20risk/predict/')).toMatchObject({ pathParameters: { model: 'credit risk' } });
  });

  it('answers method-not-allowed with the allowed methods, and not-found for unknown or undecodable paths', () => {
    expect(matchRoute('DELETE', '/v1/models/credit')).toEqual({ kind: 'method-not-allowed', allowed: ['GET'] });
    expect(matchRoute('GET', '/v1/nothing')).toEqual({ kind: 'not-found' });
    expect(matchRoute('GET', '/v1/models/%E0%A4%A')).toEqual({ kind: 'not-found' });
    expect(matchRoute('GET', '/v1/models//versions')).toEqual({ kind: 'not-found' });
  });

  it('lists the routes in declaration order, names from API_ROUTES', () => {
    expect(ROUTES.map((route) => route.name)).toEqual(Object.keys(API_ROUTES));
  });
});
