/**
 * The margin (log-odds) of a row under a linear or tree graph, in float64: what the exact SHAP values add up to,
 * and the value function the brute-force tests enumerate coalitions of.
 */
import type { FlatTree, LinearMargin, TreeMargin } from './onnx-reader.ts';

/** Whether `x` takes the true branch of split node `n` (ONNX TreeEnsemble semantics; NaN per missing_value_tracks_true). */
export function goesTrue(tree: FlatTree, n: number, x: number): boolean {
  if (Number.isNaN(x)) return tree.missingTrue[n] === 1;
  const t = tree.threshold[n] as number;
  switch (tree.mode[n]) {
    case 0:
      return x <= t;
    case 1:
      return x < t;
    case 2:
      return x >= t;
    case 3:
      return x > t;
    case 4:
      return x === t;
    default:
      return x !== t;
  }
}

/** The leaf value `row` reaches in `tree`; `offset` is where the row starts in `values`. */
export function treeValue(tree: FlatTree, values: ArrayLike<number>, offset: number): number {
  let n = 0;
  for (;;) {
    const feature = tree.feature[n] as number;
    if (feature < 0) return tree.value[n] as number;
    n = goesTrue(tree, n, values[offset + feature] as number) ? (tree.trueChild[n] as number) : (tree.falseChild[n] as number);
  }
}

/** The margin of the row starting at `offset` of `values` (row-major encoded columns). */
export function marginOf(graph: LinearMargin | TreeMargin, values: ArrayLike<number>, offset = 0): number {
  if (graph.kind === 'linear') {
    let sum = graph.intercept;
    const { coefficients } = graph;
    for (let c = 0; c < coefficients.length; c++) sum += (coefficients[c] as number) * (values[offset + c] as number);
    return sum;
  }
  let sum = graph.base;
  for (const tree of graph.trees) sum += treeValue(tree, values, offset);
  return sum;
}

/** log(p / (1 − p)). */
export function logit(p: number): number {
  return Math.log(p) - Math.log1p(-p);
}

/** 1 / (1 + e^(−z)). */
export function sigmoid(z: number): number {
  return 1 / (1 + Math.exp(-z));
}
