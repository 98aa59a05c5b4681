/**
 * Registration of a trained model version: before anything is written, the artifact must load
 * in onnxruntime, its graph must have the input and output the metadata names with the types
 * and shapes the predict handler feeds and reads, and the metadata must be complete. Anything
 * else is refused with a `RequestValidationError` whose message says what is wrong. The same
 * bytes registered again are deduplicated by the registry (artifacts are content-addressed).
 */
import { RequestValidationError } from '#core/errors.ts';
import type { ModelMetadata } from '#core/model/metadata.ts';
import { parseModelMetadata } from '#core/model/metadata-validation.ts';
import { MODEL_NAME_PATTERN, SAGEMAKER_ENDPOINT_NAME_PATTERN, artifactKey, type ModelVersionRecord, type ServingTarget } from './records.ts';
import type { RegisterResult, RegistryService } from './registry-service.ts';

/** One input or output of an ONNX graph; `type` is onnxruntime's name (`float32`, …, or `non-tensor`). */
export interface GraphValue {
  readonly name: string;
  readonly type: string;
  /** Dimensions: a number is a fixed size, a string a symbolic one; empty when undeclared. */
  readonly shape: readonly (number | string)[];
}

export interface GraphSignature {
  readonly inputs: readonly GraphValue[];
  readonly outputs: readonly GraphValue[];
}

/** Loads artifact bytes in the runtime that will serve them; throws when they do not load. */
export interface ArtifactInspector {
  inspect(bytes: Uint8Array): Promise<GraphSignature>;
}

/** Writes an object to the artifact store (`S3ArtifactStore` has this method). */
export interface ArtifactWriter {
  putArtifact(key: string, bytes: Uint8Array, sha256Hex: string, contentType: string): Promise<void>;
}

export interface RegisterArtifactRequest {
  readonly model: string;
  readonly bytes: Uint8Array;
  /** The parsed `metadata.json`, unchecked. */
  readonly metadata: unknown;
  readonly description?: string;
  readonly actor: string;
  readonly reason?: string;
  readonly clientToken?: string;
  /** Refuse artifacts larger than this many bytes. */
  readonly maxArtifactBytes?: number;
  /** Where the version will be scored. @default - the predict Lambda */
  readonly servingTarget?: ServingTarget;
  /**
   * Refuse artifacts larger than this many bytes for the Lambda target (they belong on a SageMaker endpoint).
   * @default - no limit
   */
  readonly maxLambdaArtifactBytes?: number;
}

export interface RegisterArtifactDeps {
  readonly inspector: ArtifactInspector;
  readonly artifacts: ArtifactWriter;
  readonly registry: RegistryService;
  /** Lower-case hex sha256 of the bytes (node:crypto in the adapters and CLI). */
  readonly sha256: (bytes: Uint8Array) => string;
}

export type RegisterArtifactResult = RegisterResult & {
  /** The checks that passed, in order, as sentences for the CLI to print. */
  readonly checks: string[];
};

/**
 * The largest artifact the predict Lambda serves unless the deployment says otherwise
 * (`sagemakerServing.lambdaMaxArtifactBytes`): 256 MiB, which with onnxruntime's working memory fits the default
 * 1769 MB function. Larger models go to a SageMaker endpoint.
 */
export const DEFAULT_LAMBDA_MAX_ARTIFACT_BYTES = 268_435_456;

/** The object key of the metadata JSON stored beside an artifact. */
export function metadataKey(model: string, sha256: string): string {
  return `models/${model}/${sha256}.json`;
}

const ONNX_CONTENT_TYPE = 'application/octet-stream';
const JSON_CONTENT_TYPE = 'application/json';

function mismatch(message: string, details: Readonly<Record<string, unknown>>): never {
  throw new RequestValidationError('SCHEMA_MISMATCH', message, details);
}

function formatShape(shape: readonly (number | string)[]): string {
  return shape.length === 0 ? 'no declared shape' : `shape [${shape.map((d) => (typeof d === 'string' ? d || '?' : String(d))).join(', ')}]`;
}

/** A dimension the runtime sizes per call: symbolic, or a negative number (unknown). */
function isDynamic(dim: number | string | undefined): boolean {
  return typeof dim === 'string' || (typeof dim === 'number' && dim < 0);
}

function findValue(values: readonly GraphValue[], name: string, role: 'input' | 'output', metadataField: string): GraphValue {
  const value = values.find((v) => v.name === name);
  if (value === undefined) {
    const names = values.map((v) => `"${v.name}"`).join(', ') || 'none';
    mismatch(`the graph has no ${role} "${name}" (named by metadata ${metadataField}); its ${role}s are ${names}`, {
      [role]: name,
      graph: values.map((v) => v.name),
    });
  }
  return value;
}

/** Checks one float32 [batch, width] value: a dynamic batch dimension and `width` columns (or symbolic). */
function checkMatrix(value: GraphValue, role: 'input' | 'output', width: number, widthSource: string): void {
  if (value.type !== 'float32') {
    mismatch(`graph ${role} "${value.name}" must be float32, got ${value.type}`, { [role]: value.name, type: value.type });
  }
  const [batch, columns] = value.shape;
  if (value.shape.length !== 2) {
    mismatch(`graph ${role} "${value.name}" must have rank 2 [batch, ${width}], got ${formatShape(value.shape)}`, {
      [role]: value.name,
      shape: value.shape,
    });
  }
  if (!isDynamic(batch)) {
    mismatch(
      `graph ${role} "${value.name}" must have a dynamic batch dimension (requests score many rows), got ${formatShape(value.shape)}`,
      { [role]: value.name, shape: value.shape },
    );
  }
  if (!isDynamic(columns) && columns !== width) {
    mismatch(`graph ${role} "${value.name}" has ${String(columns)} columns but ${widthSource} is ${width}`, {
      [role]: value.name,
      shape: value.shape,
      expected: width,
    });
  }
}

/** Checks the graph has the input the predict handler feeds and the output it reads. */
function checkSignature(signature: GraphSignature, metadata: ModelMetadata): string[] {
  const { input_name: inputName, output_name: outputName, columns } = metadata.preprocessing;
  const input = findValue(signature.inputs, inputName, 'input', 'preprocessing.input_name');
  checkMatrix(input, 'input', columns, 'preprocessing.columns');
  const others = signature.inputs.filter((v) => v.name !== inputName).map((v) => `"${v.name}"`);
  if (others.length > 0) {
    mismatch(`the graph has inputs the predict handler does not feed: ${others.join(', ')} (only "${inputName}" is fed)`, {
      input: inputName,
      graph: signature.inputs.map((v) => v.name),
    });
  }
  const output = findValue(signature.outputs, outputName, 'output', 'preprocessing.output_name');
  checkMatrix(output, 'output', 1, 'a binary classifier output');
  return [
    `graph input "${inputName}" is float32 ${formatShape(input.shape)}, matching ${columns} encoded columns`,
    `graph output "${outputName}" is float32 ${formatShape(output.shape)}, one probability per row`,
  ];
}

function causeOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.trim().split('\n')[0] || 'unknown error';
}

/**
 * Checks the serving target: a SageMaker endpoint name must be valid, and an artifact too large for the predict
 * Lambda is refused for it with a message that points to the SageMaker target. Returns the check as a sentence.
 */
function checkServingTarget(request: RegisterArtifactRequest, sizeBytes: number): string {
  const target = request.servingTarget ?? { kind: 'lambda' };
  if (target.kind === 'sagemaker') {
    if (!SAGEMAKER_ENDPOINT_NAME_PATTERN.test(target.endpoint_name)) {
      throw new RequestValidationError(
        'INVALID_SERVING_TARGET',
        `endpoint name "${target.endpoint_name}" must be 1-63 letters, digits or dashes, starting and ending with a letter or digit`,
        { endpoint_name: target.endpoint_name },
      );
    }
    return `serves from SageMaker endpoint "${target.endpoint_name}" (package it with mlops package --target sagemaker)`;
  }
  const limit = request.maxLambdaArtifactBytes;
  if (limit === undefined) return 'serves in the predict Lambda';
  if (sizeBytes > limit) {
    throw new RequestValidationError(
      'ARTIFACT_TOO_LARGE_FOR_LAMBDA',
      `the artifact is ${sizeBytes} bytes, more than the ${limit} bytes the predict Lambda serves: ` +
        'register it for a SageMaker endpoint instead (--target sagemaker --endpoint NAME, docs/gpu.md)',
      { size_bytes: sizeBytes, max_bytes: limit, target: 'lambda', suggested_target: 'sagemaker' },
    );
  }
  return `serves in the predict Lambda: ${sizeBytes} bytes is within its limit of ${limit}`;
}

/**
 * Checks an artifact and its metadata, writes both to the artifact store (content-addressed
 * by the artifact's sha256) and registers a candidate version, or returns the existing version
 * when these bytes are registered already.
 *
 * Throws `RequestValidationError` with code `INVALID_MODEL_NAME`, `INVALID_METADATA`,
 * `ARTIFACT_TOO_LARGE`, `INVALID_SERVING_TARGET`, `ARTIFACT_TOO_LARGE_FOR_LAMBDA`, `ARTIFACT_INVALID` or
 * `SCHEMA_MISMATCH`, before anything is written.
 */
export async function registerArtifact(request: RegisterArtifactRequest, deps: RegisterArtifactDeps): Promise<RegisterArtifactResult> {
  const { model, bytes } = request;
  if (!MODEL_NAME_PATTERN.test(model)) {
    throw new RequestValidationError(
      'INVALID_MODEL_NAME',
      `model name "${model}" must be 1-63 lower-case letters, digits, "-" or "_", starting with a letter or digit`,
      { model },
    );
  }
  const checks: string[] = [];

  const metadata = parseModelMetadata(request.metadata);
  checks.push(
    `metadata is complete: ${metadata.input_schema.features.length} features, ${metadata.preprocessing.columns} encoded columns, ` +
      `labels "${metadata.output.positive_label}"/"${metadata.output.negative_label}"`,
  );

  if (bytes.length === 0) {
    throw new RequestValidationError('ARTIFACT_INVALID', 'the artifact is empty', { size_bytes: 0 });
  }
  if (request.maxArtifactBytes !== undefined) {
    if (bytes.length > request.maxArtifactBytes) {
      throw new RequestValidationError(
        'ARTIFACT_TOO_LARGE',
        `the artifact is ${bytes.length} bytes, more than the limit of ${request.maxArtifactBytes}`,
        { size_bytes: bytes.length, max_bytes: request.maxArtifactBytes },
      );
    }
    checks.push(`artifact size ${bytes.length} bytes is within the limit of ${request.maxArtifactBytes}`);
  }

  checks.push(checkServingTarget(request, bytes.length));

  let signature: GraphSignature;
  try {
    signature = await deps.inspector.inspect(bytes);
  } catch (error) {
    throw new RequestValidationError('ARTIFACT_INVALID', `the artifact does not load in onnxruntime: ${causeOf(error)}`, {
      size_bytes: bytes.length,
    });
  }
  checks.push('artifact loads in onnxruntime');
  checks.push(...checkSignature(signature, metadata));

  const sha256 = deps.sha256(bytes);
  const key = artifactKey(model, sha256);
  // Content-addressed: writing the same bytes again is harmless, and the version record never
  // points at a key that was not written.
  await deps.artifacts.putArtifact(key, bytes, sha256, ONNX_CONTENT_TYPE);

  const result = await deps.registry.register({
    model,
    actor: request.actor,
    artifact: { key, sha256, size_bytes: bytes.length },
    metadata,
    ...(request.description === undefined ? {} : { description: request.description }),
    ...(request.reason === undefined ? {} : { reason: request.reason }),
    ...(request.clientToken === undefined ? {} : { clientToken: request.clientToken }),
    ...(request.servingTarget === undefined ? {} : { servingTarget: request.servingTarget }),
  });

  // The JSON beside the artifact mirrors the metadata of the registered version: on a duplicate
  // that is the metadata registered first, which the registry keeps.
  const json = new TextEncoder().encode(`${JSON.stringify(result.version.metadata, null, 2)}\n`);
  await deps.artifacts.putArtifact(metadataKey(model, sha256), json, deps.sha256(json), JSON_CONTENT_TYPE);

  checks.push(
    result.deduplicated
      ? `these bytes (sha256 ${sha256}) are already registered as version ${result.version.version}; nothing new was registered`
      : `registered version ${result.version.version} as a ${result.version.stage} (sha256 ${sha256})`,
  );
  return { ...result, checks };
}

/**
 * The check promotion runs before it flips (RegistryService `verifyArtifact`): the artifact is read back, its sha256
 * compared with the record's, and it is loaded in the serving runtime. Throws naming what failed.
 */
export function artifactVerifier(deps: {
  readonly read: (key: string) => Promise<Uint8Array>;
  readonly inspector: ArtifactInspector;
  readonly sha256: (bytes: Uint8Array) => string;
}): (version: ModelVersionRecord) => Promise<void> {
  return async (version) => {
    const bytes = await deps.read(version.artifact.key);
    const actual = deps.sha256(bytes);
    if (actual !== version.artifact.sha256) throw new Error(`its sha256 is ${actual}, not the recorded ${version.artifact.sha256}`);
    try {
      await deps.inspector.inspect(bytes);
    } catch (cause) {
      throw new Error(`it does not load in onnxruntime (${cause instanceof Error ? cause.message : String(cause)})`, { cause });
    }
  };
}
