import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { InputSchema } from '#core/model/metadata.ts';
import { startLocalPlatform, type LocalPlatform } from '../../local/platform.ts';
import {
  FUZZ_SEED,
  expectWellFormed,
  feedbackBodyArbitrary,
  headersArbitrary,
  methodArbitrary,
  pathArbitrary,
  predictBodyArbitrary,
  runs,
} from './support.ts';

/**
 * Property-based fuzzing over HTTP against the local platform (the local gateway in front of the Lambda handler, on
 * real dynalite and s3rver): raw requests written to a socket, so paths, header values and bodies reach the server
 * exactly as generated, malformed ones included. Every answer is a 2xx with finite numbers or a 4xx JSON error with
 * a code, never a 5xx, and the server keeps answering.
 */

const API_KEY = 'fuzz-key-0123456789';
let dataDir: string;
let platform: LocalPlatform;
let port: number;
let schema: InputSchema;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'mlops-fuzz-'));
  platform = await startLocalPlatform({ dataDir, apiKey: API_KEY, port: 0 });
  port = Number(new URL(platform.url).port);
  const described = (await (await fetch(`${platform.url}/v1/models/credit`, { headers: { 'x-api-key': API_KEY } })).json()) as { input_schema: InputSchema };
  schema = described.input_schema;
});

afterAll(async () => {
  await platform?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

/** One request on its own connection; resolves to the status and body the server wrote before closing. */
function rawRequest(method: string, path: string, headers: Record<string, string>, body: string | null): Promise<{ status: number; body: string; html: boolean }> {
  const payload = body === null ? Buffer.alloc(0) : Buffer.from(body, 'utf8');
  const lines = [`${method} ${path} HTTP/1.1`, `host: 127.0.0.1:${port}`, 'connection: close', `content-length: ${payload.length}`];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), payload])));
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? '0');
      const split = text.indexOf('\r\n\r\n');
      const head = text.slice(0, split);
      let rest = split < 0 ? '' : text.slice(split + 4);
      // A chunked answer (no content-length): undo the chunk framing.
      if (/transfer-encoding: chunked/i.test(head)) {
        let out = '';
        for (;;) {
          const eol = rest.indexOf('\r\n');
          const size = parseInt(rest.slice(0, eol), 16);
          if (!(size > 0)) break;
          const bytes = Buffer.from(rest.slice(eol + 2), 'utf8');
          out += bytes.subarray(0, size).toString('utf8');
          rest = bytes.subarray(size + 2).toString('utf8');
        }
        rest = out;
      }
      resolve({ status, body: rest, html: /content-type: text\/html/i.test(head) });
    });
  });
}

/** Header values as a client's bytes: Latin-1 text without line breaks (anything else is not one header). */
const headerSafe = (headers: Record<string, string>): Record<string, string> =>
  Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, value.replace(/[^\x20-\x7e\xa0-\xff]/g, '?')]));

const settings = (numRuns: number) => ({ seed: FUZZ_SEED, numRuns: runs(numRuns), endOnFailure: true });

describe('local gateway under fuzzed HTTP', () => {
  it('answers every predict and feedback body with a 2xx or a 4xx JSON error', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('predict', 'feedback'),
        predictBodyArbitrary(schema),
        feedbackBodyArbitrary,
        headersArbitrary,
        async (route, predictBody, feedbackBody, headers) => {
          const body = route === 'predict' ? predictBody : feedbackBody;
          const answer = await rawRequest('POST', `/v1/models/credit/${route}`, { ...headerSafe(headers), 'x-api-key': API_KEY }, body);
          expectWellFormed(answer.status, answer.body, `POST ${route} ${body?.slice(0, 200)}`);
        },
      ),
      settings(400),
    );
  });

  it('answers every method, raw path and header, with or without the key, with a 2xx or a 4xx JSON error', async () => {
    await fc.assert(
      fc.asyncProperty(
        methodArbitrary,
        fc.oneof({ weight: 6, arbitrary: pathArbitrary }, { weight: 1, arbitrary: fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 60 }).map((p) => `/${p}`) }),
        headersArbitrary,
        fc.boolean(),
        async (method, path, headers, withKey) => {
          const answer = await rawRequest(method, path, { ...headerSafe(headers), ...(withKey ? { 'x-api-key': API_KEY } : {}) }, method === 'POST' ? '{"instances":[{}]}' : null);
          // The read-only dashboard is the one page that is not JSON.
          expectWellFormed(answer.status, answer.body, `${method} ${path.slice(0, 200)}`, method === 'HEAD' || (answer.html && answer.status === 200));
        },
      ),
      settings(300),
    );
    const health = await fetch(`${platform.url}/v1/health`);
    expect(health.status).toBe(200);
  });
});
