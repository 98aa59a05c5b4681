import { Agent, request } from 'node:http';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { API_ROUTES, routePath } from '#contracts/routes.ts';
import { CREDIT_INSTANCE } from '../test/support/credit-instances.ts';

/**
 * A small closed-loop load generator, as `wrk -c64 -d20s` runs one (where wrk is not installed): `connections`
 * keep-alive connections each send a predict request, wait for its answer and send the next, for `duration` seconds.
 * Prints the answers by status, p50/p90/p99/max latency, time-outs (no answer within `timeout` ms, wrk's 2 s) and the
 * load average before and after (the machine may be shared).
 *
 *   npx tsx bench/load.ts --url http://127.0.0.1:3000 --key <api key> [-c 64] [-d 20] [--timeout 2000]
 */

const { values } = parseArgs({
  options: {
    url: { type: 'string', default: 'http://127.0.0.1:3000' },
    key: { type: 'string', default: process.env.MLOPS_API_KEY ?? '' },
    model: { type: 'string', default: 'credit' },
    connections: { type: 'string', short: 'c', default: '64' },
    duration: { type: 'string', short: 'd', default: '20' },
    timeout: { type: 'string', default: '2000' },
  },
});

const target = new URL(routePath(API_ROUTES.predict, { model: values.model }), values.url);
const connections = Number(values.connections);
const durationMs = Number(values.duration) * 1000;
const timeoutMs = Number(values.timeout);
const body = JSON.stringify({ instances: [CREDIT_INSTANCE] });
const agent = new Agent({ keepAlive: true, maxSockets: connections });

const latencies: number[] = [];
const statuses = new Map<string, number>();
let timeouts = 0;
let errors = 0;

function once(): Promise<void> {
  return new Promise((resolve) => {
    const started = performance.now();
    const req = request(
      target,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-api-key': values.key },
      },
      (res) => {
        res.resume();
        res.on('end', () => {
          latencies.push(performance.now() - started);
          const status = String(res.statusCode);
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
          resolve();
        });
      },
    );
    req.setTimeout(timeoutMs, () => {
      timeouts++;
      req.destroy(new Error('timeout'));
    });
    req.on('error', () => {
      errors++;
      resolve();
    });
    req.end(body);
  });
}

const before = loadavg();
const until = performance.now() + durationMs;
await Promise.all(
  Array.from({ length: connections }, async () => {
    while (performance.now() < until) await once();
  }),
);
agent.destroy();
const after = loadavg();

latencies.sort((a, b) => a - b);
const at = (q: number): string => (latencies.length === 0 ? '-' : (latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] as number).toFixed(1));
console.log(
  JSON.stringify(
    {
      target: target.href,
      connections,
      duration_s: durationMs / 1000,
      requests: latencies.length,
      requests_per_s: Math.round(latencies.length / (durationMs / 1000)),
      statuses: Object.fromEntries(statuses),
      timeouts,
      errors: errors - timeouts,
      latency_ms: { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: at(1) },
      loadavg_1m: { before: before[0]?.toFixed(2), after: after[0]?.toFixed(2) },
      cpus: (await import('node:os')).cpus().length,
    },
    null,
    2,
  ),
);
