import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as ort from 'onnxruntime-node';
import { KServeFormatError, readRequestInput } from '#core/serving/kserve-v2.ts';
import { TRITON_MODEL_VERSION } from '#core/packaging/triton.ts';
import { extractTarEntries } from '#core/pipeline/tar.ts';
import { readEndpointBinding, type EndpointBinding } from '#core/packaging/endpoint-bindings.ts';
import { asError } from '#core/errors.ts';

/**
 * A local server that speaks the SageMaker runtime's `InvokeEndpoint` (`POST /endpoints/{name}/invocations`) with
 * KServe v2 JSON bodies, as Triton on a SageMaker endpoint does, backed by onnxruntime-node. Each endpoint serves
 * the `model.tar.gz` that `mlops --local package` bound to it (core/packaging/endpoint-bindings.ts), so the predict handler
 * runs its real SDK path: its address is `AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME`. Errors use the runtime's shapes
 * (`x-amzn-ErrorType`: ValidationError 400, ModelError 424, ...).
 */

/** What a test makes an endpoint answer instead of scoring. */
export type EndpointFault =
  | { readonly kind: 'error'; readonly status: number; readonly errorType: string; readonly message?: string }
  | { readonly kind: 'delay'; readonly ms: number };

interface BindingStore {
  getBytes(key: string): Promise<Uint8Array>;
  getBytesIfExists(key: string): Promise<Uint8Array | undefined>;
  putBytes(key: string, bytes: Uint8Array, contentType: string): Promise<void>;
}

export interface LocalSageMakerRuntimeOptions {
  /** The artifact bucket holding endpoint bindings and packages. */
  readonly store: BindingStore;
  /** @default 0 (any free port) */
  readonly port?: number;
  /** Fault injection for tests: consulted on every call. @default - none */
  readonly faults?: (endpointName: string) => EndpointFault | undefined;
}

export interface RunningSageMakerRuntime {
  /** Base URL, the SDK's endpoint override. */
  readonly endpoint: string;
  /** Calls received per endpoint (tests check retries and an open circuit with it). */
  invocations(endpointName: string): number;
  close(): Promise<void>;
}

interface LoadedPackage {
  readonly session: ort.InferenceSession;
  readonly model: string;
}

const INVOCATIONS_PATH = /^\/endpoints\/([^/]+)\/invocations$/;

function sendError(response: ServerResponse, status: number, errorType: string, message: string, extra: Record<string, unknown> = {}): void {
  response.writeHead(status, { 'content-type': 'application/json', 'x-amzn-ErrorType': errorType });
  response.end(JSON.stringify({ message, ...extra }));
}

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

export async function startLocalSageMakerRuntime(options: LocalSageMakerRuntimeOptions): Promise<RunningSageMakerRuntime> {
  const loaded = new Map<string, Promise<LoadedPackage>>();
  const counts = new Map<string, number>();
  const timers = new Set<NodeJS.Timeout>();

  /** The package's ONNX model in an onnxruntime session, loaded once per package sha256. */
  function load(binding: EndpointBinding): Promise<LoadedPackage> {
    const cached = loaded.get(binding.package_sha256);
    if (cached !== undefined) return cached;
    const loading = (async () => {
      const archive = await options.store.getBytes(binding.package_key);
      const sha256 = createHash('sha256').update(archive).digest('hex');
      if (sha256 !== binding.package_sha256) throw new Error(`package ${binding.package_key} has sha256 ${sha256}, bound as ${binding.package_sha256}`);
      const onnx = extractTarEntries(archive).get(`${binding.model}/${TRITON_MODEL_VERSION}/model.onnx`);
      if (onnx === undefined) throw new Error(`package ${binding.package_key} has no ${binding.model}/${TRITON_MODEL_VERSION}/model.onnx`);
      const session = await ort.InferenceSession.create(onnx, { intraOpNumThreads: 1 });
      return { session, model: binding.model };
    })();
    loaded.set(binding.package_sha256, loading);
    loading.catch(() => loaded.delete(binding.package_sha256));
    return loading;
  }

  async function invoke(endpointName: string, request: IncomingMessage, response: ServerResponse): Promise<void> {
    counts.set(endpointName, (counts.get(endpointName) ?? 0) + 1);
    const body = await readBody(request);
    const fault = options.faults?.(endpointName);
    if (fault?.kind === 'error') {
      sendError(response, fault.status, fault.errorType, fault.message ?? `injected ${fault.errorType}`);
      return;
    }
    if (fault?.kind === 'delay') {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          timers.delete(timer);
          resolve();
        }, fault.ms);
        timers.add(timer);
      });
      if (response.destroyed) return;
    }
    const binding = await readEndpointBinding(options.store, endpointName);
    if (binding === undefined) {
      sendError(response, 400, 'ValidationError', `Endpoint ${endpointName} of account 000000000000 not found (package a model for it: mlops --local package)`);
      return;
    }
    let pkg: LoadedPackage;
    try {
      pkg = await load(binding);
    } catch (error) {
      sendError(response, 424, 'ModelError', `the model of endpoint ${endpointName} failed to load: ${asError(error).message}`, { OriginalStatusCode: 500 });
      return;
    }
    try {
      const input = readRequestInput(JSON.parse(body.toString('utf8')));
      const { session } = pkg;
      if (!session.inputNames.includes(input.name)) throw new KServeFormatError(`unexpected inference input '${input.name}' for model '${pkg.model}'`);
      const outputNames = input.outputNames.length > 0 ? input.outputNames : [...session.outputNames];
      const unknown = outputNames.find((name) => !session.outputNames.includes(name));
      if (unknown !== undefined) throw new KServeFormatError(`unexpected inference output '${unknown}' for model '${pkg.model}'`);
      const results = await session.run({ [input.name]: new ort.Tensor('float32', input.data, [input.rows, input.columns]) }, outputNames);
      const outputs = outputNames.map((name) => {
        const tensor = results[name];
        if (tensor === undefined || !(tensor.data instanceof Float32Array)) throw new Error(`output ${name} is not float32`);
        return { name, datatype: 'FP32', shape: tensor.dims, data: Array.from(tensor.data) };
      });
      response.writeHead(200, { 'content-type': 'application/json', 'x-Amzn-Invoked-Production-Variant': 'AllTraffic' });
      response.end(JSON.stringify({ model_name: pkg.model, model_version: String(TRITON_MODEL_VERSION), outputs }));
    } catch (error) {
      // Triton answers 400 to a request it cannot run; SageMaker passes a container's error on as ModelError.
      const status = error instanceof KServeFormatError || error instanceof SyntaxError ? 400 : 500;
      sendError(response, 424, 'ModelError', `Received client error (${status}) from model: ${asError(error).message}`, { OriginalStatusCode: status });
    }
  }

  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0] ?? '/';
    const match = INVOCATIONS_PATH.exec(path);
    if (request.method !== 'POST' || match === null) {
      sendError(response, 404, 'UnknownOperationException', `no operation for ${request.method} ${path}`);
      return;
    }
    let endpointName: string;
    try {
      endpointName = decodeURIComponent(match[1] ?? '');
    } catch {
      sendError(response, 400, 'ValidationError', 'the endpoint name in the path is not valid percent-encoding');
      return;
    }
    invoke(endpointName, request, response).catch((error: unknown) => {
      if (!response.headersSent) sendError(response, 500, 'InternalFailure', asError(error).message);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    invocations: (endpointName) => counts.get(endpointName) ?? 0,
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      for (const pkg of loaded.values()) await pkg.then((p) => p.session.release()).catch(() => undefined);
    },
  };
}
