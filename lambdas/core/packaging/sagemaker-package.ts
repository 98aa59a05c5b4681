import { ModelUnavailableError } from '#core/errors.ts';
import { sagemakerPackageKey, servingTargetOf, type ServingTarget } from '#core/registry/records.ts';
import type { ArtifactWriter } from '#core/registry/registration.ts';
import type { RegistryService } from '#core/registry/registry-service.ts';
import type { ArtifactReader } from '#core/serving/ports.ts';
import { tritonConfig, tritonModelArchive, type TritonPackageOptions } from './triton.ts';

/**
 * `mlops package --target sagemaker`: builds the Triton `model.tar.gz` of a registered version from its stored ONNX
 * artifact (checked against its recorded sha256) and metadata, and writes it to the artifact bucket at
 * `sagemaker/{model}/{version}/model.tar.gz`, where the GpuEndpoint construct's model data points.
 */

export interface PackageRequest extends TritonPackageOptions {
  readonly model: string;
  readonly version: number;
}

export interface PackageDeps {
  readonly registry: RegistryService;
  readonly artifacts: ArtifactReader & ArtifactWriter;
  readonly sha256: (bytes: Uint8Array) => string;
}

export interface PackageResult {
  readonly model: string;
  readonly version: number;
  /** Object key of the package in the artifact bucket. */
  readonly key: string;
  readonly sha256: string;
  readonly size_bytes: number;
  /** The version's serving target (a package is useful for a `sagemaker` one). */
  readonly serving_target: ServingTarget;
  /** The generated `config.pbtxt`, for people to read. */
  readonly config_pbtxt: string;
}

export async function packageForSageMaker(request: PackageRequest, deps: PackageDeps): Promise<PackageResult> {
  const record = await deps.registry.getVersion(request.model, request.version);
  const { model, version, artifact, metadata } = record;
  const onnx = await deps.artifacts.getArtifact(artifact.key);
  const actual = deps.sha256(onnx);
  if (actual !== artifact.sha256) {
    throw new ModelUnavailableError(
      'ARTIFACT_INTEGRITY_FAILED',
      `the artifact of model "${model}" version ${version} does not match its recorded sha256 (expected ${artifact.sha256}, got ${actual})`,
      { model, model_version: version },
    );
  }
  const options = request.maxBatchSize === undefined ? {} : { maxBatchSize: request.maxBatchSize };
  const archive = tritonModelArchive(model, onnx, metadata, options);
  const sha256 = deps.sha256(archive);
  const key = sagemakerPackageKey(model, version);
  await deps.artifacts.putArtifact(key, archive, sha256, 'application/gzip');
  return {
    model,
    version,
    key,
    sha256,
    size_bytes: archive.length,
    serving_target: servingTargetOf(record),
    config_pbtxt: tritonConfig(model, metadata, options),
  };
}
