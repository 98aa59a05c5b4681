import { gzipSync } from 'node:zlib';
import type { ModelMetadata } from '#core/model/metadata.ts';
import { writeTarArchive } from '#core/pipeline/tar.ts';

/**
 * The SageMaker package of a model version for NVIDIA Triton Inference Server: a `model.tar.gz` holding one model
 * in Triton's model-repository layout,
 *
 *     <model>/config.pbtxt     derived from the version's metadata (input, output, columns)
 *     <model>/1/model.onnx     the registered ONNX artifact, unchanged
 *
 * Triton's SageMaker image unpacks it into its model repository; `SAGEMAKER_TRITON_DEFAULT_MODEL_NAME=<model>` (set
 * by the GpuEndpoint construct) makes it the model every InvokeEndpoint call reaches.
 */

export interface TritonPackageOptions {
  /**
   * Largest batch Triton accepts in one request and forms by dynamic batching across requests (rows).
   * @default 1000 (the API's default api.maxBatchSize)
   */
  readonly maxBatchSize?: number;
}

/** The version directory Triton serves (`<model>/1/`). */
export const TRITON_MODEL_VERSION = 1;

/** A string as a protobuf text-format literal. */
function quoted(text: string): string {
  return JSON.stringify(text);
}

/**
 * `config.pbtxt` for the ONNX Runtime backend. With `max_batch_size` > 0, `dims` leave out the batch dimension:
 * the input is [columns] float32 per row and the output [1] (the positive-class probability).
 */
export function tritonConfig(modelName: string, metadata: ModelMetadata, options: TritonPackageOptions = {}): string {
  const maxBatchSize = options.maxBatchSize ?? 1000;
  if (!Number.isInteger(maxBatchSize) || maxBatchSize < 1) throw new RangeError(`maxBatchSize must be a positive integer, got ${maxBatchSize}`);
  const { input_name: inputName, output_name: outputName, columns } = metadata.preprocessing;
  return [
    `name: ${quoted(modelName)}`,
    'backend: "onnxruntime"',
    `max_batch_size: ${maxBatchSize}`,
    'input [',
    '  {',
    `    name: ${quoted(inputName)}`,
    '    data_type: TYPE_FP32',
    `    dims: [ ${columns} ]`,
    '  }',
    ']',
    'output [',
    '  {',
    `    name: ${quoted(outputName)}`,
    '    data_type: TYPE_FP32',
    '    dims: [ 1 ]',
    '  }',
    ']',
    '# Requests of several API calls arriving together are scored in one batch on the GPU.',
    'dynamic_batching { }',
    '',
  ].join('\n');
}

/** The gzipped tar of the model repository (deterministic: the same inputs give the same bytes). */
export function tritonModelArchive(modelName: string, onnx: Uint8Array, metadata: ModelMetadata, options: TritonPackageOptions = {}): Uint8Array {
  const tar = writeTarArchive([
    { name: `${modelName}/` },
    { name: `${modelName}/config.pbtxt`, bytes: new TextEncoder().encode(tritonConfig(modelName, metadata, options)) },
    { name: `${modelName}/${TRITON_MODEL_VERSION}/` },
    { name: `${modelName}/${TRITON_MODEL_VERSION}/model.onnx`, bytes: onnx },
  ]);
  // mtime 0 in the gzip header too (zlib writes 0), so package bytes do not depend on when they were made.
  return new Uint8Array(gzipSync(tar));
}
