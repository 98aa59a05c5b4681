import { readFileSync } from 'node:fs';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseCsv } from '#core/data/csv.ts';
import { toLabelledTable } from '#core/data/table.ts';
import { encodeRows } from '#core/model/encode.ts';
import type { TreeEnsembleOnnxParams } from '#core/onnx/tree-ensemble-graph.ts';
import { buildTreeEnsembleOnnx } from '#core/onnx/tree-ensemble-graph.ts';
import type { GradientBoostingModel } from '#core/training/gradient-boosting.ts';
import { fitGradientBoosting, predictGradientBoosting } from '#core/training/gradient-boosting.ts';
import { fitPreprocessing } from '#core/training/preprocessing.ts';
import { stratifiedSplit } from '#core/training/split.ts';
import { trainGradientBoosting } from '#core/training/train-binary-classifier.ts';

const { onnx } = onnxProto;

const creditCsv = readFileSync(new URL('../../../examples/credit/credit_data.csv', import.meta.url), 'utf8');

/** Two small trees on 2 columns: tree 0 splits column 0 at 0.5 then column 1 at -1.25; tree 1 is a stump on column 1. */
const params: TreeEnsembleOnnxParams = {
  columns: 2,
  baseScore: -0.5,
  inputName: 'features',
  outputName: 'probability',
  trees: [
    {
      nodes: [
        { kind: 'split', feature: 0, threshold: 0.5, left: 1, right: 2 },
        { kind: 'leaf', value: -0.25 },
        { kind: 'split', feature: 1, threshold: -1.25, left: 3, right: 4 },
        { kind: 'leaf', value: 0.75 },
        { kind: 'leaf', value: 1.5 },
      ],
    },
    {
      nodes: [
        { kind: 'split', feature: 1, threshold: 3, left: 1, right: 2 },
        { kind: 'leaf', value: 0.125 },
        { kind: 'leaf', value: -2 },
      ],
    },
  ],
};

/** The next float32 above the float32 value `v` (v > 0 or v < 0). */
function nextFloat32Up(v: number): number {
  const f = new Float32Array([v]);
  const bits = new Int32Array(f.buffer);
  bits[0] = (bits[0] as number) + (v > 0 ? 1 : -1);
  return f[0] as number;
}

/** Runs `bytes` in onnxruntime on a row-major float32 matrix, requesting only the output. */
async function runOnnx(bytes: Uint8Array, x: Float32Array, columns: number, inputName = 'features', outputName = 'probability'): Promise<{ data: Float32Array; dims: readonly number[] }> {
  const session = await ort.InferenceSession.create(bytes);
  const result = await session.run({ [inputName]: new ort.Tensor('float32', x, [x.length / columns, columns]) }, [outputName]);
  const output = result[outputName] as ort.Tensor;
  return { data: output.data as Float32Array, dims: output.dims };
}

function maxAbsDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs((a[i] as number) - (b[i] as number)));
  return max;
}

describe('buildTreeEnsembleOnnx', () => {
  it('declares ir 8, opsets 17 and ai.onnx.ml 3, and float32 [batch, n] → [batch, 1] tensors', () => {
    const model = onnx.ModelProto.decode(buildTreeEnsembleOnnx(params));
    expect(Number(model.irVersion)).toBe(8);
    expect(model.opsetImport.map((o) => [o.domain ?? '', Number(o.version)])).toEqual([
      ['', 17],
      ['ai.onnx.ml', 3],
    ]);
    const graph = model.graph;
    expect(graph?.node?.map((n) => [n.domain ?? '', n.opType])).toEqual([
      ['ai.onnx.ml', 'TreeEnsembleRegressor'],
      ['', 'Sigmoid'],
    ]);
    expect(graph?.input?.map((i) => i.name)).toEqual(['features']);
    expect(graph?.input?.[0]?.type?.tensorType?.shape?.dim?.map((d) => d.dimParam || Number(d.dimValue))).toEqual(['batch', 2]);
    expect(graph?.output?.map((o) => o.name)).toEqual(['probability']);
    expect(graph?.output?.[0]?.type?.tensorType?.elemType).toBe(onnx.TensorProto.DataType.FLOAT);
    expect(graph?.output?.[0]?.type?.tensorType?.shape?.dim?.map((d) => d.dimParam || Number(d.dimValue))).toEqual(['batch', 1]);
  });

  it('sends x <= threshold to the left child in onnxruntime, at and just above each threshold', async () => {
    const above = (v: number) => nextFloat32Up(v);
    const x = Float32Array.from([
      0.5, 0, // tree 0 left (at threshold), tree 1 left
      above(0.5), -1.25, // tree 0 right then left (at threshold), tree 1 left
      above(0.5), above(-1.25), // tree 0 right, right; tree 1 left
      -7, 3, // tree 0 left; tree 1 left (at threshold)
      -7, above(3), // tree 0 left; tree 1 right
    ]);
    const margins = [-0.5 - 0.25 + 0.125, -0.5 + 0.75 + 0.125, -0.5 + 1.5 + 0.125, -0.5 - 0.25 + 0.125, -0.5 - 0.25 - 2];
    const { data, dims } = await runOnnx(buildTreeEnsembleOnnx(params), x, 2);
    expect(dims).toEqual([5, 1]);
    margins.forEach((m, i) => expect(data[i]).toBeCloseTo(1 / (1 + Math.exp(-m)), 6));
  });

  it('is deterministic and validates its arguments', () => {
    expect(buildTreeEnsembleOnnx(params)).toEqual(buildTreeEnsembleOnnx(params));
    const tree = params.trees[0] as TreeEnsembleOnnxParams['trees'][number];
    expect(() => buildTreeEnsembleOnnx({ ...params, trees: [] })).toThrow(/at least one tree/);
    expect(() => buildTreeEnsembleOnnx({ ...params, columns: 1 })).toThrow(/feature 1 is not a column/);
    expect(() => buildTreeEnsembleOnnx({ ...params, trees: [{ nodes: [{ ...tree.nodes[0], left: 0 } as never, ...tree.nodes.slice(1)] }] })).toThrow(
      /child 0 must be a later node/,
    );
    expect(() => buildTreeEnsembleOnnx({ ...params, outputName: 'margin' })).toThrow(/reserved/);
    expect(() => buildTreeEnsembleOnnx({ ...params, baseScore: Number.NaN })).toThrow(/baseScore/);
  });
});

describe('a gradient-boosted model trained on the credit data, exported to ONNX', () => {
  let model: GradientBoostingModel;
  let holdout: Float32Array;
  let columns: number;
  let bytes: Uint8Array;

  beforeAll(() => {
    // The trainer's steps, kept here so the test can reach the trees themselves.
    const table = toLabelledTable(parseCsv(creditCsv), 'Status', 'bad');
    const split = stratifiedSplit(table.labels, 0.25, 42);
    const trainRows = split.train.map((i) => table.rows[i] as (typeof table.rows)[number]);
    const { preprocessing } = fitPreprocessing(table.features, trainRows);
    columns = preprocessing.columns;
    const labels = Uint8Array.from(split.train, (i) => table.labels[i] as number);
    model = fitGradientBoosting(encodeRows(preprocessing, trainRows), labels, trainRows.length, columns);
    holdout = encodeRows(
      preprocessing,
      split.holdout.map((i) => table.rows[i] as (typeof table.rows)[number]),
    );
    bytes = buildTreeEnsembleOnnx({ columns, trees: model.trees, baseScore: model.baseScore, inputName: 'features', outputName: 'probability' });
  });

  it('matches the TypeScript probabilities on the holdout to 1e-5', async () => {
    const rows = holdout.length / columns;
    const { data, dims } = await runOnnx(bytes, holdout, columns);
    expect(dims).toEqual([rows, 1]);
    expect(maxAbsDifference(data, predictGradientBoosting(model, holdout, rows, columns))).toBeLessThan(1e-5);
  });

  it('matches them on rows exactly at, and just above, every split threshold', async () => {
    // For each split node, a holdout row with the split's column set to the threshold, and one just above it.
    const edgeRows: number[] = [];
    let r = 0;
    for (const tree of model.trees) {
      for (const node of tree.nodes) {
        if (node.kind !== 'split') continue;
        for (const value of [node.threshold, nextFloat32Up(node.threshold)]) {
          const row = Array.from(holdout.subarray(r * columns, (r + 1) * columns));
          row[node.feature] = value;
          edgeRows.push(...row);
          r = (r + 1) % (holdout.length / columns);
        }
      }
    }
    const x = Float32Array.from(edgeRows);
    const rows = x.length / columns;
    expect(rows).toBeGreaterThan(1000);
    const { data } = await runOnnx(bytes, x, columns);
    expect(maxAbsDifference(data, predictGradientBoosting(model, x, rows, columns))).toBeLessThan(1e-5);
  });

  it('is what trainGradientBoosting exports, and its probabilities match the holdout ones to 1e-5', async () => {
    const trained = trainGradientBoosting({ csv: creditCsv, target: 'Status', positiveLabel: 'bad', dataSha256: 'x' });
    expect(trained.onnx).toEqual(bytes);
    const { preprocessing } = trained.metadata;
    const x = encodeRows(preprocessing, trained.holdout.rows);
    const { data } = await runOnnx(trained.onnx, x, preprocessing.columns, preprocessing.input_name, preprocessing.output_name);
    expect(maxAbsDifference(data, trained.holdout.probabilities)).toBeLessThan(1e-5);
  });
});
