/**
 * Builds the ONNX artifact of a logistic regression on standardised inputs:
 *
 *   input [batch, columns] → Sub(mean) → Div(std) → MatMul(W [columns, 1]) → Add(intercept [1]) → Sigmoid
 *   → output [batch, 1], the probability of the positive label.
 *
 * Only standard ai.onnx operators (opset 17) and float32 tensors: no ZipMap, no non-tensor outputs.
 * The bytes depend only on the arguments, so the same model always serialises identically.
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

export interface LogisticRegressionOnnxParams {
  readonly columns: number;
  readonly mean: ArrayLike<number>;
  readonly std: ArrayLike<number>;
  readonly weights: ArrayLike<number>;
  readonly intercept: number;
  readonly inputName: string;
  readonly outputName: string;
}

export const ONNX_IR_VERSION = 8;
export const ONNX_OPSET = 17;
export const ONNX_PRODUCER = 'serverless-mlops';

const INTERNAL_NAMES: readonly string[] = ['scaler_mean', 'scaler_std', 'coefficients', 'intercept', 'centered', 'scaled', 'linear', 'logit'];

/** A float32 initializer with its values as little-endian raw_data. */
function floatTensor(name: string, dims: number[], values: ArrayLike<number>): InstanceType<typeof onnx.TensorProto> {
  const raw = new Uint8Array(values.length * 4);
  const view = new DataView(raw.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i] as number, true);
  return onnx.TensorProto.create({ name, dims, dataType: onnx.TensorProto.DataType.FLOAT, rawData: raw });
}

function floatValueInfo(name: string, secondDim: number): InstanceType<typeof onnx.ValueInfoProto> {
  return onnx.ValueInfoProto.create({
    name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: { dim: [{ dimParam: 'batch' }, { dimValue: secondDim }] },
      },
    },
  });
}

export function buildLogisticRegressionOnnx(params: LogisticRegressionOnnxParams): Uint8Array {
  const { columns, mean, std, weights, intercept, inputName, outputName } = params;
  if (!Number.isInteger(columns) || columns < 1) throw new RangeError(`columns must be a positive integer, got ${columns}`);
  for (const [label, values] of [['mean', mean], ['std', std], ['weights', weights]] as const) {
    if (values.length !== columns) throw new RangeError(`${label} has ${values.length} values, expected ${columns}`);
  }
  if (inputName === outputName) throw new RangeError('input and output names must differ');
  for (const name of [inputName, outputName]) {
    if (INTERNAL_NAMES.includes(name)) throw new RangeError(`"${name}" is reserved for an internal tensor of the graph`);
  }

  const node = (opType: string, inputs: string[], output: string) =>
    onnx.NodeProto.create({ opType, input: inputs, output: [output], name: `${opType.toLowerCase()}_${output}` });

  const graph = onnx.GraphProto.create({
    name: 'logistic_regression',
    input: [floatValueInfo(inputName, columns)],
    output: [floatValueInfo(outputName, 1)],
    initializer: [
      floatTensor('scaler_mean', [columns], mean),
      floatTensor('scaler_std', [columns], std),
      floatTensor('coefficients', [columns, 1], weights),
      floatTensor('intercept', [1], [intercept]),
    ],
    node: [
      node('Sub', [inputName, 'scaler_mean'], 'centered'),
      node('Div', ['centered', 'scaler_std'], 'scaled'),
      node('MatMul', ['scaled', 'coefficients'], 'linear'),
      node('Add', ['linear', 'intercept'], 'logit'),
      node('Sigmoid', ['logit'], outputName),
    ],
  });

  const model = onnx.ModelProto.create({
    irVersion: ONNX_IR_VERSION,
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    producerName: ONNX_PRODUCER,
    producerVersion: '1.0.0',
    graph,
  });
  return onnx.ModelProto.encode(model).finish();
}
