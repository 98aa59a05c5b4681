import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tritonModelArchive } from '#core/packaging/triton.ts';
import { kserveRequest } from '#core/serving/kserve-v2.ts';
import { writeEndpointBinding } from '#core/packaging/endpoint-bindings.ts';
import { startLocalSageMakerRuntime, type RunningSageMakerRuntime } from '../../local/sagemaker-runtime.ts';
import { trainCreditModel } from '../../examples/credit/train.ts';

/** The local SageMaker-runtime server over HTTP: InvokeEndpoint's path, KServe v2 bodies, the runtime's error shapes. */

class MemoryStore {
  readonly objects = new Map<string, Uint8Array>();
  async getBytes(key: string): Promise<Uint8Array> {
    const bytes = this.objects.get(key);
    if (bytes === undefined) throw new Error(`no ${key}`);
    return bytes;
  }
  async getBytesIfExists(key: string): Promise<Uint8Array | undefined> {
    return this.objects.get(key);
  }
  async putBytes(key: string, bytes: Uint8Array): Promise<void> {
    this.objects.set(key, bytes);
  }
}

const store = new MemoryStore();
let server: RunningSageMakerRuntime;
let columns: number;

beforeAll(async () => {
  const { onnx, metadata } = await trainCreditModel();
  columns = metadata.preprocessing.columns;
  const archive = tritonModelArchive('credit', onnx, metadata);
  await store.putBytes('sagemaker/credit/1/model.tar.gz', archive);
  await writeEndpointBinding(store, {
    endpoint_name: 'credit-ep',
    model: 'credit',
    version: 1,
    package_key: 'sagemaker/credit/1/model.tar.gz',
    package_sha256: createHash('sha256').update(archive).digest('hex'),
  });
  server = await startLocalSageMakerRuntime({ store });
}, 60_000);

afterAll(async () => {
  await server?.close();
});

async function invoke(endpoint: string, body: unknown): Promise<{ status: number; errorType: string | null; json: Record<string, unknown> }> {
  const response = await fetch(`${server.endpoint}/endpoints/${endpoint}/invocations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, errorType: response.headers.get('x-amzn-errortype'), json: (await response.json()) as Record<string, unknown> };
}

describe('local SageMaker runtime', () => {
  it('scores a KServe v2 request with the bound package and answers one probability per row', async () => {
    const rows = 3;
    const input = new Float32Array(rows * columns).fill(0);
    // Other tests call the same endpoint, in any order: count this call only.
    const before = server.invocations('credit-ep');
    const { status, json } = await invoke('credit-ep', kserveRequest('features', input, rows, columns, 'probability'));
    expect(status).toBe(200);
    expect(json).toMatchObject({ model_name: 'credit', model_version: '1' });
    const [output] = json.outputs as { name: string; datatype: string; shape: number[]; data: number[] }[];
    expect(output).toMatchObject({ name: 'probability', datatype: 'FP32', shape: [3, 1] });
    expect(output?.data).toHaveLength(3);
    expect(server.invocations('credit-ep')).toBe(before + 1);
  });

  it('answers ValidationError 400 for an endpoint nothing is bound to, as SageMaker does for an unknown endpoint', async () => {
    const { status, errorType, json } = await invoke('nobody', kserveRequest('features', new Float32Array(columns), 1, columns, 'probability'));
    expect([status, errorType]).toEqual([400, 'ValidationError']);
    expect(String(json.message)).toMatch(/^Endpoint nobody of account 000000000000 not found/);
  });

  it.each([
    ['not JSON', 'nope', /Received client error \(400\)/],
    ['a wrong input name', kserveRequest('other', new Float32Array(2), 1, 2, 'probability'), /unexpected inference input 'other'/],
    ['a wrong output name', kserveRequest('features', new Float32Array(26), 1, 26, 'label_x'), /unexpected inference output 'label_x'/],
  ])('answers ModelError 424 (the container said 400) for %s', async (_what, body, message) => {
    const { status, errorType, json } = await invoke('credit-ep', body);
    expect([status, errorType, json.OriginalStatusCode]).toEqual([424, 'ModelError', 400]);
    expect(String(json.message)).toMatch(message);
  });

  it('answers 404 for anything but POST /endpoints/{name}/invocations', async () => {
    const response = await fetch(`${server.endpoint}/endpoints/credit-ep`, { method: 'GET' });
    expect(response.status).toBe(404);
  });

  it('answers ValidationError 400 for an endpoint name that is not valid percent-encoding, and keeps serving', async () => {
    const bad = await fetch(`${server.endpoint}/endpoints/%E0%A4%A/invocations`, { method: 'POST', body: '{}' });
    expect(bad.status).toBe(400);
    expect(bad.headers.get('x-amzn-errortype')).toBe('ValidationError');
    const next = await fetch(`${server.endpoint}/endpoints/credit-ep`, { method: 'GET' });
    expect(next.status).toBe(404);
  });
});
