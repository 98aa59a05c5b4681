import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { buildLogisticRegressionOnnx } from '#core/onnx/logistic-regression-graph.ts';

const { onnx } = onnxProto;

const params = {
  columns: 3,
  mean: [1, -2, 0.5],
  std: [2, 0.5, 1],
  weights: [0.75, -1.25, 2],
  intercept: -0.3,
  inputName: 'features',
  outputName: 'probability',
};

describe('buildLogisticRegressionOnnx', () => {
  it('declares ir 8, opset 17, the producer and float32 [batch, n] → [batch, 1] tensors', () => {
    const model = onnx.ModelProto.decode(buildLogisticRegressionOnnx(params));
    expect(Number(model.irVersion)).toBe(8);
    expect(model.opsetImport.map((o) => [o.domain ?? '', Number(o.version)])).toEqual([['', 17]]);
    expect(model.producerName).toBe('serverless-mlops');
    const graph = model.graph;
    expect(graph?.node?.map((n) => n.opType)).toEqual(['Sub', 'Div', 'MatMul', 'Add', 'Sigmoid']);
    const input = graph?.input?.[0]?.type?.tensorType;
    expect(graph?.input?.[0]?.name).toBe('features');
    expect(input?.elemType).toBe(onnx.TensorProto.DataType.FLOAT);
    expect(input?.shape?.dim?.map((d) => d.dimParam || Number(d.dimValue))).toEqual(['batch', 3]);
    const output = graph?.output?.[0]?.type?.tensorType;
    expect(graph?.output?.map((o) => o.name)).toEqual(['probability']);
    expect(output?.shape?.dim?.map((d) => d.dimParam || Number(d.dimValue))).toEqual(['batch', 1]);
  });

  it('computes sigmoid(((x - mean) / std) · w + b) in onnxruntime', async () => {
    const session = await ort.InferenceSession.create(buildLogisticRegressionOnnx(params));
    const x = Float32Array.from([1, -2, 0.5, 3, 0, -1]);
    const result = await session.run({ features: new ort.Tensor('float32', x, [2, 3]) });
    const output = result.probability;
    expect(output?.dims).toEqual([2, 1]);
    const expected = [0, 1].map((r) => {
      let z = params.intercept;
      for (let j = 0; j < 3; j++) z += (((x[r * 3 + j] as number) - (params.mean[j] as number)) / (params.std[j] as number)) * (params.weights[j] as number);
      return 1 / (1 + Math.exp(-z));
    });
    const actual = [...(output?.data as Float32Array)];
    expected.forEach((p, i) => expect(actual[i]).toBeCloseTo(p, 6));
  });

  it('is deterministic and validates its arguments', () => {
    expect(buildLogisticRegressionOnnx(params)).toEqual(buildLogisticRegressionOnnx(params));
    expect(() => buildLogisticRegressionOnnx({ ...params, weights: [1, 2] })).toThrow(/weights has 2 values, expected 3/);
    expect(() => buildLogisticRegressionOnnx({ ...params, columns: 0, mean: [], std: [], weights: [] })).toThrow(RangeError);
    expect(() => buildLogisticRegressionOnnx({ ...params, outputName: 'scaled' })).toThrow(/reserved/);
  });
});
