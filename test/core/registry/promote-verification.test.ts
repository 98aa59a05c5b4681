import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { OnnxArtifactInspector } from '#adapters/onnx-artifact-inspector.ts';
import { artifactVerifier, registerArtifact } from '#core/registry/registration.ts';
import { RegistryService } from '#core/registry/registry-service.ts';
import { trainCreditModel } from '../../../examples/credit/train.ts';
import { InMemoryRegistryStore } from '../../support/in-memory-registry-store.ts';

/** Promotion verifies the artifact (sha256 and a load in onnxruntime) before it flips production. */

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

describe('RegistryService promote with artifact verification', () => {
  it('refuses with 409 ARTIFACT_VERIFICATION_FAILED a version whose stored bytes were corrupted, and promotes an intact one', async () => {
    const objects = new Map<string, Uint8Array>();
    const artifacts = { putArtifact: async (key: string, bytes: Uint8Array) => void objects.set(key, bytes) };
    const inspector = new OnnxArtifactInspector();
    const registry = new RegistryService({
      store: new InMemoryRegistryStore(),
      verifyArtifact: artifactVerifier({ read: async (key) => objects.get(key) ?? new Uint8Array(), inspector, sha256 }),
    });
    const { onnx, metadata } = await trainCreditModel();
    const register = async (bytes: Uint8Array) =>
      (await registerArtifact({ model: 'credit', bytes, metadata, description: 'd', actor: 'a', reason: 'r' }, { inspector, artifacts, registry, sha256 })).version;
    const good = await register(onnx);
    const doc = Buffer.from('second');
    const other = await register(Buffer.concat([onnx, Buffer.from([0x32, doc.length]), doc]));

    // Corrupt the second version's stored bytes (same length, different content).
    const stored = objects.get(other.artifact.key) as Uint8Array;
    objects.set(other.artifact.key, Uint8Array.from(stored, (b, i) => (i === stored.length - 1 ? b ^ 0xff : b)));

    await expect(registry.promote({ model: 'credit', version: other.version, actor: 'a', reason: 'r' })).rejects.toMatchObject({
      status: 409,
      code: 'ARTIFACT_VERIFICATION_FAILED',
    });
    await registry.promote({ model: 'credit', version: good.version, actor: 'a', reason: 'r' });
    expect((await registry.getModel('credit')).production_version).toBe(good.version);
    // Not loadable although the sha256 matches the record: refused too.
    const garbage = new TextEncoder().encode('not an onnx model');
    objects.set(other.artifact.key, garbage);
    await expect(
      artifactVerifier({ read: async () => garbage, inspector, sha256 })({ ...other, artifact: { ...other.artifact, sha256: sha256(garbage) } }),
    ).rejects.toThrow(/does not load in onnxruntime/);
  });
});
