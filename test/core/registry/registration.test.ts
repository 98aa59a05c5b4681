import { createHash } from 'node:crypto';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { OnnxArtifactInspector } from '#adapters/onnx-artifact-inspector.ts';
import { RequestValidationError } from '#core/errors.ts';
import type { ModelMetadata } from '#core/model/metadata.ts';
import {
  artifactVerifier,
  metadataKey,
  registerArtifact,
  type ArtifactInspector,
  type ArtifactWriter,
  type GraphSignature,
  type RegisterArtifactDeps,
  type RegisterArtifactRequest,
} from '#core/registry/registration.ts';
import { artifactKey } from '#core/registry/records.ts';
import { RegistryService } from '#core/registry/registry-service.ts';
import { trainCreditModel } from '../../../examples/credit/train.ts';
import { InMemoryRegistryStore } from '../../support/in-memory-registry-store.ts';

interface StoredObject {
  readonly bytes: Uint8Array;
  readonly sha256: string;
  readonly contentType: string;
}

class InMemoryArtifacts implements ArtifactWriter {
  readonly objects = new Map<string, StoredObject>();
  puts = 0;

  async putArtifact(key: string, bytes: Uint8Array, sha256Hex: string, contentType: string): Promise<void> {
    this.puts++;
    this.objects.set(key, { bytes: bytes.slice(), sha256: sha256Hex, contentType });
  }
}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
const inspector = new OnnxArtifactInspector();

let onnx: Uint8Array;
let metadata: ModelMetadata;
let store: InMemoryRegistryStore;
let artifacts: InMemoryArtifacts;
let deps: RegisterArtifactDeps;

beforeAll(async () => {
  ({ onnx, metadata } = await trainCreditModel());
});

beforeEach(() => {
  store = new InMemoryRegistryStore();
  artifacts = new InMemoryArtifacts();
  let tokens = 0;
  const registry = new RegistryService({ store, clock: () => new Date('2025-01-02T03:04:05Z'), newToken: () => `token-${++tokens}` });
  deps = { inspector, artifacts, registry, sha256 };
});

function request(overrides: Partial<RegisterArtifactRequest> = {}): RegisterArtifactRequest {
  return { model: 'credit', bytes: onnx, metadata: JSON.parse(JSON.stringify(metadata)), actor: 'alice', ...overrides };
}

/** The credit metadata as JSON with `edit` applied to a mutable copy. */
function editedMetadata(edit: (m: { preprocessing: Record<string, unknown> } & Record<string, unknown>) => void): unknown {
  const copy = JSON.parse(JSON.stringify(metadata)) as { preprocessing: Record<string, unknown> } & Record<string, unknown>;
  edit(copy);
  return copy;
}

async function refusal(promise: Promise<unknown>): Promise<RequestValidationError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof RequestValidationError) return error;
    throw error;
  }
  throw new Error('expected the registration to be refused');
}

async function expectNothingWritten(): Promise<void> {
  expect(artifacts.puts).toBe(0);
  expect(store.changes).toHaveLength(0);
  expect(await store.listModels()).toEqual([]);
}

describe('registerArtifact with onnxruntime and the credit model', () => {
  it('registers a valid artifact as candidate version 1 and writes the artifact and its metadata', async () => {
    const result = await registerArtifact(request({ description: 'credit scoring', reason: 'first model' }), deps);
    const digest = sha256(onnx);

    expect(result.deduplicated).toBe(false);
    expect(result.version).toMatchObject({
      model: 'credit',
      version: 1,
      stage: 'candidate',
      created_by: 'alice',
      artifact: { key: `models/credit/${digest}.onnx`, sha256: digest, size_bytes: onnx.length },
    });
    expect(result.version.metadata).toEqual(metadata);

    const artifact = artifacts.objects.get(artifactKey('credit', digest));
    expect(artifact?.bytes).toEqual(onnx);
    expect(artifact?.sha256).toBe(digest);
    expect(artifact?.contentType).toBe('application/octet-stream');

    const json = artifacts.objects.get(metadataKey('credit', digest));
    expect(metadataKey('credit', digest)).toBe(`models/credit/${digest}.json`);
    expect(json?.contentType).toBe('application/json');
    expect(JSON.parse(new TextDecoder().decode(json?.bytes))).toEqual(metadata);

    expect(await store.getModel('credit')).toMatchObject({ latest_version: 1, production_version: null, description: 'credit scoring' });
    expect(await store.history('credit')).toMatchObject([{ action: 'register', version: 1, actor: 'alice', reason: 'first model', outcome: 'applied' }]);

    expect(result.checks).toEqual([
      expect.stringMatching(/^metadata is complete: 13 features, 26 encoded columns/),
      'serves in the predict Lambda',
      'artifact loads in onnxruntime',
      'graph input "features" is float32 shape [batch, 26], matching 26 encoded columns',
      'graph output "probability" is float32 shape [batch, 1], one probability per row',
      `registered version 1 as a candidate (sha256 ${digest})`,
    ]);
  });

  it('deduplicates the same bytes: same version, nothing new registered', async () => {
    const first = await registerArtifact(request(), deps);
    const changes = store.changes.length;
    const second = await registerArtifact(request({ actor: 'bob' }), deps);

    expect(second.deduplicated).toBe(true);
    expect(second.version).toEqual(first.version);
    expect(store.changes).toHaveLength(changes);
    expect(await store.listVersions('credit')).toHaveLength(1);
    expect(await store.getModel('credit')).toMatchObject({ latest_version: 1, revision: 1 });
    expect(second.checks.at(-1)).toBe(`these bytes (sha256 ${sha256(onnx)}) are already registered as version 1; nothing new was registered`);
    // Only the two content-addressed objects exist, rewritten with the same content.
    expect([...artifacts.objects.keys()].sort()).toEqual([artifactKey('credit', sha256(onnx)), metadataKey('credit', sha256(onnx))].sort());
  });

  it('keeps the first metadata when the same bytes come again with different metadata', async () => {
    await registerArtifact(request(), deps);
    const other = editedMetadata((m) => {
      m['algorithm'] = 'something_else';
    });
    const again = await registerArtifact(request({ metadata: other }), deps);
    expect(again.deduplicated).toBe(true);
    expect(again.version.metadata.algorithm).toBe(metadata.algorithm);
    const json = artifacts.objects.get(metadataKey('credit', sha256(onnx)));
    expect(JSON.parse(new TextDecoder().decode(json?.bytes))).toMatchObject({ algorithm: metadata.algorithm });
  });

  it('registers different bytes as the next version', async () => {
    await registerArtifact(request(), deps);
    const second = await registerArtifact(request({ bytes: variantOf(onnx) }), deps);
    expect(second.deduplicated).toBe(false);
    expect(second.version.version).toBe(2);
  });

  it('refuses truncated bytes as ARTIFACT_INVALID', async () => {
    const error = await refusal(registerArtifact(request({ bytes: onnx.slice(0, Math.floor(onnx.length / 2)) }), deps));
    expect(error.code).toBe('ARTIFACT_INVALID');
    expect(error.message).toMatch(/^the artifact does not load in onnxruntime: \S/);
    await expectNothingWritten();
  });

  it('refuses bytes that are not a model as ARTIFACT_INVALID', async () => {
    const junk = new TextEncoder().encode('this is not an onnx model, just some text that happens to be here');
    const error = await refusal(registerArtifact(request({ bytes: junk }), deps));
    expect(error.code).toBe('ARTIFACT_INVALID');
    expect(error.message).toMatch(/^the artifact does not load in onnxruntime: /);
    await expectNothingWritten();
  });

  it('refuses empty bytes as ARTIFACT_INVALID', async () => {
    const error = await refusal(registerArtifact(request({ bytes: new Uint8Array(0) }), deps));
    expect(error.code).toBe('ARTIFACT_INVALID');
    expect(error.message).toBe('the artifact is empty');
    await expectNothingWritten();
  });

  it('refuses metadata naming an input the graph does not have as SCHEMA_MISMATCH', async () => {
    const renamed = editedMetadata((m) => {
      m.preprocessing['input_name'] = 'inputs';
    });
    const error = await refusal(registerArtifact(request({ metadata: renamed }), deps));
    expect(error.code).toBe('SCHEMA_MISMATCH');
    expect(error.message).toBe('the graph has no input "inputs" (named by metadata preprocessing.input_name); its inputs are "features"');
    await expectNothingWritten();
  });

  it('refuses metadata naming an output the graph does not have as SCHEMA_MISMATCH', async () => {
    const renamed = editedMetadata((m) => {
      m.preprocessing['output_name'] = 'score';
    });
    const error = await refusal(registerArtifact(request({ metadata: renamed }), deps));
    expect(error.code).toBe('SCHEMA_MISMATCH');
    expect(error.message).toBe('the graph has no output "score" (named by metadata preprocessing.output_name); its outputs are "probability"');
    await expectNothingWritten();
  });

  it('refuses metadata whose encodings produce a different column count than the graph as SCHEMA_MISMATCH', async () => {
    // Drop the "rent" category of Home everywhere in the metadata: consistent metadata, 25 columns.
    const narrower = editedMetadata((m) => {
      const features = (m['input_schema'] as { features: { name: string; categories?: string[] }[] }).features;
      const home = features.find((f) => f.name === 'Home');
      home?.categories?.pop();
      const encodings = m.preprocessing['encodings'] as { feature: string; categories?: string[] }[];
      encodings.find((e) => e.feature === 'Home')?.categories?.pop();
      m.preprocessing['columns'] = 25;
    });
    const error = await refusal(registerArtifact(request({ metadata: narrower }), deps));
    expect(error.code).toBe('SCHEMA_MISMATCH');
    expect(error.message).toBe('graph input "features" has 26 columns but preprocessing.columns is 25');
    await expectNothingWritten();
  });

  it('refuses incomplete metadata as INVALID_METADATA before loading the artifact', async () => {
    const incomplete = editedMetadata((m) => {
      delete m['baseline'];
    });
    const error = await refusal(registerArtifact(request({ metadata: incomplete }), deps));
    expect(error.code).toBe('INVALID_METADATA');
    expect(error.message).toBe('metadata.baseline is missing');
    await expectNothingWritten();
  });

  it('refuses an artifact over maxArtifactBytes as ARTIFACT_TOO_LARGE', async () => {
    const error = await refusal(registerArtifact(request({ maxArtifactBytes: onnx.length - 1 }), deps));
    expect(error.code).toBe('ARTIFACT_TOO_LARGE');
    expect(error.message).toBe(`the artifact is ${onnx.length} bytes, more than the limit of ${onnx.length - 1}`);
    expect(error.details).toEqual({ size_bytes: onnx.length, max_bytes: onnx.length - 1 });
    await expectNothingWritten();
  });

  it('accepts an artifact exactly at maxArtifactBytes and says so', async () => {
    const result = await registerArtifact(request({ maxArtifactBytes: onnx.length }), deps);
    expect(result.checks).toContain(`artifact size ${onnx.length} bytes is within the limit of ${onnx.length}`);
  });

  it('refuses an artifact over the Lambda limit for the lambda target, pointing to the sagemaker target', async () => {
    const error = await refusal(registerArtifact(request({ maxLambdaArtifactBytes: onnx.length - 1 }), deps));
    expect(error.code).toBe('ARTIFACT_TOO_LARGE_FOR_LAMBDA');
    expect(error.message).toBe(
      `the artifact is ${onnx.length} bytes, more than the ${onnx.length - 1} bytes the predict Lambda serves: ` +
        'register it for a SageMaker endpoint instead (--target sagemaker --endpoint NAME, docs/gpu.md)',
    );
    expect(error.details).toEqual({ size_bytes: onnx.length, max_bytes: onnx.length - 1, target: 'lambda', suggested_target: 'sagemaker' });
    await expectNothingWritten();
  });

  it('accepts an artifact within the Lambda limit and says so', async () => {
    const result = await registerArtifact(request({ servingTarget: { kind: 'lambda' }, maxLambdaArtifactBytes: onnx.length }), deps);
    expect(result.checks).toContain(`serves in the predict Lambda: ${onnx.length} bytes is within its limit of ${onnx.length}`);
    expect(result.version.serving_target).toEqual({ kind: 'lambda' });
  });

  it('registers an artifact over the Lambda limit for a SageMaker endpoint and records the target', async () => {
    const result = await registerArtifact(
      request({ servingTarget: { kind: 'sagemaker', endpoint_name: 'credit-gpu' }, maxLambdaArtifactBytes: 1 }),
      deps,
    );
    expect(result.version.serving_target).toEqual({ kind: 'sagemaker', endpoint_name: 'credit-gpu' });
    expect(result.checks).toContain('serves from SageMaker endpoint "credit-gpu" (package it with mlops package --target sagemaker)');
    expect((await store.getVersion('credit', 1))?.serving_target).toEqual({ kind: 'sagemaker', endpoint_name: 'credit-gpu' });
  });

  it.each(['', '-gpu', 'gpu_endpoint', 'a'.repeat(64)])('refuses the endpoint name %j as INVALID_SERVING_TARGET', async (name) => {
    const error = await refusal(registerArtifact(request({ servingTarget: { kind: 'sagemaker', endpoint_name: name } }), deps));
    expect(error.code).toBe('INVALID_SERVING_TARGET');
    expect(error.details).toEqual({ endpoint_name: name });
    await expectNothingWritten();
  });

  it('refuses an invalid model name before writing anything', async () => {
    const error = await refusal(registerArtifact(request({ model: 'Credit Model' }), deps));
    expect(error.code).toBe('INVALID_MODEL_NAME');
    await expectNothingWritten();
  });
});

/** Different bytes of the same graph: an unknown field appended to the ModelProto, which protobuf parsers skip. */
function variantOf(onnx: Uint8Array): Uint8Array {
  // Field 99, wire type varint (tag 792 as a varint: 0x98 0x06), value 1.
  const extra = new Uint8Array([0x98, 0x06, 1]);
  const bytes = new Uint8Array(onnx.length + extra.length);
  bytes.set(onnx);
  bytes.set(extra, onnx.length);
  return bytes;
}

describe('registerArtifact signature checks', () => {
  function stub(signature: GraphSignature): ArtifactInspector {
    return { inspect: async () => signature };
  }
  const input = { name: 'features', type: 'float32', shape: ['batch', 26] };
  const output = { name: 'probability', type: 'float32', shape: ['batch', 1] };

  async function refusedWith(signature: GraphSignature): Promise<string> {
    const error = await refusal(registerArtifact(request(), { ...deps, inspector: stub(signature) }));
    expect(error.code).toBe('SCHEMA_MISMATCH');
    await expectNothingWritten();
    return error.message;
  }

  it('accepts symbolic and unknown dimensions', async () => {
    const result = await registerArtifact(
      request(),
      { ...deps, inspector: stub({ inputs: [{ ...input, shape: [-1, 'n'] }], outputs: [{ ...output, shape: ['b', 'k'] }] }) },
    );
    expect(result.version.version).toBe(1);
  });

  it('accepts extra outputs beside the probability', async () => {
    const result = await registerArtifact(
      request(),
      { ...deps, inspector: stub({ inputs: [input], outputs: [{ name: 'label', type: 'int64', shape: ['batch'] }, output] }) },
    );
    expect(result.deduplicated).toBe(false);
  });

  it('refuses an input that is not float32', async () => {
    expect(await refusedWith({ inputs: [{ ...input, type: 'float64' }], outputs: [output] })).toBe('graph input "features" must be float32, got float64');
  });

  it('refuses an input of the wrong rank', async () => {
    expect(await refusedWith({ inputs: [{ ...input, shape: ['batch', 2, 13] }], outputs: [output] })).toBe(
      'graph input "features" must have rank 2 [batch, 26], got shape [batch, 2, 13]',
    );
  });

  it('refuses a fixed batch dimension', async () => {
    expect(await refusedWith({ inputs: [{ ...input, shape: [1, 26] }], outputs: [output] })).toMatch(
      /^graph input "features" must have a dynamic batch dimension/,
    );
  });

  it('refuses inputs the predict handler does not feed', async () => {
    expect(await refusedWith({ inputs: [input, { name: 'mask', type: 'float32', shape: ['batch', 26] }], outputs: [output] })).toBe(
      'the graph has inputs the predict handler does not feed: "mask" (only "features" is fed)',
    );
  });

  it('refuses an output with more than one column', async () => {
    expect(await refusedWith({ inputs: [input], outputs: [{ ...output, shape: ['batch', 2] }] })).toBe(
      'graph output "probability" has 2 columns but a binary classifier output is 1',
    );
  });

  it('refuses an output that is not a tensor', async () => {
    expect(await refusedWith({ inputs: [input], outputs: [{ ...output, type: 'non-tensor', shape: [] }] })).toBe(
      'graph output "probability" must be float32, got non-tensor',
    );
  });
});

describe('registerArtifact refusals: codes, messages and details', () => {
  const input = { name: 'features', type: 'float32', shape: ['batch', 26] };
  const output = { name: 'probability', type: 'float32', shape: ['batch', 1] };

  async function refused(signature: GraphSignature | (() => Promise<GraphSignature>), overrides: Partial<RegisterArtifactRequest> = {}): Promise<RequestValidationError> {
    const inspect = typeof signature === 'function' ? signature : async () => signature;
    const error = await refusal(registerArtifact(request(overrides), { ...deps, inspector: { inspect } }));
    await expectNothingWritten();
    return error;
  }

  it('names the graph’s values, or none, and the value asked for', async () => {
    const noInput = await refused({ inputs: [{ ...input, name: 'x' }, { ...input, name: 'y' }], outputs: [output] });
    expect([noInput.message, noInput.details]).toEqual([
      'the graph has no input "features" (named by metadata preprocessing.input_name); its inputs are "x", "y"',
      { input: 'features', graph: ['x', 'y'] },
    ]);
    const noOutput = await refused({ inputs: [input], outputs: [] });
    expect([noOutput.message, noOutput.details]).toEqual([
      'the graph has no output "probability" (named by metadata preprocessing.output_name); its outputs are none',
      { output: 'probability', graph: [] },
    ]);
  });

  it('gives the value, its type or its shape in the details of each shape refusal', async () => {
    const type = await refused({ inputs: [{ ...input, type: 'int64' }], outputs: [output] });
    expect(type.details).toEqual({ input: 'features', type: 'int64' });
    const rank = await refused({ inputs: [input], outputs: [{ ...output, shape: [] }] });
    expect([rank.message, rank.details]).toEqual(['graph output "probability" must have rank 2 [batch, 1], got no declared shape', { output: 'probability', shape: [] }]);
    const symbolic = await refused({ inputs: [{ ...input, shape: ['', 'n', 26] }], outputs: [output] });
    expect(symbolic.message).toBe('graph input "features" must have rank 2 [batch, 26], got shape [?, n, 26]');
    const batch = await refused({ inputs: [{ ...input, shape: [0, 26] }], outputs: [output] });
    expect([batch.message, batch.details]).toEqual([
      'graph input "features" must have a dynamic batch dimension (requests score many rows), got shape [0, 26]',
      { input: 'features', shape: [0, 26] },
    ]);
    const columns = await refused({ inputs: [{ ...input, shape: [-1, 25] }], outputs: [output] });
    expect([columns.message, columns.details]).toEqual([
      'graph input "features" has 25 columns but preprocessing.columns is 26',
      { input: 'features', shape: [-1, 25], expected: 26 },
    ]);
    const extra = await refused({ inputs: [input, { ...input, name: 'a' }, { ...input, name: 'b' }], outputs: [output] });
    expect([extra.message, extra.details]).toEqual([
      'the graph has inputs the predict handler does not feed: "a", "b" (only "features" is fed)',
      { input: 'features', graph: ['features', 'a', 'b'] },
    ]);
  });

  it('says why the artifact does not load: the first line of the runtime’s message, or what was thrown', async () => {
    const fail = (thrown: unknown) => () => Promise.reject(thrown);
    const multiLine = await refused(fail(new Error('  protobuf parsing failed\n    at Session.load\n')));
    expect([multiLine.code, multiLine.message, multiLine.details]).toEqual([
      'ARTIFACT_INVALID',
      'the artifact does not load in onnxruntime: protobuf parsing failed',
      { size_bytes: onnx.length },
    ]);
    expect((await refused(fail(new Error('')))).message).toBe('the artifact does not load in onnxruntime: unknown error');
    expect((await refused(fail(new Error('\n\nlater line')))).message).toBe('the artifact does not load in onnxruntime: later line');
    expect((await refused(fail(new Error(' \n ')))).message).toBe('the artifact does not load in onnxruntime: unknown error');
    expect((await refused(fail('bad magic'))).message).toBe('the artifact does not load in onnxruntime: bad magic');
  });

  it('refuses an empty artifact, a bad model name and a bad endpoint name with their details and messages', async () => {
    const empty = await refused({ inputs: [input], outputs: [output] }, { bytes: new Uint8Array(0) });
    expect(empty.details).toEqual({ size_bytes: 0 });
    const name = await refused({ inputs: [input], outputs: [output] }, { model: 'Bad Name' });
    expect([name.message, name.details]).toEqual([
      'model name "Bad Name" must be 1-63 lower-case letters, digits, "-" or "_", starting with a letter or digit',
      { model: 'Bad Name' },
    ]);
    const endpoint = await refused({ inputs: [input], outputs: [output] }, { servingTarget: { kind: 'sagemaker', endpoint_name: 'a_b' } });
    expect(endpoint.message).toBe('endpoint name "a_b" must be 1-63 letters, digits or dashes, starting and ending with a letter or digit');
  });

  it('says what the metadata holds, and passes the client token on so that a retry is replayed', async () => {
    const signature = { inputs: [input], outputs: [output] };
    const first = await registerArtifact(request({ clientToken: 'once' }), { ...deps, inspector: { inspect: async () => signature } });
    expect(first.checks[0]).toBe(
      `metadata is complete: ${metadata.input_schema.features.length} features, 26 encoded columns, ` +
        `labels "${metadata.output.positive_label}"/"${metadata.output.negative_label}"`,
    );
    expect((await store.history('credit')).map((r) => r.client_token)).toEqual(['once']);
  });
});

describe('artifactVerifier', () => {
  const bytes = new TextEncoder().encode('stored bytes');
  const version = (recorded: string) => ({ artifact: { key: 'models/m/x.onnx', sha256: recorded, size_bytes: bytes.length } }) as never;

  it('names the sha256 read and the one recorded when they differ, without loading the bytes', async () => {
    let inspected = 0;
    const verify = artifactVerifier({ read: async () => bytes, inspector: { inspect: async () => ((inspected++, { inputs: [], outputs: [] })) }, sha256 });
    await expect(verify(version('0'.repeat(64)))).rejects.toThrow(`its sha256 is ${sha256(bytes)}, not the recorded ${'0'.repeat(64)}`);
    expect(inspected).toBe(0);
    await verify(version(sha256(bytes)));
    expect(inspected).toBe(1);
  });

  it('keeps the runtime’s error as the cause when the bytes do not load', async () => {
    const cause = new Error('invalid model');
    const error = await artifactVerifier({ read: async () => bytes, inspector: { inspect: () => Promise.reject(cause) }, sha256 })(version(sha256(bytes))).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.message).toBe('it does not load in onnxruntime (invalid model)');
    expect(error?.cause).toBe(cause);
    const plain = await artifactVerifier({ read: async () => bytes, inspector: { inspect: () => Promise.reject('nope') }, sha256 })(version(sha256(bytes))).catch(
      (e: unknown) => e as Error,
    );
    expect(plain?.message).toBe('it does not load in onnxruntime (nope)');
  });
});
