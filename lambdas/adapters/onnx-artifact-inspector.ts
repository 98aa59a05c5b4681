import { createHash } from 'node:crypto';
import * as ort from 'onnxruntime-node';
import { artifactVerifier, type ArtifactInspector, type GraphSignature, type GraphValue } from '#core/registry/registration.ts';
import type { ModelVersionRecord } from '#core/registry/records.ts';

function describeValue(value: ort.InferenceSession.ValueMetadata): GraphValue {
  if (!value.isTensor) return { name: value.name, type: 'non-tensor', shape: [] };
  return { name: value.name, type: value.type, shape: [...value.shape] };
}

export interface OnnxArtifactInspectorOptions {
  /** Threads per operator; set on Lambda, where onnxruntime cannot read the CPU topology. */
  readonly intraOpNumThreads?: number;
}

/** Loads artifact bytes in onnxruntime-node and reports the graph's inputs and outputs. */
export class OnnxArtifactInspector implements ArtifactInspector {
  constructor(private readonly options: OnnxArtifactInspectorOptions = {}) {}

  /** Throws onnxruntime's error when the bytes do not load as a model. */
  async inspect(bytes: Uint8Array): Promise<GraphSignature> {
    const session = await ort.InferenceSession.create(bytes, {
      // The serving engine's options, so an artifact that passes here also loads there.
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      ...(this.options.intraOpNumThreads === undefined ? {} : { intraOpNumThreads: this.options.intraOpNumThreads }),
    });
    try {
      return {
        inputs: session.inputMetadata.map(describeValue),
        outputs: session.outputMetadata.map(describeValue),
      };
    } finally {
      await session.release();
    }
  }
}

/**
 * Promotion's artifact check (RegistryService `verifyArtifact`) over onnxruntime-node: the bytes read back must match
 * the recorded sha256 and load as a session. The one wiring the CLI, the local platform and the pipeline Lambda share.
 */
export function onnxArtifactVerifier(
  read: (key: string) => Promise<Uint8Array>,
  options: OnnxArtifactInspectorOptions = {},
): (version: ModelVersionRecord) => Promise<void> {
  return artifactVerifier({
    read,
    inspector: new OnnxArtifactInspector(options),
    sha256: (bytes) => createHash('sha256').update(bytes).digest('hex'),
  });
}
