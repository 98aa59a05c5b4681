/**
 * Builds the ONNX artifact of a gradient-boosted tree ensemble for binary classification:
 *
 *   input [batch, columns] → ai.onnx.ml.TreeEnsembleRegressor (sum of leaf values + base score)
 *   → margin [batch, 1] → Sigmoid → output [batch, 1], the probability of the positive label.
 *
 * A regressor producing the margin, then a standard Sigmoid, rather than TreeEnsembleClassifier:
 * the classifier also emits a label tensor and, for a binary model, a two-column score, so the
 * graph would need extra nodes to reach the one float32 [batch, 1] output the serving path expects.
 *
 * Split semantics: by default every split node is `BRANCH_LEQ`, i.e. `x[feature] <= threshold` goes to
 * the "true" (left) child, the test the built-in trainer applies; `splitTest: 'lt'` makes them `BRANCH_LT`
 * (`x < threshold` goes left), XGBoost's test. A split may send missing values (NaN) left
 * (`missingGoesLeft`, XGBoost's default direction); otherwise NaN fails the test and goes right.
 * Thresholds and leaf values are float32 values already, so storing them as float attributes loses nothing. The bytes depend only on the
 * arguments, so the same model always serialises identically.
 */
import onnxProto from 'onnx-proto';
import { ONNX_IR_VERSION, ONNX_OPSET, ONNX_PRODUCER } from './logistic-regression-graph.ts';

const { onnx } = onnxProto;

/** Version of the ai.onnx.ml operator set the graph imports (TreeEnsembleRegressor-3). */
export const ONNX_ML_OPSET = 3;
const ML_DOMAIN = 'ai.onnx.ml';

/** A split: rows with `x[feature] <= threshold` go to node `left`, the others to node `right`. */
export interface TreeEnsembleSplit {
  readonly kind: 'split';
  readonly feature: number;
  readonly threshold: number;
  readonly left: number;
  readonly right: number;
  /** Whether a missing value (NaN) goes to `left`. @default false: NaN fails the test and goes right */
  readonly missingGoesLeft?: boolean;
}

/** A leaf adding `value` to the margin. */
export interface TreeEnsembleLeaf {
  readonly kind: 'leaf';
  readonly value: number;
}

/** One tree as a flat node array; node 0 is the root and children are referred to by index. */
export interface TreeEnsembleTree {
  readonly nodes: readonly (TreeEnsembleSplit | TreeEnsembleLeaf)[];
}

export interface TreeEnsembleOnnxParams {
  readonly columns: number;
  readonly trees: readonly TreeEnsembleTree[];
  /** The margin (log-odds) before any tree. */
  readonly baseScore: number;
  readonly inputName: string;
  readonly outputName: string;
  /** The test of every split: `leq` is `x <= threshold`, `lt` is `x < threshold`. @default 'leq' */
  readonly splitTest?: 'leq' | 'lt';
}

const INTERNAL_NAMES: readonly string[] = ['margin'];

const { AttributeType } = onnx.AttributeProto;
const utf8 = new TextEncoder();

const ints = (name: string, values: number[]) => onnx.AttributeProto.create({ name, type: AttributeType.INTS, ints: values });
const floats = (name: string, values: number[]) => onnx.AttributeProto.create({ name, type: AttributeType.FLOATS, floats: values });
const strings = (name: string, values: string[]) =>
  onnx.AttributeProto.create({ name, type: AttributeType.STRINGS, strings: values.map((v) => utf8.encode(v)) });
const int = (name: string, value: number) => onnx.AttributeProto.create({ name, type: AttributeType.INT, i: value });
const string = (name: string, value: string) => onnx.AttributeProto.create({ name, type: AttributeType.STRING, s: utf8.encode(value) });

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

function checkTree(tree: TreeEnsembleTree, t: number, columns: number): void {
  const { nodes } = tree;
  if (nodes.length === 0) throw new RangeError(`tree ${t} has no nodes`);
  nodes.forEach((node, n) => {
    if (node.kind === 'leaf') {
      if (!Number.isFinite(node.value)) throw new RangeError(`tree ${t} node ${n}: leaf value ${node.value} is not finite`);
      return;
    }
    if (!Number.isInteger(node.feature) || node.feature < 0 || node.feature >= columns) {
      throw new RangeError(`tree ${t} node ${n}: feature ${node.feature} is not a column in [0, ${columns})`);
    }
    if (!Number.isFinite(node.threshold)) throw new RangeError(`tree ${t} node ${n}: threshold ${node.threshold} is not finite`);
    for (const child of [node.left, node.right]) {
      if (!Number.isInteger(child) || child <= n || child >= nodes.length) {
        throw new RangeError(`tree ${t} node ${n}: child ${child} must be a later node of the tree`);
      }
    }
  });
}

export function buildTreeEnsembleOnnx(params: TreeEnsembleOnnxParams): Uint8Array {
  const { columns, trees, baseScore, inputName, outputName } = params;
  const splitMode = (params.splitTest ?? 'leq') === 'lt' ? 'BRANCH_LT' : 'BRANCH_LEQ';
  if (!Number.isInteger(columns) || columns < 1) throw new RangeError(`columns must be a positive integer, got ${columns}`);
  if (trees.length === 0) throw new RangeError('the ensemble needs at least one tree');
  if (!Number.isFinite(baseScore)) throw new RangeError(`baseScore must be finite, got ${baseScore}`);
  if (inputName === outputName) throw new RangeError('input and output names must differ');
  for (const name of [inputName, outputName]) {
    if (INTERNAL_NAMES.includes(name)) throw new RangeError(`"${name}" is reserved for an internal tensor of the graph`);
  }
  trees.forEach((tree, t) => checkTree(tree, t, columns));

  // One entry per node of every tree (nodes_*), and one per leaf (target_*).
  const nodeTreeIds: number[] = [];
  const nodeIds: number[] = [];
  const featureIds: number[] = [];
  const modes: string[] = [];
  const values: number[] = [];
  const trueIds: number[] = [];
  const falseIds: number[] = [];
  const missingTracksTrue: number[] = [];
  const targetTreeIds: number[] = [];
  const targetNodeIds: number[] = [];
  const targetWeights: number[] = [];
  trees.forEach((tree, t) => {
    tree.nodes.forEach((node, n) => {
      nodeTreeIds.push(t);
      nodeIds.push(n);
      if (node.kind === 'split') {
        featureIds.push(node.feature);
        modes.push(splitMode);
        values.push(node.threshold);
        trueIds.push(node.left);
        falseIds.push(node.right);
        missingTracksTrue.push(node.missingGoesLeft === true ? 1 : 0);
      } else {
        featureIds.push(0);
        modes.push('LEAF');
        values.push(0);
        trueIds.push(0);
        falseIds.push(0);
        missingTracksTrue.push(0);
        targetTreeIds.push(t);
        targetNodeIds.push(n);
        targetWeights.push(node.value);
      }
    });
  });

  const ensemble = onnx.NodeProto.create({
    opType: 'TreeEnsembleRegressor',
    domain: ML_DOMAIN,
    name: 'tree_ensemble',
    input: [inputName],
    output: ['margin'],
    attribute: [
      string('aggregate_function', 'SUM'),
      floats('base_values', [baseScore]),
      int('n_targets', 1),
      ints('nodes_falsenodeids', falseIds),
      ints('nodes_featureids', featureIds),
      // Only when some split routes NaN left, so the built-in trainer's artifacts keep their exact bytes.
      ...(missingTracksTrue.includes(1) ? [ints('nodes_missing_value_tracks_true', missingTracksTrue)] : []),
      strings('nodes_modes', modes),
      ints('nodes_nodeids', nodeIds),
      ints('nodes_treeids', nodeTreeIds),
      ints('nodes_truenodeids', trueIds),
      floats('nodes_values', values),
      string('post_transform', 'NONE'),
      ints('target_ids', targetTreeIds.map(() => 0)),
      ints('target_nodeids', targetNodeIds),
      ints('target_treeids', targetTreeIds),
      floats('target_weights', targetWeights),
    ],
  });
  const sigmoid = onnx.NodeProto.create({ opType: 'Sigmoid', input: ['margin'], output: [outputName], name: `sigmoid_${outputName}` });

  const graph = onnx.GraphProto.create({
    name: 'gradient_boosted_trees',
    input: [floatValueInfo(inputName, columns)],
    output: [floatValueInfo(outputName, 1)],
    node: [ensemble, sigmoid],
  });
  const model = onnx.ModelProto.create({
    irVersion: ONNX_IR_VERSION,
    opsetImport: [
      { domain: '', version: ONNX_OPSET },
      { domain: ML_DOMAIN, version: ONNX_ML_OPSET },
    ],
    producerName: ONNX_PRODUCER,
    producerVersion: '1.0.0',
    graph,
  });
  return onnx.ModelProto.encode(model).finish();
}
