import { createHash } from 'node:crypto';
import { artifactKey } from '#core/registry/records.ts';
import type { RegistryService } from '#core/registry/registry-service.ts';
import type { S3ArtifactStore } from '#adapters/s3-artifacts.ts';
import { trainCreditModel } from '../examples/credit/train.ts';

export const REFERENCE_MODEL = 'credit';

/**
 * Seeds an empty registry with the reference model: trains the built-in logistic regression
 * on examples/credit/credit_data.csv, stores the ONNX artifact content-addressed, registers
 * it as version 1 and promotes it. Does nothing when the registry already holds models.
 */
export async function seedReferenceModel(
  registry: RegistryService,
  artifacts: S3ArtifactStore,
): Promise<{ seeded: boolean; version?: number }> {
  if ((await registry.listModels()).length > 0) return { seeded: false };
  const { onnx, metadata } = await trainCreditModel();
  const sha256 = createHash('sha256').update(onnx).digest('hex');
  const key = artifactKey(REFERENCE_MODEL, sha256);
  await artifacts.putArtifact(key, onnx, sha256, 'application/octet-stream');
  const { version } = await registry.register({
    model: REFERENCE_MODEL,
    description: 'Credit scoring (logistic regression on examples/credit/credit_data.csv): probability that a loan goes bad',
    artifact: { key, sha256, size_bytes: onnx.byteLength },
    metadata,
    actor: 'local-seed',
    reason: 'reference model seeded by npm start',
  });
  await registry.promote({ model: REFERENCE_MODEL, version: version.version, actor: 'local-seed', reason: 'reference model' });
  return { seeded: true, version: version.version };
}
