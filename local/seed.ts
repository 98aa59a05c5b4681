import { createHash } from 'node:crypto';
import { OnnxArtifactInspector } from '#adapters/onnx-artifact-inspector.ts';
import { registerArtifact, type ArtifactWriter } from '#core/registry/registration.ts';
import type { RegistryService } from '#core/registry/registry-service.ts';
import { trainCreditModel } from '../examples/credit/train.ts';

export const REFERENCE_MODEL = 'credit';

/**
 * Seeds an empty registry with the reference model: trains the built-in logistic regression
 * on examples/credit/credit_data.csv, registers it through the same checks as `mlops register`
 * (it loads in onnxruntime, its graph matches its metadata) as version 1, and promotes it.
 * Does nothing when the registry already holds models.
 */
export async function seedReferenceModel(
  registry: RegistryService,
  artifacts: ArtifactWriter,
): Promise<{ seeded: boolean; version?: number }> {
  if ((await registry.listModels()).length > 0) return { seeded: false };
  const { onnx, metadata } = await trainCreditModel();
  const { version } = await registerArtifact(
    {
      model: REFERENCE_MODEL,
      bytes: onnx,
      metadata,
      description: 'Credit scoring (logistic regression on examples/credit/credit_data.csv): probability that a loan goes bad',
      actor: 'local-seed',
      reason: 'reference model seeded by npm start',
    },
    {
      inspector: new OnnxArtifactInspector(),
      artifacts,
      registry,
      sha256: (bytes) => createHash('sha256').update(bytes).digest('hex'),
    },
  );
  await registry.promote({ model: REFERENCE_MODEL, version: version.version, actor: 'local-seed', reason: 'reference model' });
  return { seeded: true, version: version.version };
}
