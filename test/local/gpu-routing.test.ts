import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMlops, runMlopsJson, type CliResult } from '../support/mlops-cli.ts';
import type { ModelVersionRecord } from '#core/registry/records.ts';
import { startLocalPlatform, type LocalPlatform } from '../../local/platform.ts';
import { writePlatformFile } from '../../local/platform-file.ts';
import type { EndpointFault } from '../../local/sagemaker-runtime.ts';
import { trainCreditModel } from '../../examples/credit/train.ts';
import { CREDIT_INSTANCE, RISKY_CREDIT_INSTANCE, creditBatch } from '../support/credit-instances.ts';

/**
 * The GPU path end to end on the local platform: a model registered for a SageMaker endpoint with the CLI,
 * packaged for Triton, promoted, and called through the API, which scores it with the real
 * @aws-sdk/client-sagemaker-runtime against the local SageMaker-runtime server. The answers equal the
 * Lambda-served model's; a failing, slow or throttling endpoint gives the documented error, and the circuit
 * opens and closes.
 */

const API_KEY = 'gpu-test-key-0123456789';
const OPEN_SECONDS = 1;
const FAILURE_THRESHOLD = 3;
const INVOKE_TIMEOUT_MS = 3000;
let dataDir: string;
let workDir: string;
let platform: LocalPlatform;
let files: { onnx: string; metadata: string };
/** What each local endpoint answers instead of scoring, call by call (tests switch faults on and off). */
const faults = new Map<string, () => EndpointFault | undefined>();

/** The same fault on every call. */
function always(fault: EndpointFault): () => EndpointFault {
  return () => fault;
}

const local = (args: string[]): string[] => ['--local', '--local-dir', dataDir, '--actor', 'tester@gpu-test', ...args];
const mlops = (...args: string[]): Promise<CliResult> => runMlops(local(args), { cwd: workDir });
const mlopsJson = <T>(...args: string[]): Promise<T> => runMlopsJson<T>(local(args), { cwd: workDir });

async function predict(model: string, instances: unknown[]): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${platform.url}/v1/models/${model}/predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': API_KEY },
    body: JSON.stringify({ instances }),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

function errorCode(json: Record<string, unknown>): string {
  return (json.error as { code: string }).code;
}

/**
 * Registers the credit artifact as version 1 of `model`, served by `endpoint`. Every test that needs a model on an
 * endpoint makes its own, with a name of its own: the tests share the platform, not their models, in any order.
 */
async function registerOnEndpoint(model: string, endpoint: string): Promise<{ version: ModelVersionRecord; checks: string[] }> {
  return mlopsJson('register', '--model', model, '--onnx', files.onnx, '--metadata', files.metadata, '--target', 'sagemaker', '--endpoint', endpoint);
}

/** Registers the credit artifact as `model`, served by `endpoint`, packages it and promotes it. */
async function deployOnEndpoint(model: string, endpoint: string): Promise<void> {
  await registerOnEndpoint(model, endpoint);
  await mlopsJson('package', '--model', model, '--version', '1', '--target', 'sagemaker');
  await mlopsJson('promote', '--model', model, '--version', '1');
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'mlops-gpu-platform-'));
  workDir = mkdtempSync(join(tmpdir(), 'mlops-gpu-work-'));
  platform = await startLocalPlatform({
    dataDir,
    apiKey: API_KEY,
    port: 0,
    registryCacheTtlSeconds: 0,
    sagemaker: {
      // Long enough for a loaded CI machine's first call to an endpoint (fetch, untar, session), far below the delay
      // fault of the timeout case.
      invokeTimeoutMs: INVOKE_TIMEOUT_MS,
      maxThrottleRetries: 2,
      retryBaseDelayMs: 1,
      circuitFailureThreshold: FAILURE_THRESHOLD,
      circuitOpenSeconds: OPEN_SECONDS,
      faults: (endpoint) => faults.get(endpoint)?.(),
    },
  });
  writePlatformFile(dataDir, platform);
  // The same training as the seeded `credit` model: the same bytes, so the same answers from either path.
  const { onnx, metadata } = await trainCreditModel();
  files = { onnx: join(workDir, 'model.onnx'), metadata: join(workDir, 'metadata.json') };
  writeFileSync(files.onnx, onnx);
  writeFileSync(files.metadata, JSON.stringify(metadata));
}, 120_000);

afterAll(async () => {
  await platform?.stop();
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(workDir, { recursive: true, force: true });
});

describe('GPU path on the local platform', () => {
  it('registers a version for a SageMaker endpoint and records the serving target', async () => {
    const result = await registerOnEndpoint('gpu-registered', 'gpu-registered-endpoint');
    expect(result.version.serving_target).toEqual({ kind: 'sagemaker', endpoint_name: 'gpu-registered-endpoint' });
    expect(result.checks).toContain('serves from SageMaker endpoint "gpu-registered-endpoint" (package it with mlops package --target sagemaker)');
  });

  it('shows where each version is served in mlops versions', async () => {
    await registerOnEndpoint('gpu-listed', 'gpu-listed-endpoint');
    const table = await mlops('versions', '--model', 'gpu-listed');
    expect(table.stdout.split('\n')[0]).toMatch(/SERVED BY$/);
    expect(table.stdout).toMatch(/^\s*1\s+candidate\s.*sagemaker:gpu-listed-endpoint$/m);
    expect((await mlops('versions', '--model', 'credit')).stdout).toMatch(/^\s*1\s+production\s.*lambda$/m);
  });

  it('documents the endpoint answers in the OpenAPI document', async () => {
    const document = (await (await fetch(`${platform.url}/v1/openapi.json`)).json()) as { paths: Record<string, { post?: { responses: Record<string, unknown> } }> };
    const responses = JSON.stringify(document.paths['/v1/models/{model}/predict']?.post?.responses);
    for (const code of ['ENDPOINT_THROTTLED', 'ENDPOINT_TIMEOUT', 'ENDPOINT_FAILED', 'ENDPOINT_CIRCUIT_OPEN']) expect(responses).toContain(code);
  });

  it('answers 503 ENDPOINT_FAILED while nothing is deployed on the endpoint', async () => {
    await registerOnEndpoint('gpu-undeployed', 'gpu-undeployed-endpoint');
    await mlopsJson('promote', '--model', 'gpu-undeployed', '--version', '1');
    const { status, json } = await predict('gpu-undeployed', [CREDIT_INSTANCE]);
    expect(status).toBe(503);
    expect(errorCode(json)).toBe('ENDPOINT_FAILED');
  });

  it('packages the version for Triton and binds it to the local endpoint', async () => {
    await registerOnEndpoint('gpu-packaged', 'gpu-packaged-endpoint');
    const result = await mlopsJson<{ key: string; endpoint_name: string; bound_locally: boolean; config_pbtxt: string }>(
      'package', '--model', 'gpu-packaged', '--version', '1', '--target', 'sagemaker',
    );
    expect(result).toMatchObject({ key: 'sagemaker/gpu-packaged/1/model.tar.gz', endpoint_name: 'gpu-packaged-endpoint', bound_locally: true });
    expect(result.config_pbtxt).toContain('backend: "onnxruntime"');
  });

  it('packages a Lambda-served version too, without binding it, and says how to route it to an endpoint', async () => {
    const text = await mlops('package', '--model', 'credit', '--version', '1', '--target', 'sagemaker');
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('credit: packaged version 1 for SageMaker (Triton): sagemaker/credit/1/model.tar.gz in the artifact bucket');
    expect(text.stdout).toContain('! the version serves in the Lambda: register the artifact with --target sagemaker --endpoint NAME');
    const json = await mlopsJson<{ bound_locally: boolean; endpoint_name: string | null }>('package', '--model', 'credit', '--version', '1', '--target', 'sagemaker');
    expect(json).toMatchObject({ bound_locally: false, endpoint_name: null });
  });

  it('refuses package targets other than sagemaker, and register --target sagemaker without an endpoint, as usage errors', async () => {
    const target = await mlops('package', '--model', 'credit', '--version', '1', '--target', 'lambda');
    expect([target.code, target.stderr]).toEqual([2, 'mlops: --target must be sagemaker (the only packaged target), got "lambda"\n']);
    const endpoint = await mlops('register', '--model', 'x', '--onnx', files.onnx, '--metadata', files.metadata, '--target', 'sagemaker');
    expect([endpoint.code, endpoint.stderr]).toEqual([2, 'mlops: --target sagemaker needs --endpoint NAME (the SageMaker endpoint that serves it)\n']);
    const bad = await mlops('package', '--model', 'credit', '--version', '1', '--target', 'sagemaker', '--endpoint', 'bad_name');
    expect(bad.code).toBe(2);
  });

  it('answers through the API exactly as the Lambda-served model does', async () => {
    await deployOnEndpoint('credit-gpu', 'credit-gpu-endpoint');
    const instances = [CREDIT_INSTANCE, RISKY_CREDIT_INSTANCE, ...creditBatch(50)];
    const [lambda, sagemaker] = await Promise.all([predict('credit', instances), predict('credit-gpu', instances)]);
    expect(sagemaker.status).toBe(200);
    expect(lambda.status).toBe(200);
    // Each answer carries its own request id; everything else is the same.
    expect({ ...sagemaker.json, model: 'credit', request_id: lambda.json['request_id'] }).toEqual(lambda.json);
    expect(platform.sagemakerRuntime.invocations('credit-gpu-endpoint')).toBeGreaterThan(0);
  });

  it('validates instances before calling the endpoint, with the same 400 as the Lambda path', async () => {
    await deployOnEndpoint('gpu-validating', 'gpu-validating-endpoint');
    const bad = { ...CREDIT_INSTANCE, Home: 'castle' };
    const [lambda, sagemaker] = await Promise.all([predict('credit', [bad]), predict('gpu-validating', [bad])]);
    expect(sagemaker.status).toBe(400);
    expect(sagemaker.json).toEqual(lambda.json);
    expect(platform.sagemakerRuntime.invocations('gpu-validating-endpoint')).toBe(0);
  });

  it('refuses an artifact over the Lambda size limit for the lambda target, pointing to sagemaker', async () => {
    const result = await mlops('register', '--model', 'too-big', '--onnx', files.onnx, '--metadata', files.metadata, '--max-lambda-artifact-bytes', '100');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^mlops: .*more than the 100 bytes the predict Lambda serves.*--target sagemaker --endpoint NAME.*ARTIFACT_TOO_LARGE_FOR_LAMBDA/);
  });

  it('answers 503 ENDPOINT_FAILED when the endpoint fails with a 5xx', async () => {
    await deployOnEndpoint('gpu-failing', 'gpu-failing-endpoint');
    faults.set('gpu-failing-endpoint', always({ kind: 'error', status: 500, errorType: 'InternalFailure' }));
    const { status, json } = await predict('gpu-failing', [CREDIT_INSTANCE]);
    expect(status).toBe(503);
    expect(json.error).toEqual({
      code: 'ENDPOINT_FAILED',
      message: "the model's inference endpoint failed to score the request",
      // Which version failed, so that a failing canary is counted against itself; never the endpoint's name.
      details: { model: 'gpu-failing', model_version: 1, variant: 'production' },
    });
    expect(platform.sagemakerRuntime.invocations('gpu-failing-endpoint')).toBe(1); // a 5xx is not retried
  });

  it('answers 503 ENDPOINT_FAILED when the model in the container errors (ModelError)', async () => {
    await deployOnEndpoint('gpu-model-error', 'gpu-model-error-endpoint');
    faults.set('gpu-model-error-endpoint', always({ kind: 'error', status: 424, errorType: 'ModelError' }));
    const { status, json } = await predict('gpu-model-error', [CREDIT_INSTANCE]);
    expect(status).toBe(503);
    expect(errorCode(json)).toBe('ENDPOINT_FAILED');
  });

  it('answers 504 ENDPOINT_TIMEOUT when the endpoint does not answer in time', async () => {
    await deployOnEndpoint('gpu-slow', 'gpu-slow-endpoint');
    faults.set('gpu-slow-endpoint', always({ kind: 'delay', ms: 4 * INVOKE_TIMEOUT_MS }));
    const { status, json } = await predict('gpu-slow', [CREDIT_INSTANCE]);
    expect(status).toBe(504);
    expect(json.error).toMatchObject({ code: 'ENDPOINT_TIMEOUT', details: { timeout_ms: INVOKE_TIMEOUT_MS } });
  });

  it('retries a throttled call twice, then answers 429 ENDPOINT_THROTTLED', async () => {
    await deployOnEndpoint('gpu-busy', 'gpu-busy-endpoint');
    faults.set('gpu-busy-endpoint', always({ kind: 'error', status: 400, errorType: 'ThrottlingException', message: 'Rate exceeded' }));
    const { status, json } = await predict('gpu-busy', [CREDIT_INSTANCE]);
    expect(status).toBe(429);
    expect(json.error).toMatchObject({ code: 'ENDPOINT_THROTTLED', details: { attempts: 3 } });
    expect(platform.sagemakerRuntime.invocations('gpu-busy-endpoint')).toBe(3);
  });

  it('answers 200 when a retry after throttling gets through', async () => {
    await deployOnEndpoint('gpu-recovering', 'gpu-recovering-endpoint');
    let throttled = 0;
    faults.set('gpu-recovering-endpoint', () => (throttled++ < 1 ? { kind: 'error', status: 429, errorType: 'ModelNotReadyException' } : undefined));
    const { status, json } = await predict('gpu-recovering', [CREDIT_INSTANCE]);
    expect(status).toBe(200);
    expect(json.model_version).toBe(1);
    expect(platform.sagemakerRuntime.invocations('gpu-recovering-endpoint')).toBe(2);
  });

  it('opens the circuit after repeated failures, answers 503 ENDPOINT_CIRCUIT_OPEN without calling, and closes it again', async () => {
    await deployOnEndpoint('gpu-flaky', 'gpu-flaky-endpoint');
    faults.set('gpu-flaky-endpoint', always({ kind: 'error', status: 503, errorType: 'ServiceUnavailable' }));
    for (let i = 0; i < FAILURE_THRESHOLD; i++) {
      expect(errorCode((await predict('gpu-flaky', [CREDIT_INSTANCE])).json)).toBe('ENDPOINT_FAILED');
    }
    const open = await predict('gpu-flaky', [CREDIT_INSTANCE]);
    expect(open.status).toBe(503);
    expect(open.json.error).toMatchObject({ code: 'ENDPOINT_CIRCUIT_OPEN', details: { retry_after_seconds: OPEN_SECONDS } });
    expect(platform.sagemakerRuntime.invocations('gpu-flaky-endpoint')).toBe(FAILURE_THRESHOLD);

    // The endpoint recovers; once the open time is over, a trial call goes through and closes the circuit.
    faults.delete('gpu-flaky-endpoint');
    await new Promise((resolve) => setTimeout(resolve, OPEN_SECONDS * 1000 + 100));
    const trial = await predict('gpu-flaky', [CREDIT_INSTANCE]);
    expect(trial.status).toBe(200);
    const after = await predict('gpu-flaky', [CREDIT_INSTANCE, RISKY_CREDIT_INSTANCE]);
    expect(after.status).toBe(200);
    expect(platform.sagemakerRuntime.invocations('gpu-flaky-endpoint')).toBe(FAILURE_THRESHOLD + 2);
  });
});
