import * as ort from 'onnxruntime-node';
import type { ArtifactInspector, GraphSignature, GraphValue } from '#core/registry/registration.ts';

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
