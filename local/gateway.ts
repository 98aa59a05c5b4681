import { randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { MAX_ECHOED_STRING_LENGTH, truncateText } from '../lambdas/core/errors.ts';
import { matchRoute, ROUTES } from '#contracts/routes.ts';
import { DEFAULT_KEY_ID } from './api-keys.ts';

/**
 * A local stand-in for API Gateway: it matches the same routes, checks the `x-api-key`
 * header the way a usage plan does, turns HTTP requests into REST proxy events for the very
 * handler Lambda runs, and answers errors in the platform's JSON shape.
 *
 * Every answer is JSON, including Node's own parser errors (431 for oversized headers, 400 for a malformed request).
 * Only the public routes (health, OpenAPI, the read-only dashboard) answer without a key; an unknown path or method
 * is a 404/405 only for a caller holding the key, as API Gateway answers 403 to one without. The `Host` header must
 * name the listener (`127.0.0.1`, `localhost` or `[::1]` with its port): a page on another origin that rebinds its
 * DNS name to 127.0.0.1 gets 421 and reads nothing.
 */

/** API Gateway's own hard limit on a REST payload. */
const GATEWAY_PAYLOAD_LIMIT_BYTES = 10 * 1024 * 1024;

export interface GatewayOptions {
  readonly handler: (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;
  /** The default key: the only one the local platform's own routes (`/local/`) accept. */
  readonly apiKey: string;
  /**
   * The id of a presented key when it is valid for the API routes (the consumers' keys, `local/api-keys.ts`), put on
   * the event as `requestContext.identity.apiKeyId` like API Gateway does. @default - only `apiKey`, with no id
   */
  readonly authenticate?: (presented: string | undefined) => string | undefined;
  /**
   * The usage plans and stage throttle (`local/throttles.ts`): called once per API request after the key check, with
   * the key id of a route that needs one; a refusal is answered `429` in the shape API Gateway's gateway responses
   * give it. @default - no limits
   */
  readonly admit?: (request: { keyId: string | undefined; method: string; resource: string }) => { code: string; message: string } | undefined;
  /** @default 0 (any free port) */
  readonly port?: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** Origins allowed for CORS preflight. @default [] */
  readonly corsAllowOrigins?: readonly string[];
  /**
   * Routes of the local platform itself (under `/local/`), e.g. to start a training run from
   * the CLI; they need the API key too. Answers undefined for a path it does not know.
   */
  readonly localRoutes?: (request: { method: string; path: string; body: string }) => Promise<{ status: number; body: unknown } | undefined>;
  /**
   * Pages of the local platform answered without an API key (the read-only `/dashboard`): checked before the API
   * routes; answers undefined for a path it does not serve.
   */
  readonly pages?: (request: { method: string; path: string }) => Promise<{ status: number; contentType: string; body: string } | undefined>;
  /** Called after each request, for an access log. */
  readonly onRequest?: (entry: { method: string; path: string; status: number; ms: number }) => void;
}

export interface RunningGateway {
  readonly url: string;
  close(): Promise<void>;
}

class PayloadTooLarge extends Error {}

function errorBody(code: string, message: string): string {
  return JSON.stringify({ error: { code, message: truncateText(message, MAX_ECHOED_STRING_LENGTH), details: {} } });
}

/**
 * The request target as a URL on this host, or undefined when it is not one. The target is always read as a path:
 * `//x` is the path `//x`, not a URL of host `x` (which `new URL(target, base)` would make of it, or throw on `//`).
 */
function requestUrl(target: string): URL | undefined {
  if (!target.startsWith('/')) return undefined;
  try {
    return new URL(`http://127.0.0.1${target}`);
  } catch {
    return undefined;
  }
}

/** Paths of routes that need no key (any method: a wrong method on them is a plain 405). */
const PUBLIC_PATHS = new Set(ROUTES.filter((route) => !route.requiresApiKey).map((route) => route.resource));

/** Answers a request Node's parser refused (before any handler runs) with a JSON error, then closes the socket. */
function answerClientError(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  const code = status === 431 ? 'HEADERS_TOO_LARGE' : status === 408 ? 'REQUEST_TIMEOUT' : 'MALFORMED_REQUEST';
  const body = errorBody(code, status === 431 ? 'the request headers are too large' : 'the request is not valid HTTP');
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\ncontent-type: application/json; charset=utf-8\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > GATEWAY_PAYLOAD_LIMIT_BYTES) {
        reject(new PayloadTooLarge());
        request.resume();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

function keysMatch(presented: string | undefined, expected: string): boolean {
  if (presented === undefined) return false;
  const a = Buffer.from(presented);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function headerRecord(request: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  return headers;
}

function toEvent(
  request: IncomingMessage,
  url: URL,
  resource: string,
  pathParameters: Record<string, string>,
  body: Buffer,
  apiKeyId: string | null,
): APIGatewayProxyEvent {
  const headers = headerRecord(request);
  const query = Object.fromEntries(url.searchParams.entries());
  const requestId = headers['x-request-id'] ?? randomUUID();
  return {
    resource,
    path: url.pathname,
    httpMethod: request.method ?? 'GET',
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    queryStringParameters: Object.keys(query).length > 0 ? query : null,
    multiValueQueryStringParameters: null,
    pathParameters: Object.keys(pathParameters).length > 0 ? pathParameters : null,
    stageVariables: null,
    body: body.length > 0 ? body.toString('utf8') : null,
    isBase64Encoded: false,
    requestContext: {
      accountId: 'local',
      apiId: 'local',
      authorizer: null,
      protocol: 'HTTP/1.1',
      httpMethod: request.method ?? 'GET',
      identity: {
        accessKey: null,
        accountId: null,
        apiKey: headers['x-api-key'] ?? null,
        apiKeyId,
        caller: null,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
        user: null,
        userAgent: headers['user-agent'] ?? null,
        userArn: null,
      },
      path: url.pathname,
      stage: 'local',
      requestId,
      requestTimeEpoch: Date.now(),
      resourceId: 'local',
      resourcePath: resource,
    },
  };
}

export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const cors = options.corsAllowOrigins ?? [];
  /** `host:port` values the Host header may carry; filled once the port is known. */
  const allowedHosts = new Set<string>();

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<number> {
    const method = request.method ?? 'GET';
    const send = (status: number, body: string, headers: Record<string, string> = {}): number => {
      response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
      response.end(body);
      return status;
    };
    const url = requestUrl(request.url ?? '/');
    if (url === undefined) return send(400, errorBody('MALFORMED_REQUEST', 'the request target is not a valid path'));
    const tooLarge = (): number => send(413, errorBody('PAYLOAD_TOO_LARGE', `the body exceeds ${GATEWAY_PAYLOAD_LIMIT_BYTES} bytes`));
    /** The request body, or undefined when it is over the gateway's limit. */
    const readBodyWithinLimit = async (): Promise<Buffer | undefined> => {
      try {
        return await readBody(request);
      } catch (error) {
        if (error instanceof PayloadTooLarge) return undefined;
        throw error;
      }
    };

    if (!allowedHosts.has((request.headers.host ?? '').toLowerCase())) {
      return send(421, errorBody('HOST_NOT_ALLOWED', 'the Host header must name this local gateway (127.0.0.1 or localhost with its port)'));
    }

    const origin = request.headers.origin;
    if (method === 'OPTIONS' && origin !== undefined && cors.length > 0) {
      const allowed = cors.includes('*') || cors.includes(origin);
      if (!allowed) return send(403, errorBody('CORS_ORIGIN_NOT_ALLOWED', `origin ${origin} is not allowed`));
      response.writeHead(204, {
        'access-control-allow-origin': cors.includes('*') ? '*' : origin,
        'access-control-allow-methods': 'GET,POST,OPTIONS',
        'access-control-allow-headers': 'content-type,x-api-key,x-request-id',
        'access-control-max-age': '600',
      });
      response.end();
      return 204;
    }

    if (url.pathname.startsWith('/local/') && options.localRoutes !== undefined) {
      const presentedKey = request.headers['x-api-key'];
      if (!keysMatch(typeof presentedKey === 'string' ? presentedKey : undefined, options.apiKey)) {
        return send(403, errorBody('FORBIDDEN', 'a valid API key is required in the x-api-key header'));
      }
      const body = await readBodyWithinLimit();
      if (body === undefined) return tooLarge();
      const answer = await options.localRoutes({ method, path: url.pathname, body: body.toString('utf8') });
      if (answer !== undefined) return send(answer.status, JSON.stringify(answer.body));
    }

    const page = await options.pages?.({ method, path: url.pathname });
    if (page !== undefined) {
      response.writeHead(page.status, { 'content-type': page.contentType, 'cache-control': 'no-store' });
      response.end(page.body);
      return page.status;
    }

    const match = matchRoute(method, url.pathname);
    const isPublic = match.kind === 'matched' ? !match.route.requiresApiKey : PUBLIC_PATHS.has(url.pathname);
    const presentedHeader = request.headers['x-api-key'];
    const presented = typeof presentedHeader === 'string' ? presentedHeader : undefined;
    const apiKeyId = options.authenticate !== undefined ? options.authenticate(presented) : keysMatch(presented, options.apiKey) ? null : undefined;
    // The key first: without one, nothing tells which paths or methods exist.
    if (!isPublic && apiKeyId === undefined) {
      return send(403, errorBody('FORBIDDEN', 'a valid API key is required in the x-api-key header'));
    }
    if (match.kind === 'not-found') return send(404, errorBody('ROUTE_NOT_FOUND', `no route for ${method} ${url.pathname}`));
    if (match.kind === 'method-not-allowed') {
      return send(405, errorBody('METHOD_NOT_ALLOWED', `${method} is not allowed on ${url.pathname}`), {
        allow: match.allowed.join(', '),
      });
    }
    const refusal = options.admit?.({
      keyId: match.route.requiresApiKey ? (apiKeyId ?? DEFAULT_KEY_ID) : undefined,
      method,
      resource: match.route.resource,
    });
    if (refusal !== undefined) return send(429, errorBody(refusal.code, refusal.message));
    const body = await readBodyWithinLimit();
    if (body === undefined) return tooLarge();
    const result = await options.handler(toEvent(request, url, match.route.resource, match.pathParameters, body, apiKeyId ?? null));
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(result.headers ?? {})) headers[name] = String(value);
    response.writeHead(result.statusCode, headers);
    response.end(result.body);
    return result.statusCode;
  }

  const server = createServer((request, response) => {
    const started = performance.now();
    handle(request, response)
      .catch(() => {
        // What API Gateway answers when an integration fails: never a dropped connection.
        if (!response.headersSent) response.writeHead(502, { 'content-type': 'application/json; charset=utf-8' });
        response.end(errorBody('BAD_GATEWAY', 'the integration failed'));
        return 502;
      })
      .then((status) => {
        options.onRequest?.({
          method: request.method ?? 'GET',
          path: request.url ?? '/',
          status,
          ms: performance.now() - started,
        });
      });
  });
  server.on('clientError', answerClientError);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  for (const name of ['127.0.0.1', 'localhost', '[::1]', options.host ?? '127.0.0.1']) allowedHosts.add(`${name.toLowerCase()}:${port}`);
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
