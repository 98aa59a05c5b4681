import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { ModelUnavailableError, NotFoundError } from '#core/errors.ts';
import type { ModelMetadata } from '#core/model/metadata.ts';
import { packageForSageMaker } from '#core/packaging/sagemaker-package.ts';
import { tritonConfig, tritonModelArchive } from '#core/packaging/triton.ts';
import { extractTarEntries, writeTarArchive } from '#core/pipeline/tar.ts';
import { RegistryService } from '#core/registry/registry-service.ts';
import { trainCreditModel } from '../../../examples/credit/train.ts';
import { InMemoryRegistryStore } from '../../support/in-memory-registry-store.ts';

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

let onnx: Uint8Array;
let metadata: ModelMetadata;

beforeAll(async () => {
  const trained = await trainCreditModel();
  // A plain Uint8Array, as extracted entries are (a Buffer does not deep-equal one).
  onnx = new Uint8Array(trained.onnx);
  metadata = trained.metadata;
});

describe('writeTarArchive', () => {
  it('writes ustar entries that extractTarEntries reads back, directories skipped', () => {
    const big = new Uint8Array(1500).map((_, i) => i % 251);
    const tar = writeTarArchive([{ name: 'm/' }, { name: 'm/a.txt', bytes: new TextEncoder().encode('hello') }, { name: 'm/1/big.bin', bytes: big }]);
    expect(tar.length % 512).toBe(0);
    const entries = extractTarEntries(tar);
    expect([...entries.keys()]).toEqual(['m/a.txt', 'm/1/big.bin']);
    expect(new TextDecoder().decode(entries.get('m/a.txt'))).toBe('hello');
    expect(entries.get('m/1/big.bin')).toEqual(big);
  });

  it('writes valid header checksums', () => {
    const header = writeTarArchive([{ name: 'x', bytes: new Uint8Array([1]) }]).subarray(0, 512);
    const stored = Number.parseInt(new TextDecoder().decode(header.subarray(148, 154)), 8);
    const computed = header.reduce((sum, byte, i) => sum + (i >= 148 && i < 156 ? 32 : byte), 0);
    expect(stored).toBe(computed);
  });

  it('refuses names longer than the ustar name field', () => {
    expect(() => writeTarArchive([{ name: 'x'.repeat(101) }])).toThrow(RangeError);
  });
});

describe('Triton package', () => {
  it("derives config.pbtxt from the version's input, output and columns", () => {
    expect(tritonConfig('credit', metadata, { maxBatchSize: 500 })).toBe(
      [
        'name: "credit"',
        'backend: "onnxruntime"',
        'max_batch_size: 500',
        'input [',
        '  {',
        '    name: "features"',
        '    data_type: TYPE_FP32',
        '    dims: [ 26 ]',
        '  }',
        ']',
        'output [',
        '  {',
        '    name: "probability"',
        '    data_type: TYPE_FP32',
        '    dims: [ 1 ]',
        '  }',
        ']',
        '# Requests of several API calls arriving together are scored in one batch on the GPU.',
        'dynamic_batching { }',
        '',
      ].join('\n'),
    );
    expect(tritonConfig('credit', metadata)).toContain('max_batch_size: 1000');
    expect(() => tritonConfig('credit', metadata, { maxBatchSize: 0 })).toThrow(RangeError);
  });

  it("lays out Triton's model repository in a gzipped tar, the same bytes every time", async () => {
    const archive = tritonModelArchive('credit', onnx, metadata);
    expect([archive[0], archive[1]]).toEqual([0x1f, 0x8b]);
    expect(tritonModelArchive('credit', onnx, metadata)).toEqual(archive);
    const entries = extractTarEntries(archive);
    expect([...entries.keys()]).toEqual(['credit/config.pbtxt', 'credit/1/model.onnx']);
    expect(entries.get('credit/1/model.onnx')).toEqual(onnx);
    // The packaged graph loads and has the names config.pbtxt declares.
    const session = await ort.InferenceSession.create(entries.get('credit/1/model.onnx') ?? new Uint8Array());
    expect(session.inputNames).toEqual(['features']);
    expect(session.outputNames).toContain('probability');
    await session.release();
    expect(gunzipSync(archive).length % 512).toBe(0);
  });
});

describe('packageForSageMaker', () => {
  class Objects {
    readonly objects = new Map<string, { bytes: Uint8Array; sha256: string; contentType: string }>();
    async getArtifact(key: string): Promise<Uint8Array> {
      const object = this.objects.get(key);
      if (object === undefined) throw new Error(`no ${key}`);
      return object.bytes;
    }
    async putArtifact(key: string, bytes: Uint8Array, sha256Hex: string, contentType: string): Promise<void> {
      this.objects.set(key, { bytes, sha256: sha256Hex, contentType });
    }
  }

  async function registered(servingTarget?: { kind: 'sagemaker'; endpoint_name: string }) {
    const registry = new RegistryService({ store: new InMemoryRegistryStore() });
    const artifacts = new Objects();
    const digest = sha256(onnx);
    const key = `models/credit/${digest}.onnx`;
    await artifacts.putArtifact(key, onnx, digest, 'application/octet-stream');
    await registry.register({
      model: 'credit',
      actor: 'test',
      artifact: { key, sha256: digest, size_bytes: onnx.length },
      metadata,
      ...(servingTarget === undefined ? {} : { servingTarget }),
    });
    return { registry, artifacts, key };
  }

  it('writes the package to sagemaker/{model}/{version}/model.tar.gz and reports the target', async () => {
    const { registry, artifacts } = await registered({ kind: 'sagemaker', endpoint_name: 'credit-gpu' });
    const result = await packageForSageMaker({ model: 'credit', version: 1 }, { registry, artifacts, sha256 });
    expect(result).toMatchObject({ model: 'credit', version: 1, key: 'sagemaker/credit/1/model.tar.gz', serving_target: { kind: 'sagemaker', endpoint_name: 'credit-gpu' } });
    const stored = artifacts.objects.get('sagemaker/credit/1/model.tar.gz');
    expect(stored?.contentType).toBe('application/gzip');
    expect(stored?.sha256).toBe(result.sha256);
    expect(sha256(stored?.bytes ?? new Uint8Array())).toBe(result.sha256);
    expect(result.size_bytes).toBe(stored?.bytes.length);
    expect(extractTarEntries(stored?.bytes ?? new Uint8Array()).get('credit/1/model.onnx')).toEqual(onnx);
  });

  it('refuses an artifact whose bytes changed since registration', async () => {
    const { registry, artifacts, key } = await registered();
    await artifacts.putArtifact(key, new Uint8Array([1, 2, 3]), 'x', 'application/octet-stream');
    const error = await packageForSageMaker({ model: 'credit', version: 1 }, { registry, artifacts, sha256 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelUnavailableError);
    expect((error as ModelUnavailableError).code).toBe('ARTIFACT_INTEGRITY_FAILED');
  });

  it('answers VERSION_NOT_FOUND for a version that does not exist', async () => {
    const { registry, artifacts } = await registered();
    const error = await packageForSageMaker({ model: 'credit', version: 9 }, { registry, artifacts, sha256 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotFoundError);
    expect((error as NotFoundError).code).toBe('VERSION_NOT_FOUND');
  });
});
