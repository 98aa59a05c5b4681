/**
 * Reads an ONNX binary classifier graph into the form its SHAP values can be computed from exactly:
 *
 * - `linear`: the graph's output is Sigmoid(margin) and the margin is an affine function of the input columns
 *   (any chain of Sub, Add, Mul, Div by constants, MatMul and Gemm with constant weights, Identity, Cast, and the
 *   ai.onnx.ml Scaler and LinearRegressor). The built-in logistic regression is one: Sub(mean) → Div(std) → MatMul
 *   → Add → Sigmoid. The coefficients are folded in float64 from the graph's float32 constants.
 * - `trees`: the output is Sigmoid of an ai.onnx.ml TreeEnsembleRegressor on the input (post_transform NONE
 *   before the Sigmoid), one target, SUM or AVERAGE: the built-in gradient-boosted trees and imported ensembles
 *   converted to a regressor margin and a Sigmoid.
 * - `opaque`: anything else, with the reason; only sampling can explain it.
 *
 * Pure: the bytes in, plain arrays out; onnxruntime is not needed (nor allowed in the core).
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
type NodeProto = onnxProto.onnx.INodeProto;
type TensorProto = onnxProto.onnx.ITensorProto;
type AttributeProto = onnxProto.onnx.IAttributeProto;
type GraphProto = onnxProto.onnx.IGraphProto;

/** margin(x) = intercept + Σ_c coefficients[c] · x[c] over the input columns. */
export interface LinearMargin {
  readonly kind: 'linear';
  readonly coefficients: Float64Array;
  readonly intercept: number;
}

/** How a split compares `x[feature]` with its threshold; `true` goes to the true child. */
export type SplitMode = 'BRANCH_LEQ' | 'BRANCH_LT' | 'BRANCH_GTE' | 'BRANCH_GT' | 'BRANCH_EQ' | 'BRANCH_NEQ';

/** One tree, flattened: node i is a leaf when `feature[i] < 0`; node 0 is the root. */
export interface FlatTree {
  readonly feature: Int32Array;
  readonly threshold: Float64Array;
  /** Index into SPLIT_MODES. */
  readonly mode: Uint8Array;
  readonly trueChild: Int32Array;
  readonly falseChild: Int32Array;
  /** A missing (NaN) value goes to the true child. */
  readonly missingTrue: Uint8Array;
  /** The leaf's contribution to the margin (already scaled for AVERAGE). */
  readonly value: Float64Array;
}

/** margin(x) = base + Σ_t tree_t(x). */
export interface TreeMargin {
  readonly kind: 'trees';
  readonly base: number;
  readonly trees: readonly FlatTree[];
}

export interface OpaqueGraph {
  readonly kind: 'opaque';
  /** Why the graph is neither linear before its sigmoid nor a tree ensemble. */
  readonly reason: string;
}

export type ExplainableGraph = LinearMargin | TreeMargin | OpaqueGraph;

export const SPLIT_MODES: readonly SplitMode[] = ['BRANCH_LEQ', 'BRANCH_LT', 'BRANCH_GTE', 'BRANCH_GT', 'BRANCH_EQ', 'BRANCH_NEQ'];

/** Thrown (internally) when the graph is outside what can be read exactly; becomes an `opaque` answer. */
class NotExplainable extends Error {}

type LongLike = number | { toNumber(): number };
const num = (value: LongLike | null | undefined): number => (value === null || value === undefined ? 0 : typeof value === 'number' ? value : value.toNumber());
const utf8 = new TextDecoder();

/** `domain.OpType`, with the default domain ('' or 'ai.onnx') left out. */
function opName(node: NodeProto): string {
  const domain = node.domain ?? '';
  return domain === '' || domain === 'ai.onnx' ? (node.opType ?? '') : `${domain}.${node.opType ?? ''}`;
}

function attribute(node: NodeProto, name: string): AttributeProto | undefined {
  return (node.attribute ?? []).find((a) => a.name === name) ?? undefined;
}
function attrString(node: NodeProto, name: string, fallback: string): string {
  const a = attribute(node, name);
  return a?.s !== undefined && a.s !== null && a.s.length > 0 ? utf8.decode(a.s) : fallback;
}
function attrInts(node: NodeProto, name: string): number[] {
  return (attribute(node, name)?.ints ?? []).map((v) => num(v as LongLike));
}
function attrInt(node: NodeProto, name: string, fallback: number): number {
  const a = attribute(node, name);
  return a === undefined ? fallback : num(a.i as LongLike);
}
function attrFloat(node: NodeProto, name: string, fallback: number): number {
  const a = attribute(node, name);
  return a === undefined ? fallback : (a.f ?? fallback);
}
function attrFloats(node: NodeProto, name: string): number[] | undefined {
  const a = attribute(node, name);
  if (a === undefined) return undefined;
  if (a.t !== null && a.t !== undefined) return Array.from(tensorValues(a.t).values);
  return [...(a.floats ?? [])];
}
function attrStrings(node: NodeProto, name: string): string[] {
  return (attribute(node, name)?.strings ?? []).map((s) => utf8.decode(s));
}

/** A constant tensor's values in float64 with its dims (float, double and the integer types). */
function tensorValues(tensor: TensorProto): { dims: number[]; values: Float64Array } {
  const dims = (tensor.dims ?? []).map((d) => num(d as LongLike));
  const count = dims.reduce((a, b) => a * b, 1);
  const type = tensor.dataType ?? 0;
  const raw = tensor.rawData ?? new Uint8Array();
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const values = new Float64Array(count);
  const T = onnx.TensorProto.DataType;
  if (type === T.FLOAT) {
    if (raw.byteLength > 0) for (let i = 0; i < count; i++) values[i] = view.getFloat32(i * 4, true);
    else values.set((tensor.floatData ?? []).slice(0, count));
  } else if (type === T.DOUBLE) {
    if (raw.byteLength > 0) for (let i = 0; i < count; i++) values[i] = view.getFloat64(i * 8, true);
    else values.set((tensor.doubleData ?? []).slice(0, count));
  } else if (type === T.INT64) {
    if (raw.byteLength > 0) for (let i = 0; i < count; i++) values[i] = Number(view.getBigInt64(i * 8, true));
    else (tensor.int64Data ?? []).slice(0, count).forEach((v, i) => (values[i] = num(v as LongLike)));
  } else if (type === T.INT32) {
    if (raw.byteLength > 0) for (let i = 0; i < count; i++) values[i] = view.getInt32(i * 4, true);
    else values.set((tensor.int32Data ?? []).slice(0, count));
  } else {
    throw new NotExplainable(`constant "${tensor.name ?? ''}" has data type ${type}, which is not read`);
  }
  return { dims, values };
}

/** Per-row value of a tensor: `rows` outputs, each an affine function coefficients·x + offset of the input. */
interface Affine {
  readonly width: number;
  /** Row-major [width, columns]. */
  readonly coefficients: Float64Array;
  readonly offset: Float64Array;
}

interface Constant {
  readonly dims: number[];
  readonly values: Float64Array;
}

/** A constant broadcast along the last axis of a [batch, width] tensor: a scalar, [width], [1, width] or [1]. */
function broadcastRow(constant: Constant, width: number, what: string): Float64Array {
  const { dims, values } = constant;
  const leading = dims.slice(0, -1);
  if (leading.some((d) => d !== 1)) throw new NotExplainable(`${what}: a constant of shape [${dims.join(', ')}] does not broadcast per row`);
  if (values.length === 1) return new Float64Array(width).fill(values[0] as number);
  if (values.length === width) return values;
  throw new NotExplainable(`${what}: a constant of ${values.length} values does not broadcast over ${width} columns`);
}

class GraphReader {
  private readonly producers = new Map<string, NodeProto>();
  private readonly constants = new Map<string, Constant>();
  private readonly affine = new Map<string, Affine>();

  constructor(
    graph: GraphProto,
    private readonly inputName: string,
    private readonly columns: number,
  ) {
    for (const init of graph.initializer ?? []) if (init.name) this.constants.set(init.name, tensorValues(init));
    for (const node of graph.node ?? []) {
      for (const output of node.output ?? []) this.producers.set(output, node);
      if (node.opType === 'Constant') {
        const value = attribute(node, 'value')?.t;
        const out = node.output?.[0];
        if (value !== null && value !== undefined && out !== undefined) this.constants.set(out, tensorValues(value));
      }
    }
  }

  producer(name: string): NodeProto | undefined {
    return this.producers.get(name);
  }

  /** Follows Identity and float Casts back to the tensor they copy. */
  through(name: string): string {
    let current = name;
    for (;;) {
      const node = this.producers.get(current);
      if (node === undefined || !(node.opType === 'Identity' || node.opType === 'Cast')) return current;
      current = node.input?.[0] ?? '';
    }
  }

  constant(name: string): Constant | undefined {
    return this.constants.get(name);
  }

  /** The tensor as an affine function of the input, or NotExplainable. */
  affineOf(name: string): Affine {
    const cached = this.affine.get(name);
    if (cached !== undefined) return cached;
    const result = this.computeAffine(name);
    this.affine.set(name, result);
    return result;
  }

  private computeAffine(name: string): Affine {
    const n = this.columns;
    if (name === this.inputName) {
      const coefficients = new Float64Array(n * n);
      for (let c = 0; c < n; c++) coefficients[c * n + c] = 1;
      return { width: n, coefficients, offset: new Float64Array(n) };
    }
    const node = this.producers.get(name);
    if (node === undefined) throw new NotExplainable(`tensor "${name}" is neither the input nor produced by a node`);
    const op = opName(node);
    const inputs = node.input ?? [];
    const arg = (i: number): string => inputs[i] ?? '';
    switch (op) {
      case 'Identity':
      case 'Cast':
        return this.affineOf(arg(0));
      case 'Add':
      case 'Sub':
      case 'Mul':
      case 'Div':
        return this.elementwise(op, arg(0), arg(1));
      case 'MatMul': {
        const weights = this.requireConstant(arg(1), op);
        return this.matmul(this.affineOf(arg(0)), weights, false, op);
      }
      case 'Gemm': {
        if (attrInt(node, 'transA', 0) !== 0) throw new NotExplainable('Gemm with transA is not read');
        const alpha = attrFloat(node, 'alpha', 1);
        const beta = attrFloat(node, 'beta', 1);
        let out = this.matmul(this.affineOf(arg(0)), this.requireConstant(arg(1), op), attrInt(node, 'transB', 0) !== 0, op);
        out = scaleAffine(out, alpha);
        if (arg(2) !== '') {
          const bias = broadcastRow(this.requireConstant(arg(2), op), out.width, op);
          out = { ...out, offset: out.offset.map((v, i) => v + beta * (bias[i] as number)) };
        }
        return out;
      }
      case 'ai.onnx.ml.Scaler': {
        const input = this.affineOf(arg(0));
        const offset = broadcastRow({ dims: [], values: Float64Array.from(attrFloats(node, 'offset') ?? [0]) }, input.width, op);
        const scale = broadcastRow({ dims: [], values: Float64Array.from(attrFloats(node, 'scale') ?? [1]) }, input.width, op);
        const shifted = addRow(input, offset.map((v) => -v));
        return mulRow(shifted, scale);
      }
      case 'ai.onnx.ml.LinearRegressor': {
        if (attrString(node, 'post_transform', 'NONE') !== 'NONE') throw new NotExplainable('LinearRegressor with a post_transform is not read');
        if (attrInt(node, 'targets', 1) !== 1) throw new NotExplainable('LinearRegressor with more than one target is not read');
        const input = this.affineOf(arg(0));
        const coefficients = Float64Array.from(attrFloats(node, 'coefficients') ?? []);
        const intercepts = attrFloats(node, 'intercepts') ?? [0];
        if (coefficients.length !== input.width) throw new NotExplainable(`LinearRegressor has ${coefficients.length} coefficients for ${input.width} inputs`);
        const out = this.matmul(input, { dims: [input.width, 1], values: coefficients }, false, op);
        return addRow(out, Float64Array.of(intercepts[0] ?? 0));
      }
      default:
        throw new NotExplainable(`node "${node.name ?? ''}" (${op}) is not a linear operator`);
    }
  }

  private requireConstant(name: string, op: string): Constant {
    const constant = this.constants.get(this.through(name));
    if (constant === undefined) throw new NotExplainable(`${op}: "${name}" is not a constant`);
    return constant;
  }

  private elementwise(op: string, left: string, right: string): Affine {
    const leftConst = this.constants.get(this.through(left));
    const rightConst = this.constants.get(this.through(right));
    if (leftConst === undefined && rightConst === undefined) {
      if (op !== 'Add' && op !== 'Sub') throw new NotExplainable(`${op} of two inputs is not linear`);
      const a = this.affineOf(left);
      const b = this.affineOf(right);
      if (a.width !== b.width) throw new NotExplainable(`${op} of widths ${a.width} and ${b.width}`);
      const sign = op === 'Add' ? 1 : -1;
      return {
        width: a.width,
        coefficients: a.coefficients.map((v, i) => v + sign * (b.coefficients[i] as number)),
        offset: a.offset.map((v, i) => v + sign * (b.offset[i] as number)),
      };
    }
    if (leftConst !== undefined && rightConst !== undefined) throw new NotExplainable(`${op} of two constants is not read`);
    const variable = this.affineOf(leftConst === undefined ? left : right);
    const row = broadcastRow((leftConst ?? rightConst) as Constant, variable.width, op);
    const constantFirst = leftConst !== undefined;
    switch (op) {
      case 'Add':
        return addRow(variable, row);
      case 'Sub':
        return constantFirst ? addRow(scaleAffine(variable, -1), row) : addRow(variable, row.map((v) => -v));
      case 'Mul':
        return mulRow(variable, row);
      default:
        if (constantFirst) throw new NotExplainable('Div of a constant by the input is not linear');
        return mulRow(variable, row.map((v) => 1 / v));
    }
  }

  private matmul(input: Affine, weights: Constant, transposed: boolean, op: string): Affine {
    if (weights.dims.length !== 2) throw new NotExplainable(`${op}: weights of rank ${weights.dims.length}`);
    const [d0, d1] = weights.dims as [number, number];
    const rows = transposed ? d1 : d0;
    const width = transposed ? d0 : d1;
    if (rows !== input.width) throw new NotExplainable(`${op}: weights of shape [${d0}, ${d1}] for ${input.width} inputs`);
    const n = this.columns;
    const coefficients = new Float64Array(width * n);
    const offset = new Float64Array(width);
    for (let o = 0; o < width; o++) {
      for (let k = 0; k < rows; k++) {
        const w = weights.values[transposed ? o * d1 + k : k * d1 + o] as number;
        if (w === 0) continue;
        offset[o] = (offset[o] as number) + w * (input.offset[k] as number);
        for (let c = 0; c < n; c++) coefficients[o * n + c] = (coefficients[o * n + c] as number) + w * (input.coefficients[k * n + c] as number);
      }
    }
    return { width, coefficients, offset };
  }
}

function scaleAffine(a: Affine, factor: number): Affine {
  return { width: a.width, coefficients: a.coefficients.map((v) => v * factor), offset: a.offset.map((v) => v * factor) };
}
function addRow(a: Affine, row: Float64Array): Affine {
  return { width: a.width, coefficients: a.coefficients, offset: a.offset.map((v, i) => v + (row[i] as number)) };
}
function mulRow(a: Affine, row: Float64Array): Affine {
  const n = a.coefficients.length / a.width;
  return {
    width: a.width,
    coefficients: a.coefficients.map((v, i) => v * (row[Math.floor(i / n)] as number)),
    offset: a.offset.map((v, i) => v * (row[i] as number)),
  };
}

/** Reads a TreeEnsembleRegressor node (one target) into flat trees; the margin before any post_transform. */
function readTreeEnsemble(node: NodeProto, columns: number): TreeMargin {
  if (attrInt(node, 'n_targets', 1) !== 1) throw new NotExplainable('TreeEnsembleRegressor with more than one target is not read');
  const aggregate = attrString(node, 'aggregate_function', 'SUM');
  if (aggregate !== 'SUM' && aggregate !== 'AVERAGE') throw new NotExplainable(`aggregate_function ${aggregate} is not additive`);
  const treeIds = attrInts(node, 'nodes_treeids');
  const nodeIds = attrInts(node, 'nodes_nodeids');
  const featureIds = attrInts(node, 'nodes_featureids');
  const modes = attrStrings(node, 'nodes_modes');
  const values = attrFloats(node, 'nodes_values') ?? attrFloats(node, 'nodes_values_as_tensor') ?? [];
  const trueIds = attrInts(node, 'nodes_truenodeids');
  const falseIds = attrInts(node, 'nodes_falsenodeids');
  const missing = attrInts(node, 'nodes_missing_value_tracks_true');
  const targetTrees = attrInts(node, 'target_treeids');
  const targetNodes = attrInts(node, 'target_nodeids');
  const targetIds = attrInts(node, 'target_ids');
  const weights = attrFloats(node, 'target_weights') ?? attrFloats(node, 'target_weights_as_tensor') ?? [];
  const base = (attrFloats(node, 'base_values') ?? attrFloats(node, 'base_values_as_tensor') ?? [0])[0] ?? 0;
  const count = treeIds.length;
  for (const [label, list] of [['nodes_nodeids', nodeIds], ['nodes_featureids', featureIds], ['nodes_modes', modes], ['nodes_values', values], ['nodes_truenodeids', trueIds], ['nodes_falsenodeids', falseIds]] as const) {
    if (list.length !== count) throw new NotExplainable(`${label} has ${list.length} entries for ${count} nodes`);
  }

  // Node ids are per tree; map (tree, node id) to a dense index per tree.
  const treeOrder = [...new Set(treeIds)];
  const treeIndex = new Map(treeOrder.map((t, i) => [t, i]));
  const perTree = treeOrder.map(() => new Map<number, number>());
  for (let i = 0; i < count; i++) {
    const slots = perTree[treeIndex.get(treeIds[i] as number) as number] as Map<number, number>;
    slots.set(nodeIds[i] as number, i);
  }
  const scale = aggregate === 'AVERAGE' ? 1 / treeOrder.length : 1;
  const leafValue = new Float64Array(count);
  for (let k = 0; k < targetTrees.length; k++) {
    if ((targetIds[k] ?? 0) !== 0) throw new NotExplainable('a leaf writes a target other than 0');
    const slot = perTree[treeIndex.get(targetTrees[k] as number) ?? -1]?.get(targetNodes[k] as number);
    if (slot === undefined) throw new NotExplainable(`target of tree ${targetTrees[k]} node ${targetNodes[k]} names no node`);
    leafValue[slot] = (leafValue[slot] as number) + (weights[k] ?? 0) * scale;
  }

  const trees: FlatTree[] = perTree.map((slots, t) => {
    const ids = [...slots.keys()].sort((a, b) => a - b);
    const local = new Map(ids.map((id, i) => [id, i]));
    const size = ids.length;
    const tree = {
      feature: new Int32Array(size).fill(-1),
      threshold: new Float64Array(size),
      mode: new Uint8Array(size),
      trueChild: new Int32Array(size),
      falseChild: new Int32Array(size),
      missingTrue: new Uint8Array(size),
      value: new Float64Array(size),
    };
    const rootId = ids[0] as number;
    if (rootId !== 0 && !slots.has(0)) throw new NotExplainable(`tree ${treeOrder[t]} has no node 0`);
    ids.forEach((id, i) => {
      const g = slots.get(id) as number;
      const mode = modes[g] as string;
      if (mode === 'LEAF') {
        tree.value[i] = leafValue[g] as number;
        return;
      }
      const m = SPLIT_MODES.indexOf(mode as SplitMode);
      if (m < 0) throw new NotExplainable(`split mode ${mode} is not read`);
      const feature = featureIds[g] as number;
      if (feature < 0 || feature >= columns) throw new NotExplainable(`a split on column ${feature} of ${columns}`);
      const yes = local.get(trueIds[g] as number);
      const no = local.get(falseIds[g] as number);
      if (yes === undefined || no === undefined || yes <= i || no <= i) {
        // Children after their parent (in node-id order) rules out cycles; every exporter we know numbers so.
        throw new NotExplainable(`tree ${treeOrder[t]} node ${id}: children must be later nodes`);
      }
      tree.feature[i] = feature;
      tree.threshold[i] = values[g] as number;
      tree.mode[i] = m;
      tree.trueChild[i] = yes;
      tree.falseChild[i] = no;
      tree.missingTrue[i] = (missing[g] ?? 0) !== 0 ? 1 : 0;
    });
    return tree;
  });
  return { kind: 'trees', base, trees };
}

/**
 * Reads `bytes` as a binary classifier whose `outputName` is the positive-class probability of the float input
 * `inputName` with `columns` columns. Throws only when the bytes are not an ONNX model; a graph that cannot be read
 * exactly is `opaque`.
 */
export function readExplainableGraph(bytes: Uint8Array, inputName: string, outputName: string, columns: number): ExplainableGraph {
  const model = onnx.ModelProto.decode(bytes);
  const graph = model.graph;
  if (graph === null || graph === undefined) return { kind: 'opaque', reason: 'the model has no graph' };
  const reader = new GraphReader(graph, inputName, columns);
  try {
    const output = reader.through(outputName);
    const last = reader.producer(output);
    if (last === undefined) throw new NotExplainable(`no node produces "${outputName}"`);
    const lastOp = opName(last);
    let margin: string;
    if (lastOp === 'Sigmoid') {
      margin = reader.through(last.input?.[0] ?? '');
    } else {
      // Not even a TreeEnsembleRegressor with post_transform LOGISTIC: onnxruntime returns its raw margin.
      throw new NotExplainable(`the output comes from ${lastOp}, not a Sigmoid`);
    }
    const marginNode = reader.producer(margin);
    const marginOp = marginNode === undefined ? '' : opName(marginNode);
    if (marginNode !== undefined && marginOp === 'ai.onnx.ml.TreeEnsembleRegressor') {
      if (attrString(marginNode, 'post_transform', 'NONE') !== 'NONE') throw new NotExplainable('a tree margin with a post_transform before the Sigmoid');
      return treesOn(reader, marginNode, inputName, columns);
    }
    const affine = reader.affineOf(margin);
    if (affine.width !== 1) throw new NotExplainable(`the margin has ${affine.width} values per row, not 1`);
    return { kind: 'linear', coefficients: Float64Array.from(affine.coefficients), intercept: affine.offset[0] as number };
  } catch (error) {
    if (error instanceof NotExplainable) return { kind: 'opaque', reason: error.message };
    throw error;
  }
}

function treesOn(reader: GraphReader, node: NodeProto, inputName: string, columns: number): TreeMargin {
  if (reader.through(node.input?.[0] ?? '') !== inputName) throw new NotExplainable('the tree ensemble does not read the input directly');
  return readTreeEnsemble(node, columns);
}
