/**
 * The KServe v2 (Open Inference Protocol) JSON bodies the predict handler sends to a SageMaker endpoint and reads
 * back: Triton Inference Server speaks it, and so does the local SageMaker-runtime server of `npm start`.
 * One float32 input tensor [rows, columns] (the encoded instances) and one float32 output [rows, 1] (the
 * positive-class probabilities). Floats travel as JSON numbers: a float32 written as a double and read back as a
 * float32 is the same value, so both paths score the same bits.
 */

export interface KServeTensor {
  readonly name: string;
  readonly shape: readonly number[];
  readonly datatype: string;
  /** Row-major values (flattened; nested arrays are accepted when reading). */
  readonly data: readonly number[];
}

export interface KServeInferenceRequest {
  readonly inputs: readonly KServeTensor[];
  readonly outputs?: readonly { readonly name: string }[];
}

export interface KServeInferenceResponse {
  readonly model_name: string;
  readonly model_version?: string;
  readonly outputs: readonly KServeTensor[];
}

/** A KServe v2 body that does not have the expected shape. */
export class KServeFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KServeFormatError';
  }
}

/** The inference request for one batch of encoded rows. */
export function kserveRequest(inputName: string, input: Float32Array, rows: number, columns: number, outputName: string): KServeInferenceRequest {
  return {
    inputs: [{ name: inputName, shape: [rows, columns], datatype: 'FP32', data: Array.from(input) }],
    outputs: [{ name: outputName }],
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Flattens (possibly nested) numeric data into float32, refusing anything that is not a finite number. */
function float32Data(data: unknown, what: string): Float32Array {
  if (!Array.isArray(data)) throw new KServeFormatError(`${what} data must be an array`);
  const flat = (data as unknown[]).flat(Infinity);
  const out = new Float32Array(flat.length);
  for (let i = 0; i < flat.length; i++) {
    const value = flat[i];
    if (typeof value !== 'number' || !Number.isFinite(value)) throw new KServeFormatError(`${what} data[${i}] is not a finite number`);
    out[i] = value;
  }
  return out;
}

function shapeOf(tensor: Record<string, unknown>, what: string): number[] {
  const shape = tensor.shape;
  if (!Array.isArray(shape) || !shape.every((d): d is number => typeof d === 'number' && Number.isInteger(d) && d >= 0)) {
    throw new KServeFormatError(`${what} shape must be an array of non-negative integers`);
  }
  return shape;
}

/** Reads the positive-class probabilities (one per row) from an endpoint's answer. */
export function probabilitiesFromResponse(body: unknown, outputName: string, rows: number): Float32Array {
  if (!isRecord(body) || !Array.isArray(body.outputs)) throw new KServeFormatError('the response has no "outputs" array');
  const outputs = body.outputs as unknown[];
  const output = outputs.find((o) => isRecord(o) && o.name === outputName);
  if (!isRecord(output)) throw new KServeFormatError(`the response has no output "${outputName}"`);
  if (output.datatype !== 'FP32' && output.datatype !== 'FP64') {
    throw new KServeFormatError(`output "${outputName}" must be FP32, got ${String(output.datatype)}`);
  }
  const values = float32Data(output.data, `output "${outputName}"`);
  if (values.length !== rows) throw new KServeFormatError(`output "${outputName}" has ${values.length} values for ${rows} rows`);
  return values;
}

/** The one input tensor of a request, checked, as float32 [rows, columns]; for servers that speak the protocol. */
export function readRequestInput(body: unknown): { name: string; rows: number; columns: number; data: Float32Array; outputNames: string[] } {
  if (!isRecord(body) || !Array.isArray(body.inputs)) throw new KServeFormatError('the request has no "inputs" array');
  const inputs = body.inputs as unknown[];
  if (inputs.length !== 1 || !isRecord(inputs[0])) throw new KServeFormatError(`the request must have exactly one input, got ${inputs.length}`);
  const input = inputs[0];
  if (typeof input.name !== 'string' || input.name === '') throw new KServeFormatError('the input has no name');
  if (input.datatype !== 'FP32') throw new KServeFormatError(`input "${input.name}" must be FP32, got ${String(input.datatype)}`);
  const shape = shapeOf(input, `input "${input.name}"`);
  const [rows, columns] = shape;
  if (shape.length !== 2 || rows === undefined || columns === undefined) {
    throw new KServeFormatError(`input "${input.name}" must have shape [rows, columns], got [${shape.join(', ')}]`);
  }
  const data = float32Data(input.data, `input "${input.name}"`);
  if (data.length !== rows * columns) {
    throw new KServeFormatError(`input "${input.name}" has ${data.length} values for shape [${rows}, ${columns}]`);
  }
  const requested = Array.isArray(body.outputs) ? (body.outputs as unknown[]) : [];
  const outputNames = requested.flatMap((o) => (isRecord(o) && typeof o.name === 'string' ? [o.name] : []));
  return { name: input.name, rows, columns, data, outputNames };
}
