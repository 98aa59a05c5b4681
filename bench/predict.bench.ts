import { fork, spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { build } from 'esbuild';
import { ENV } from '#contracts/env.ts';
import { API_ROUTES, routePath } from '#contracts/routes.ts';
import { encodeRows } from '#core/model/encode.ts';
import { startLocalPlatform } from '../local/platform.ts';
import { CREDIT_INSTANCE } from '../test/support/credit-instances.ts';

/**
 * `npm run bench`: the predict handler as Lambda runs it (the esbuild bundle the CDK deploys,
 * in a fresh process, against the local DynamoDB and S3) beside a bare
 * `InferenceSession.run` on the same tensors in the same process, interleaved.
 * Prints p50/p99 per batch size, the ratio and the time the handler adds; the cold start;
 * and the bundle's size.
 */

const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 2000);
const WARMUP = 200;
const BATCH_SIZES = [1, 100, 1000];
/** Calls per batch size: a batch of 1,000 takes ten times a batch of 100, so it runs a quarter of the calls (and warm-up). */
const plan = (batch: number): { iterations: number; warmup: number } =>
  batch >= 1000 ? { iterations: Math.max(50, Math.round(ITERATIONS / 4)), warmup: 20 } : { iterations: ITERATIONS, warmup: WARMUP };
/** The issue's aims per batch size: the handler's p50 and p99 at most these multiples of the bare run's. */
const RATIO_AIMS: Record<number, { p50: number; p99?: number }> = { 100: { p50: 3, p99: 5 }, 1000: { p50: 2 } };
const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const CAPTURE_ITERATIONS = Number(process.env.BENCH_CAPTURE_ITERATIONS ?? 200);
/** Firehose latencies tried: fast, typical, and past the 50 ms budget (the answer stops waiting). */
const CAPTURE_DELAYS_MS = [0, 20, 200];

/** A stand-in Firehose endpoint (JSON 1.1): PutRecordBatch succeeds for every record after `delayMs`. */
async function startFirehoseStandIn(delayMs: number): Promise<{ url: string; records(): number; close(): Promise<void> }> {
  let received = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const { Records } = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as { Records?: unknown[] };
      const count = Records?.length ?? 0;
      received += count;
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(JSON.stringify({ FailedPutCount: 0, Encrypted: false, RequestResponses: Array.from({ length: count }, (_, i) => ({ RecordId: `r${i}` })) }));
      }, delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    records: () => received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function bundleHandler(outDir: string): Promise<string> {
  const outfile = join(outDir, 'index.js');
  // The same options as lib/constructs/mlops-function.ts gives NodejsFunction.
  await build({
    entryPoints: [join(repoRoot, 'lambdas/inference-api/handler.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node24',
    minify: process.env.BENCH_NO_MINIFY === undefined,
    sourcemap: true,
    mainFields: ['module', 'main'],
    external: ['onnxruntime-node', 'onnxruntime-common'],
    logLevel: 'error',
  });
  return outfile;
}

/**
 * What each part of the predict bundle costs at module load: each part bundled alone with the handler's options and
 * required in fresh Node processes (the median of `COLD_RUNS`). The parts overlap (the SDK clients share the
 * SDK's core), so they do not add up to the whole.
 */
const COLD_RUNS = 3;
const COLD_PARTS: { name: string; source: string }[] = [
  { name: 'Powertools Logger', source: "export { Logger } from '@aws-lambda-powertools/logger';" },
  { name: 'Powertools Metrics', source: "export { Metrics } from '@aws-lambda-powertools/metrics';" },
  { name: 'Powertools Tracer (X-Ray SDK)', source: "export { Tracer } from '@aws-lambda-powertools/tracer';" },
  { name: 'middy', source: "export { default } from '@middy/core';" },
  { name: 'DynamoDB client + document client', source: "export { DynamoDBClient } from '@aws-sdk/client-dynamodb'; export { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';" },
  { name: 'S3 client', source: "export { S3Client, GetObjectCommand } from '@aws-sdk/client-s3';" },
  { name: 'SageMaker runtime client (lazy)', source: "export { SageMakerRuntimeClient, InvokeEndpointCommand } from '@aws-sdk/client-sagemaker-runtime';" },
  { name: 'Firehose client (lazy)', source: "export { FirehoseClient, PutRecordBatchCommand } from '@aws-sdk/client-firehose';" },
  { name: 'zod', source: "export { z } from 'zod';" },
  { name: 'contracts (with zod)', source: "export * from '#contracts/env.ts'; export * from '#contracts/api.ts'; export * from '#contracts/predict.ts'; export * from '#contracts/explain.ts'; export * from '#contracts/drift.ts'; export * from '#contracts/gpu.ts'; export * from '#contracts/registry.ts'; export * from '#contracts/metrics.ts';" },
  { name: 'explain code', source: "export * from '#core/explain/explainer.ts'; export * from '#core/explain/onnx-reader.ts';" },
];

/** Median milliseconds to require `bundle` in a fresh Node process. */
function requireMs(bundle: string, execArgv: string[] = []): number {
  const times: number[] = [];
  for (let i = 0; i < COLD_RUNS; i++) {
    const script = `const t = process.hrtime.bigint(); require(${JSON.stringify(bundle)}); process.stdout.write(String(Number(process.hrtime.bigint() - t) / 1e6));`;
    const run = spawnSync(process.execPath, [...execArgv, '-e', script], { encoding: 'utf8', env: { ...process.env, NODE_PATH: join(repoRoot, 'node_modules') } });
    if (run.status !== 0) throw new Error(`requiring ${bundle} failed: ${run.stderr}`);
    times.push(Number(run.stdout));
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)] ?? Number.NaN;
}

async function coldStartParts(outDir: string, handlerBundle: string): Promise<{ name: string; ms: number; bytes: number }[]> {
  const rows: { name: string; ms: number; bytes: number }[] = [];
  for (const [index, part] of COLD_PARTS.entries()) {
    const outfile = join(outDir, `part-${index}.js`);
    await build({
      stdin: { contents: part.source, resolveDir: repoRoot, loader: 'ts' },
      outfile,
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node24',
      minify: true,
      mainFields: ['module', 'main'],
      external: ['onnxruntime-node', 'onnxruntime-common'],
      logLevel: 'error',
    });
    rows.push({ name: part.name, ms: requireMs(outfile), bytes: statSync(outfile).size });
  }
  // Both figures, not their difference: on a loaded machine the difference of two medians of three can come out negative.
  rows.push({ name: 'the whole predict bundle, no source maps', ms: requireMs(handlerBundle), bytes: statSync(handlerBundle).size });
  rows.push({ name: 'the same with --enable-source-maps (map size)', ms: requireMs(handlerBundle, ['--enable-source-maps']), bytes: statSync(`${handlerBundle}.map`).size });
  return rows;
}

function fmt(us: number): string {
  return us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${us.toFixed(1)} µs`;
}

interface Percentiles {
  p50_us: number;
  p99_us: number;
}

interface HarnessResult {
  moduleLoadMs: number;
  firstInvokeMs: number;
  warm: Record<string, { handler: Percentiles; bare: Percentiles }>;
}

async function main(): Promise<void> {
  const workDir = mkdtempSync(join(tmpdir(), 'mlops-bench-'));
  const platform = await startLocalPlatform({ dataDir: join(workDir, 'data'), apiKey: 'bench', port: 0 });
  try {
    const bundlePath = await bundleHandler(join(workDir, 'bundle'));
    const bundleBytes = statSync(bundlePath).size;
    const bundleGzip = gzipSync(readFileSync(bundlePath)).byteLength;

    const model = await platform.registry.getModel('credit');
    const version = await platform.registry.getVersion('credit', model?.production_version ?? 1);
    if (version === undefined) throw new Error('the reference model is not registered');
    const onnx = await platform.artifacts.getArtifact(version.artifact.key);
    const { preprocessing } = version.metadata;
    const input: Record<number, number[]> = {};
    for (const batch of BATCH_SIZES) {
      input[batch] = Array.from(encodeRows(preprocessing, Array.from({ length: batch }, () => CREDIT_INSTANCE)));
    }
    const referencePath = join(workDir, 'reference.json');
    writeFileSync(
      referencePath,
      JSON.stringify({ onnxBase64: Buffer.from(onnx).toString('base64'), input, columns: preprocessing.columns }),
    );

    const harness = (options: { plan: Record<number, { iterations: number; warmup: number }>; env?: Record<string, string> }): Promise<HarnessResult> => {
      const child = fork(join(repoRoot, 'bench/lambda-harness.mjs'), [
        JSON.stringify({
          bundlePath,
          repoRequireFrom: createRequire(import.meta.url).resolve('onnxruntime-node'),
          plan: options.plan,
          instance: CREDIT_INSTANCE,
          referencePath,
          route: { resource: API_ROUTES.predict.resource, path: routePath(API_ROUTES.predict, { model: 'credit' }) },
        }),
      ], {
        // A fresh container: the handler's settings as the CDK sets them, the SDK pointed at the local servers.
        env: {
          ...process.env,
          POWERTOOLS_METRICS_DISABLED: 'false',
          POWERTOOLS_DEV: '',
          [ENV.POWERTOOLS_LOG_LEVEL]: 'INFO',
          [ENV.ONNX_INTRA_OP_THREADS]: '1',
          // Lambda resolves layer packages through NODE_PATH=/opt/nodejs/node_modules; here the repo's copy stands in.
          NODE_PATH: join(repoRoot, 'node_modules'),
          // Capture off unless a run turns it on: the first figures are the handler's own.
          [ENV.CAPTURE_STREAM_NAME]: '',
          [ENV.CAPTURE_BUCKET_NAME]: '',
          ...options.env,
        },
        execArgv: ['--enable-source-maps', ...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir=' + process.env.BENCH_CPU_PROF] : [])],
        stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      });
      return new Promise<HarnessResult>((resolve, reject) => {
        child.once('message', (message) => resolve(message as HarnessResult));
        child.once('error', reject);
        child.once('exit', (code) => code !== 0 && reject(new Error(`the harness exited with ${code}`)));
      });
    };
    const result = await harness({ plan: Object.fromEntries(BATCH_SIZES.map((batch) => [batch, plan(batch)])) });

    console.log(`predict handler benchmark: ${BATCH_SIZES.map((batch) => `${plan(batch).iterations} warm calls at batch ${batch}`).join(', ')}, interleaved with a bare InferenceSession.run`);
    console.log(`node ${process.version}, onnxruntime-node ${version.metadata.algorithm} model of ${onnx.byteLength} bytes, ${preprocessing.columns} input columns\n`);
    console.log('batch  handler p50  handler p99  bare p50    bare p99    p50 ratio  p99 ratio  added at p50');
    const warmOf = (batch: number): { handler: Percentiles; bare: Percentiles } => {
      const figures = result.warm[batch];
      if (figures === undefined) throw new Error(`the harness measured no batch of ${batch}`);
      return figures;
    };
    for (const batch of BATCH_SIZES) {
      const { handler, bare } = warmOf(batch);
      console.log(
        [
          String(batch).padEnd(5),
          fmt(handler.p50_us).padEnd(11),
          fmt(handler.p99_us).padEnd(11),
          fmt(bare.p50_us).padEnd(10),
          fmt(bare.p99_us).padEnd(10),
          `${(handler.p50_us / bare.p50_us).toFixed(2)}x`.padEnd(9),
          `${(handler.p99_us / bare.p99_us).toFixed(2)}x`.padEnd(9),
          fmt(handler.p50_us - bare.p50_us),
        ].join('  '),
      );
    }
    const added = warmOf(1).handler.p50_us - warmOf(1).bare.p50_us;
    console.log(`\naim: the handler adds under 100 µs at batch 1 -> ${added < 100 ? 'met' : 'NOT met'} (${fmt(added)})`);
    for (const [batch, aim] of Object.entries(RATIO_AIMS)) {
      const { handler, bare } = warmOf(Number(batch));
      const p50 = handler.p50_us / bare.p50_us;
      const p99 = handler.p99_us / bare.p99_us;
      const met = p50 <= aim.p50 && (aim.p99 === undefined || p99 <= aim.p99);
      const wanted = `p50 within ${aim.p50}x${aim.p99 === undefined ? '' : `, p99 within ${aim.p99}x`}`;
      console.log(`aim: at batch ${batch} the handler's ${wanted} the bare run -> ${met ? 'met' : 'NOT met'} (p50 ${p50.toFixed(2)}x, p99 ${p99.toFixed(2)}x)`);
    }
    const coldTotal = result.moduleLoadMs + result.firstInvokeMs;
    console.log(`\ncold start: module load ${result.moduleLoadMs.toFixed(1)} ms; first invocation (registry read, artifact fetch and sha256, session creation, predict) ${result.firstInvokeMs.toFixed(1)} ms; total ${coldTotal.toFixed(1)} ms`);
    console.log(`aim: module load plus first invocation at most 150 ms -> ${coldTotal <= 150 ? 'met' : 'NOT met'} (${coldTotal.toFixed(1)} ms)`);
    console.log(`\nmodule load by part (each bundled alone and required in a fresh process, median of ${COLD_RUNS}; parts share code, so they overlap):`);
    for (const part of await coldStartParts(join(workDir, 'parts'), bundlePath)) {
      console.log(`  ${part.name.padEnd(44)} ${part.ms.toFixed(1).padStart(7)} ms  ${(part.bytes / 1024).toFixed(0).padStart(5)} KiB`);
    }
    console.log(`predict bundle: ${(bundleBytes / 1024).toFixed(0)} KiB minified (${(bundleGzip / 1024).toFixed(0)} KiB gzip), onnxruntime-node excluded (it comes from the layer)`);

    // What a sampled request pays for capture in AWS: the bundle with CAPTURE_STREAM_NAME set sends each sampled
    // prediction with PutRecordBatch and waits for it at most the capture budget (50 ms), here against a stand-in
    // Firehose endpoint that answers after a chosen delay (an in-region PutRecordBatch takes a few to a few tens of ms).
    console.log(`\ncapture cost per sampled request (drift.captureSampleRate 1, batch 1, ${CAPTURE_ITERATIONS} calls each; Firehose stood in by a local endpoint):`);
    console.log('Firehose answers after   handler p50  handler p99  added at p50  added at p99');
    const baseline = warmOf(1).handler;
    for (const delayMs of CAPTURE_DELAYS_MS) {
      const firehose = await startFirehoseStandIn(delayMs);
      try {
        const captured = await harness({
          plan: { 1: { iterations: CAPTURE_ITERATIONS, warmup: 20 } },
          env: {
            [ENV.CAPTURE_STREAM_NAME]: 'bench-captures',
            [ENV.CAPTURE_SAMPLE_RATE]: '1',
            // The local platform's credentials and region (set in this process's environment) serve for it too.
            AWS_ENDPOINT_URL_FIREHOSE: firehose.url,
          },
        });
        const figures = captured.warm[1];
        if (figures === undefined) throw new Error('the capture run measured nothing');
        console.log(
          [
            `${delayMs} ms`.padEnd(23),
            fmt(figures.handler.p50_us).padEnd(11),
            fmt(figures.handler.p99_us).padEnd(11),
            fmt(figures.handler.p50_us - baseline.p50_us).padEnd(12),
            fmt(figures.handler.p99_us - baseline.p99_us),
          ].join('  '),
        );
        if (firehose.records() === 0) throw new Error('the stand-in Firehose received no capture records');
      } finally {
        await firehose.close();
      }
    }
  } finally {
    await platform.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
