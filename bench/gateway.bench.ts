import { fork, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { API_ROUTES, routePath } from '#contracts/routes.ts';
import { startLocalPlatform } from '../local/platform.ts';
import { CREDIT_INSTANCE } from '../test/support/credit-instances.ts';

/**
 * `npm run bench`: the local platform's throughput as a measure of per-request CPU. The local gateway (as
 * `npm start` runs it, in a process of its own whose log lines go nowhere) takes `bench/load.ts` at 32 keep-alive
 * connections for a fixed time; then the same process calls the same instrumented handler in a closed loop, one
 * call at a time (the gateway, like one Lambda container, runs one invocation at a time), for the same time.
 * The gateway's overhead per request is its time per answer less the handler's.
 */

const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 2000);
/** Seconds per run: short in the CI's smoke run (BENCH_ITERATIONS below the default). */
const SECONDS = Number(process.env.BENCH_GATEWAY_SECONDS ?? (ITERATIONS < 2000 ? 2 : 10));
const CONNECTIONS = 32;
const repoRoot = fileURLToPath(new URL('..', import.meta.url));

interface BareResult {
  requests: number;
  p99_ms: number;
}

type ServerMessage = { url: string } | { bare: BareResult };

async function server(): Promise<void> {
  const workDir = mkdtempSync(join(tmpdir(), 'mlops-gateway-bench-'));
  const platform = await startLocalPlatform({ dataDir: join(workDir, 'data'), apiKey: 'bench', port: 0 });
  // The platform's first (and here only) instance of the handler module: the one behind its gateway.
  const { handler } = await import('../lambdas/inference-api/handler.ts');
  const send = (message: ServerMessage): void => {
    process.send?.(message);
  };
  process.on('message', (message: { bare?: number; stop?: true }) => {
    void (async () => {
      if (message.bare !== undefined) {
        const body = JSON.stringify({ instances: [CREDIT_INSTANCE] });
        const path = routePath(API_ROUTES.predict, { model: 'credit' });
        const latencies: number[] = [];
        const until = performance.now() + message.bare;
        while (performance.now() < until) {
          const started = performance.now();
          const event = {
            resource: API_ROUTES.predict.resource,
            path,
            httpMethod: 'POST',
            headers: { 'content-type': 'application/json' },
            multiValueHeaders: {},
            queryStringParameters: null,
            multiValueQueryStringParameters: null,
            pathParameters: { model: 'credit' },
            stageVariables: null,
            body,
            isBase64Encoded: false,
            requestContext: { requestId: `bare-${latencies.length}`, identity: { sourceIp: '127.0.0.1' } },
          } as unknown as APIGatewayProxyEvent;
          const result = await handler(event, { awsRequestId: event.requestContext.requestId, functionName: 'bench', getRemainingTimeInMillis: () => 30_000 } as Context);
          if (result.statusCode !== 200) throw new Error(`the bare handler answered ${result.statusCode}: ${result.body}`);
          latencies.push(performance.now() - started);
        }
        latencies.sort((a, b) => a - b);
        send({ bare: { requests: latencies.length, p99_ms: latencies[Math.floor(0.99 * latencies.length)] ?? Number.NaN } });
      }
      if (message.stop === true) {
        await platform.stop();
        rmSync(workDir, { recursive: true, force: true });
        process.exit(0);
      }
    })();
  });
  send({ url: platform.url });
}

interface LoadResult {
  requests: number;
  requests_per_s: number;
  statuses: Record<string, number>;
  latency_ms: { p50: string; p99: string };
}

function runLoad(url: string): Promise<LoadResult> {
  const child = spawn(process.execPath, [...process.execArgv, join(repoRoot, 'bench/load.ts'), '--url', url, '--key', 'bench', '-c', String(CONNECTIONS), '-d', String(SECONDS)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as LoadResult) : reject(new Error(`bench/load.ts exited with ${code}`))));
  });
}

async function main(): Promise<void> {
  const child = fork(fileURLToPath(import.meta.url), [], { env: { ...process.env, GATEWAY_BENCH_ROLE: 'server' }, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const next = (): Promise<ServerMessage> =>
    new Promise((resolve, reject) => {
      child.once('message', (message) => resolve(message as ServerMessage));
      child.once('exit', (code) => reject(new Error(`the gateway process exited with ${code}`)));
    });
  try {
    const ready = await next();
    if (!('url' in ready)) throw new Error('the gateway process sent no url');
    const load = await runLoad(ready.url);
    const ok = load.statuses['200'] ?? 0;
    if (ok !== load.requests) throw new Error(`the gateway answered other than 200: ${JSON.stringify(load.statuses)}`);
    const bareReply = next();
    child.send({ bare: SECONDS * 1000 });
    const reply = await bareReply;
    if (!('bare' in reply)) throw new Error('the gateway process sent no bare figures');
    const bare = reply.bare;
    const gatewayMs = (SECONDS * 1000) / load.requests;
    const handlerMs = (SECONDS * 1000) / bare.requests;
    const overheadMs = gatewayMs - handlerMs;
    console.log(`\nlocal gateway throughput: bench/load.ts at ${CONNECTIONS} connections for ${SECONDS} s against the local platform (one handler invocation at a time), then the same handler called in a loop for ${SECONDS} s; load average ${loadavg()[0]?.toFixed(2)}`);
    console.log('                   requests/s  p99        per request');
    console.log(`gateway            ${String(load.requests_per_s).padEnd(10)}  ${`${load.latency_ms.p99} ms`.padEnd(9)}  ${(gatewayMs * 1000).toFixed(0)} µs`);
    console.log(`bare handler loop  ${String(Math.round(bare.requests / SECONDS)).padEnd(10)}  ${`${bare.p99_ms.toFixed(1)} ms`.padEnd(9)}  ${(handlerMs * 1000).toFixed(0)} µs`);
    const met = overheadMs < handlerMs / 3;
    console.log(`aim: the gateway's overhead per request under a third of the handler's -> ${met ? 'met' : 'NOT met'} (${(overheadMs * 1000).toFixed(0)} µs against ${(handlerMs * 1000).toFixed(0)} µs, ${((100 * overheadMs) / handlerMs).toFixed(0)} %)`);
  } finally {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.send({ stop: true });
    await exited;
  }
}

if (process.env.GATEWAY_BENCH_ROLE === 'server') {
  await server();
} else {
  await main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
