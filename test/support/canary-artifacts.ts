import onnxProto from 'onnx-proto';
import type { Preprocessing } from '#core/model/metadata.ts';
import { ONNX_IR_VERSION, ONNX_OPSET, buildLogisticRegressionOnnx } from '#core/onnx/logistic-regression-graph.ts';

/**
 * ONNX artifacts that take the same input as a model's production version but misbehave as canaries: they pass
 * registration (the graph's input and output match the metadata) and fail only when they serve.
 */

const { onnx } = onnxProto;

/** Answers `probability` for every row, whatever its features: a canary with a large score shift. */
export function constantScoreOnnx(preprocessing: Preprocessing, probability: number): Uint8Array {
  const { columns } = preprocessing;
  return buildLogisticRegressionOnnx({
    columns,
    mean: new Array<number>(columns).fill(0),
    std: new Array<number>(columns).fill(1),
    weights: new Array<number>(columns).fill(0),
    intercept: Math.log(probability / (1 - probability)),
    inputName: preprocessing.input_name,
    outputName: preprocessing.output_name,
  });
}

function int64Tensor(name: string, values: readonly number[]): InstanceType<typeof onnx.TensorProto> {
  const raw = new Uint8Array(values.length * 8);
  const view = new DataView(raw.buffer);
  values.forEach((value, i) => view.setBigInt64(i * 8, BigInt(value), true));
  return onnx.TensorProto.create({ name, dims: [values.length], dataType: onnx.TensorProto.DataType.INT64, rawData: raw });
}

/**
 * Loads fine and fails at every `session.run`: it reshapes its [batch, columns] input to [-1, columns + 1], which no
 * batch of whole rows fits (onnxruntime cannot know that before it sees the data).
 */
export function failingAtRunOnnx(preprocessing: Preprocessing): Uint8Array {
  const { columns, input_name: input, output_name: output } = preprocessing;
  const valueInfo = (name: string, second: number) =>
    onnx.ValueInfoProto.create({
      name,
      type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: [{ dimParam: 'batch' }, { dimValue: second }] } } },
    });
  const graph = onnx.GraphProto.create({
    name: 'fails_at_run',
    input: [valueInfo(input, columns)],
    output: [valueInfo(output, 1)],
    initializer: [int64Tensor('bad_shape', [-1, columns + 1]), int64Tensor('sum_axes', [1])],
    node: [
      onnx.NodeProto.create({ opType: 'Reshape', input: [input, 'bad_shape'], output: ['reshaped'], name: 'reshape' }),
      onnx.NodeProto.create({
        opType: 'ReduceSum',
        input: ['reshaped', 'sum_axes'],
        output: ['summed'],
        name: 'sum',
        attribute: [onnx.AttributeProto.create({ name: 'keepdims', type: onnx.AttributeProto.AttributeType.INT, i: 1 })],
      }),
      onnx.NodeProto.create({ opType: 'Sigmoid', input: ['summed'], output: [output], name: 'sigmoid' }),
    ],
  });
  return onnx.ModelProto.encode(
    onnx.ModelProto.create({ irVersion: ONNX_IR_VERSION, opsetImport: [{ domain: '', version: ONNX_OPSET }], producerName: 'test', graph }),
  ).finish();
}
