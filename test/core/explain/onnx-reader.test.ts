import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import { SeededRandom } from '#core/data/random.ts';
import { buildLogisticRegressionOnnx } from '#core/onnx/logistic-regression-graph.ts';
import { logit, marginOf } from '#core/explain/margin.ts';
import { readExplainableGraph } from '#core/explain/onnx-reader.ts';
import { bruteForceShapley } from '../../support/brute-force-shapley.ts';
import { TreeShapWorkspace, treeDepth, treeShap } from '#core/explain/tree-shap.ts';

const { onnx } = onnxProto;
const { AttributeType } = onnx.AttributeProto;
const utf8 = new TextEncoder();
const ints = (name: string, values: number[]) => onnx.AttributeProto.create({ name, type: AttributeType.INTS, ints: values });
const floats = (name: string, values: number[]) => onnx.AttributeProto.create({ name, type: AttributeType.FLOATS, floats: values });
const strings = (name: string, values: string[]) => onnx.AttributeProto.create({ name, type: AttributeType.STRINGS, strings: values.map((v) => utf8.encode(v)) });
const str = (name: string, value: string) => onnx.AttributeProto.create({ name, type: AttributeType.STRING, s: utf8.encode(value) });
const float = (name: string, value: number) => onnx.AttributeProto.create({ name, type: AttributeType.FLOAT, f: value });
const int = (name: string, value: number) => onnx.AttributeProto.create({ name, type: AttributeType.INT, i: value });

function valueInfo(name: string, width: number) {
  return onnx.ValueInfoProto.create({
    name,
    type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: [{ dimParam: 'batch' }, { dimValue: width }] } } },
  });
}

function tensor(name: string, dims: number[], values: number[]) {
  return onnx.TensorProto.create({ name, dims, dataType: onnx.TensorProto.DataType.FLOAT, floatData: values });
}

function model(nodes: InstanceType<typeof onnx.NodeProto>[], columns: number, initializer: InstanceType<typeof onnx.TensorProto>[] = []): Uint8Array {
  const graph = onnx.GraphProto.create({ name: 'g', input: [valueInfo('x', columns)], output: [valueInfo('p', 1)], node: nodes, initializer });
  return onnx.ModelProto.encode(
    onnx.ModelProto.create({
      irVersion: 8,
      opsetImport: [
        { domain: '', version: 17 },
        { domain: 'ai.onnx.ml', version: 3 },
      ],
      graph,
    }),
  ).finish();
}

async function ortProbabilities(bytes: Uint8Array, input: Float32Array, rows: number, columns: number): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    const out = await session.run({ x: new ort.Tensor('float32', input, [rows, columns]) }, ['p']);
    return out.p?.data as Float32Array;
  } finally {
    await session.release();
  }
}

function randomInput(rows: number, columns: number, seed: number): Float32Array {
  const random = new SeededRandom(seed);
  // Small integers, so equality splits (BRANCH_EQ, BRANCH_NEQ) are taken both ways.
  return Float32Array.from({ length: rows * columns }, () => random.nextInt(4));
}

describe('readExplainableGraph', () => {
  it('reads a tree ensemble with every split mode and AVERAGE, before a Sigmoid, as onnxruntime computes it', async () => {
    const columns = 3;
    // Tree 7: root LT on x0 < 2 → (GTE x1 >= 1 → leaves) | (EQ x2 == 3 → leaves); tree 9: GT / NEQ chains.
    const ensemble = onnx.NodeProto.create({
      opType: 'TreeEnsembleRegressor',
      domain: 'ai.onnx.ml',
      input: ['x'],
      output: ['margin'],
      attribute: [
        str('aggregate_function', 'AVERAGE'),
        floats('base_values', [0.25]),
        int('n_targets', 1),
        ints('nodes_treeids', [7, 7, 7, 7, 7, 7, 7, 9, 9, 9, 9, 9]),
        ints('nodes_nodeids', [0, 1, 2, 3, 4, 5, 6, 0, 1, 2, 3, 4]),
        ints('nodes_featureids', [0, 1, 2, 0, 0, 0, 0, 2, 1, 0, 0, 0]),
        strings('nodes_modes', ['BRANCH_LT', 'BRANCH_GTE', 'BRANCH_EQ', 'LEAF', 'LEAF', 'LEAF', 'LEAF', 'BRANCH_GT', 'BRANCH_NEQ', 'LEAF', 'LEAF', 'LEAF']),
        floats('nodes_values', [2, 1, 3, 0, 0, 0, 0, 1, 2, 0, 0, 0]),
        ints('nodes_truenodeids', [1, 3, 5, 0, 0, 0, 0, 1, 3, 0, 0, 0]),
        ints('nodes_falsenodeids', [2, 4, 6, 0, 0, 0, 0, 2, 4, 0, 0, 0]),
        ints('target_treeids', [7, 7, 7, 7, 9, 9, 9]),
        ints('target_nodeids', [3, 4, 5, 6, 2, 3, 4]),
        ints('target_ids', [0, 0, 0, 0, 0, 0, 0]),
        floats('target_weights', [1.5, -0.5, 2, -1, 0.75, -2, 0.5]),
        str('post_transform', 'NONE'),
      ],
    });
    const bytes = model([ensemble, onnx.NodeProto.create({ opType: 'Sigmoid', input: ['margin'], output: ['p'] })], columns);
    const graph = readExplainableGraph(bytes, 'x', 'p', columns);
    if (graph.kind !== 'trees') throw new Error(`expected trees, got ${graph.kind}`);
    const rows = 64;
    const input = randomInput(rows, columns, 3);
    const probabilities = await ortProbabilities(bytes, input, rows, columns);
    for (let r = 0; r < rows; r++) expect(Math.abs(marginOf(graph, input, r * columns) - logit(probabilities[r] as number))).toBeLessThan(1e-5);

    // And its SHAP values, one player per column here, against brute force.
    const players = Int32Array.from([0, 1, 2]);
    const background = Float64Array.from(input.subarray(0, 8 * columns));
    const workspace = new TreeShapWorkspace(3, Math.max(...graph.trees.map(treeDepth)));
    for (let r = 8; r < 16; r++) {
      const x = Float64Array.from(input.subarray(r * columns, (r + 1) * columns));
      const phi = treeShap(graph, x, 0, background, columns, players, 3, workspace);
      const exact = bruteForceShapley((row) => marginOf(graph, row), x, background, columns, players, 3);
      for (let p = 0; p < 3; p++) expect(Math.abs((phi[p] as number) - (exact.phi[p] as number))).toBeLessThan(1e-9);
    }
  });

  it('folds Scaler, Gemm (transB, alpha, beta), Mul and Add into the linear margin onnxruntime computes', async () => {
    const columns = 4;
    const nodes = [
      onnx.NodeProto.create({ opType: 'Scaler', domain: 'ai.onnx.ml', input: ['x'], output: ['s'], attribute: [floats('offset', [1, 2, 0.5, -1]), floats('scale', [0.5, 2, 1, 0.25])] }),
      onnx.NodeProto.create({ opType: 'Gemm', input: ['s', 'w', 'b'], output: ['g'], attribute: [int('transB', 1), float('alpha', 0.5), float('beta', 2)] }),
      onnx.NodeProto.create({ opType: 'Mul', input: ['two', 'g'], output: ['m'] }),
      onnx.NodeProto.create({ opType: 'Add', input: ['m', 'c'], output: ['margin'] }),
      onnx.NodeProto.create({ opType: 'Sigmoid', input: ['margin'], output: ['p'] }),
    ];
    const bytes = model(nodes, columns, [tensor('w', [1, 4], [0.3, -0.2, 0.7, 0.1]), tensor('b', [1], [0.4]), tensor('two', [], [2]), tensor('c', [1, 1], [-0.3])]);
    const graph = readExplainableGraph(bytes, 'x', 'p', columns);
    if (graph.kind !== 'linear') throw new Error(`expected linear, got ${graph.kind}: ${JSON.stringify(graph)}`);
    const rows = 32;
    const input = randomInput(rows, columns, 5);
    const probabilities = await ortProbabilities(bytes, input, rows, columns);
    for (let r = 0; r < rows; r++) expect(Math.abs(marginOf(graph, input, r * columns) - logit(probabilities[r] as number))).toBeLessThan(1e-5);
  });

  it('reads the built-in logistic regression as linear', () => {
    const bytes = buildLogisticRegressionOnnx({ columns: 2, mean: [1, 2], std: [2, 4], weights: [1, -1], intercept: 0.5, inputName: 'x', outputName: 'p' });
    const graph = readExplainableGraph(bytes, 'x', 'p', 2);
    expect(graph.kind).toBe('linear');
    if (graph.kind === 'linear') {
      expect(Array.from(graph.coefficients)).toEqual([0.5, -0.25]);
      expect(graph.intercept).toBeCloseTo(0.5 - 0.5 + 0.5);
    }
  });

  it('calls a non-linear graph opaque, with the reason', () => {
    const nodes = [
      onnx.NodeProto.create({ opType: 'MatMul', input: ['x', 'w'], output: ['h'] }),
      onnx.NodeProto.create({ opType: 'Tanh', input: ['h'], output: ['t'] }),
      onnx.NodeProto.create({ opType: 'Sigmoid', input: ['t'], output: ['p'] }),
    ];
    const graph = readExplainableGraph(model(nodes, 2, [tensor('w', [2, 1], [1, 1])]), 'x', 'p', 2);
    expect(graph).toEqual({ kind: 'opaque', reason: expect.stringContaining('Tanh') });
    expect(readExplainableGraph(model([onnx.NodeProto.create({ opType: 'Relu', input: ['x'], output: ['p'] })], 1), 'x', 'p', 1)).toEqual({
      kind: 'opaque',
      reason: expect.stringContaining('not a Sigmoid'),
    });
  });

  it('throws on bytes that are not an ONNX model', () => {
    expect(() => readExplainableGraph(Uint8Array.from([0xff, 0xff, 0xff]), 'x', 'p', 1)).toThrow();
  });
});
