import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyInvokeError, SageMakerRuntimeInvoker } from '#adapters/sagemaker-runtime-invoker.ts';
import { EndpointCallError } from '#core/serving/endpoint-scoring.ts';

/**
 * The adapter with the real @aws-sdk/client-sagemaker-runtime against a scripted HTTP server on 127.0.0.1 that
 * answers as the SageMaker runtime does (x-amzn-ErrorType), so the SDK's own error parsing is what is classified.
 */

type Answer = { status: number; errorType?: string; body: string; delayMs?: number };
const answers = new Map<string, Answer>();
const received: { path: string; contentType: string | undefined; accept: string | undefined; body: string }[] = [];
let server: Server;
let client: SageMakerRuntimeClient;
let invoker: SageMakerRuntimeInvoker;

beforeAll(async () => {
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const path = request.url ?? '';
      received.push({ path, contentType: request.headers['content-type'], accept: request.headers.accept, body: Buffer.concat(chunks).toString('utf8') });
      const endpoint = /^\/endpoints\/([^/]+)\/invocations$/.exec(path)?.[1] ?? '';
      const answer = answers.get(endpoint) ?? { status: 404, errorType: 'UnknownOperationException', body: '{}' };
      const send = (): void => {
        if (response.destroyed) return;
        response.writeHead(answer.status, { 'content-type': 'application/json', ...(answer.errorType === undefined ? {} : { 'x-amzn-ErrorType': answer.errorType }) });
        response.end(answer.body);
      };
      if (answer.delayMs === undefined) send();
      else setTimeout(send, answer.delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  client = new SageMakerRuntimeClient({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
  });
  invoker = new SageMakerRuntimeInvoker(client);
});

afterAll(async () => {
  client?.destroy();
  server?.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

async function failureKind(endpoint: string, timeoutMs = 2000): Promise<string> {
  try {
    await invoker.invoke(endpoint, '{}', timeoutMs);
  } catch (error) {
    if (error instanceof EndpointCallError) return error.kind;
    throw error;
  }
  throw new Error('expected a failure');
}

describe('SageMakerRuntimeInvoker with the real SDK', () => {
  it('posts the JSON body to /endpoints/{name}/invocations and returns the answer', async () => {
    answers.set('ok', { status: 200, body: '{"outputs":[]}' });
    expect(await invoker.invoke('ok', '{"inputs":[]}', 2000)).toBe('{"outputs":[]}');
    expect(received.at(-1)).toEqual({ path: '/endpoints/ok/invocations', contentType: 'application/json', accept: 'application/json', body: '{"inputs":[]}' });
  });

  it.each([
    ['ThrottlingException', 400, 'throttled'],
    ['ModelNotReadyException', 429, 'throttled'],
    ['ModelError', 424, 'server_error'],
    ['InternalFailure', 500, 'server_error'],
    ['ServiceUnavailable', 503, 'server_error'],
    ['ValidationError', 400, 'client_error'],
  ])('classifies %s (%i) as %s', async (errorType, status, kind) => {
    answers.set(errorType.toLowerCase(), { status, errorType, body: JSON.stringify({ message: `a ${errorType}` }) });
    expect(await failureKind(errorType.toLowerCase())).toBe(kind);
  });

  it('gives up after the timeout and classifies it as a timeout', async () => {
    answers.set('slow', { status: 200, body: '{}', delayMs: 3000 });
    expect(await failureKind('slow', 100)).toBe('timeout');
  });

  it('classifies an unreachable endpoint as a server error', async () => {
    const unreachable = new SageMakerRuntimeInvoker(
      new SageMakerRuntimeClient({ endpoint: 'http://127.0.0.1:1', region: 'us-east-1', credentials: { accessKeyId: 't', secretAccessKey: 't' }, maxAttempts: 1 }),
    );
    await expect(unreachable.invoke('any', '{}', 2000)).rejects.toMatchObject({ kind: 'server_error' });
  });

  it('classifies bare errors by status and fault', () => {
    expect(classifyInvokeError({ $metadata: { httpStatusCode: 429 } }, false)).toBe('throttled');
    expect(classifyInvokeError({ name: 'Whatever', $fault: 'server' }, false)).toBe('server_error');
    expect(classifyInvokeError({ name: 'AccessDeniedException', $fault: 'client', $metadata: { httpStatusCode: 403 } }, false)).toBe('client_error');
    expect(classifyInvokeError(new Error('socket hang up'), true)).toBe('timeout');
  });
});
