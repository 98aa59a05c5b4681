// Runs inside a fresh Node process, like a Lambda container: loads the esbuild bundle the CDK
// deploys, times its cold start, then times warm invocations beside a bare
// InferenceSession.run on the same tensors. Results go to the parent over IPC; stdout (EMF
// metrics, logs) goes wherever the parent sends it, as in Lambda.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

// `route`: the predict route's template and a concrete path (contracts/routes.ts, filled by the parent).
// `plan`: per batch size, the warm calls to time and the untimed warm-up calls before them.
const { bundlePath, repoRequireFrom, plan, instance, referencePath, route } = JSON.parse(process.argv[2]);
const nodeRequire = createRequire(repoRequireFrom);
const ns = (start) => Number(process.hrtime.bigint() - start);

function event(body) {
  return {
    resource: route.resource,
    path: route.path,
    httpMethod: 'POST',
    headers: { 'content-type': 'application/json' },
    multiValueHeaders: {},
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: { model: 'credit' },
    stageVariables: null,
    body,
    isBase64Encoded: false,
    requestContext: { requestId: 'bench', identity: { sourceIp: '127.0.0.1' } },
  };
}

const context = {
  callbackWaitsForEmptyEventLoop: false,
  functionName: 'bench',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:bench',
  memoryLimitInMB: '1769',
  awsRequestId: 'bench',
  logGroupName: 'bench',
  logStreamName: 'bench',
  getRemainingTimeInMillis: () => 10_000,
  done() {},
  fail() {},
  succeed() {},
};

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function summarise(samples) {
  const sorted = Float64Array.from(samples).sort();
  return { p50_us: percentile(sorted, 50) / 1000, p99_us: percentile(sorted, 99) / 1000 };
}

let started = process.hrtime.bigint();
const bundle = nodeRequire(bundlePath);
const moduleLoadMs = ns(started) / 1e6;

const body1 = JSON.stringify({ instances: [instance] });
started = process.hrtime.bigint();
const first = await bundle.handler(event(body1), context);
const firstInvokeMs = ns(started) / 1e6;
if (first.statusCode !== 200) throw new Error(`cold invoke answered ${first.statusCode}: ${first.body}`);

// The bare reference: the same artifact, session options, and tensors the handler builds.
const ort = nodeRequire('onnxruntime-node');
const reference = JSON.parse(readFileSync(referencePath, 'utf8'));
const { input, columns } = reference;
const session = await ort.InferenceSession.create(Buffer.from(reference.onnxBase64, 'base64'), {
  graphOptimizationLevel: 'all',
  executionMode: 'sequential',
  intraOpNumThreads: 1,
});

const warm = {};
for (const [batchKey, { iterations, warmup }] of Object.entries(plan)) {
  const batch = Number(batchKey);
  const body = JSON.stringify({ instances: Array.from({ length: batch }, () => instance) });
  const feeds = { features: new ort.Tensor('float32', Float32Array.from(input[batch]), [batch, columns]) };
  for (let i = 0; i < warmup; i++) {
    await bundle.handler(event(body), context);
    await session.run(feeds, ['probability']);
  }
  const handlerSamples = [];
  const bareSamples = [];
  // Interleaved so that drift in machine load affects both series alike.
  for (let i = 0; i < iterations; i++) {
    let t = process.hrtime.bigint();
    const response = await bundle.handler(event(body), context);
    handlerSamples.push(ns(t));
    if (response.statusCode !== 200) throw new Error(`warm invoke answered ${response.statusCode}`);
    t = process.hrtime.bigint();
    await session.run(feeds, ['probability']);
    bareSamples.push(ns(t));
  }
  warm[batch] = { handler: summarise(handlerSamples), bare: summarise(bareSamples) };
}

process.send({ moduleLoadMs, firstInvokeMs, warm });
