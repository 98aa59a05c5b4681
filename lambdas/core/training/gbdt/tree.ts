/**
 * One regression tree of a gradient-boosted ensemble, grown on binned columns from the
 * gradients and hessians of the loss (second-order "Newton" boosting, as in XGBoost):
 *
 * - a node's best split maximises  gain = G_L²/(H_L+λ) + G_R²/(H_R+λ) − G²/(H+λ)
 *   over every column and bin boundary, where G and H sum the gradients and hessians of its rows;
 * - each child must keep a hessian sum of at least `minChildWeight`;
 * - a leaf predicts  −G/(H+λ)  (times the learning rate, applied by the caller).
 *
 * Nodes are stored in a flat array; node 0 is the root, and a split's children come after it.
 */
import type { BinnedMatrix, ColumnBins } from './binning.ts';

export interface SplitNode {
  readonly kind: 'split';
  /** The encoded column tested. */
  readonly feature: number;
  /** A float32 value: rows with `x[feature] <= threshold` go to `left`, the others to `right`. */
  readonly threshold: number;
  readonly left: number;
  readonly right: number;
}

export interface LeafNode {
  readonly kind: 'leaf';
  /** The tree's contribution to the margin (log-odds), a float32 value. */
  readonly value: number;
}

export type TreeNode = SplitNode | LeafNode;

export interface RegressionTree {
  readonly nodes: readonly TreeNode[];
}

export interface TreeGrowingOptions {
  readonly maxDepth: number;
  /** L2 penalty on leaf values (λ). */
  readonly lambda: number;
  /** Smallest hessian sum a child may have. */
  readonly minChildWeight: number;
  /** Smallest gain a split must bring (γ). */
  readonly minSplitGain: number;
  /** Multiplies every leaf value (shrinkage). */
  readonly learningRate: number;
}

interface BestSplit {
  readonly gain: number;
  readonly feature: number;
  /** Bins 0..bin go left. */
  readonly bin: number;
}

/** The margin contribution of `tree` for the row starting at `offset` of a row-major float32 matrix. */
export function predictTree(tree: RegressionTree, x: ArrayLike<number>, offset: number): number {
  let node = tree.nodes[0] as TreeNode;
  while (node.kind === 'split') {
    node = tree.nodes[(x[offset + node.feature] as number) <= node.threshold ? node.left : node.right] as TreeNode;
  }
  return node.value;
}

/**
 * Grows one tree on the rows listed in `rowIndexes` (the boosting round's sample) of the binned
 * training matrix, with per-row `gradients` and `hessians`.
 */
export function growTree(
  data: BinnedMatrix,
  bins: readonly ColumnBins[],
  rowIndexes: Uint32Array,
  gradients: Float64Array,
  hessians: Float64Array,
  options: TreeGrowingOptions,
): RegressionTree {
  const nodes: TreeNode[] = [];
  const histogram = new Histogram(data.columns, bins);

  /** Appends the subtree of `rows` at `depth` and returns its root's index. */
  const grow = (rows: Uint32Array, depth: number): number => {
    let gradientSum = 0;
    let hessianSum = 0;
    for (const r of rows) {
      gradientSum += gradients[r] as number;
      hessianSum += hessians[r] as number;
    }
    const index = nodes.length;
    const leaf: LeafNode = { kind: 'leaf', value: Math.fround((-gradientSum / (hessianSum + options.lambda)) * options.learningRate) };
    nodes.push(leaf);
    if (depth >= options.maxDepth) return index;

    histogram.build(data, rows, gradients, hessians);
    const best = histogram.bestSplit(gradientSum, hessianSum, options);
    if (best === null) return index;

    const { left, right } = partition(data, rows, best.feature, best.bin);
    const leftIndex = grow(left, depth + 1);
    const rightIndex = grow(right, depth + 1);
    const threshold = (bins[best.feature] as ColumnBins).thresholds[best.bin] as number;
    nodes[index] = { kind: 'split', feature: best.feature, threshold, left: leftIndex, right: rightIndex };
    return index;
  };

  grow(rowIndexes, 0);
  return { nodes };
}

/** Splits `rows` into those whose bin in `feature` is at most `bin` and the others, keeping their order. */
function partition(data: BinnedMatrix, rows: Uint32Array, feature: number, bin: number): { left: Uint32Array; right: Uint32Array } {
  let leftCount = 0;
  for (const r of rows) if ((data.bins[r * data.columns + feature] as number) <= bin) leftCount++;
  const left = new Uint32Array(leftCount);
  const right = new Uint32Array(rows.length - leftCount);
  let l = 0;
  let rr = 0;
  for (const r of rows) {
    if ((data.bins[r * data.columns + feature] as number) <= bin) left[l++] = r;
    else right[rr++] = r;
  }
  return { left, right };
}

/** Gradient and hessian sums per (column, bin) of one node's rows. */
class Histogram {
  /** Offset of each column's first bin in the flat arrays. */
  private readonly offsets: Uint32Array;
  private readonly gradients: Float64Array;
  private readonly hessians: Float64Array;
  private readonly binCounts: Uint32Array;

  constructor(columns: number, bins: readonly ColumnBins[]) {
    this.offsets = new Uint32Array(columns + 1);
    this.binCounts = new Uint32Array(columns);
    for (let c = 0; c < columns; c++) {
      const count = (bins[c] as ColumnBins).thresholds.length + 1;
      this.binCounts[c] = count;
      this.offsets[c + 1] = (this.offsets[c] as number) + count;
    }
    const size = this.offsets[columns] as number;
    this.gradients = new Float64Array(size);
    this.hessians = new Float64Array(size);
  }

  build(data: BinnedMatrix, rows: Uint32Array, gradients: Float64Array, hessians: Float64Array): void {
    this.gradients.fill(0);
    this.hessians.fill(0);
    const columns = data.columns;
    for (const r of rows) {
      const g = gradients[r] as number;
      const h = hessians[r] as number;
      const rowOffset = r * columns;
      for (let c = 0; c < columns; c++) {
        const slot = (this.offsets[c] as number) + (data.bins[rowOffset + c] as number);
        this.gradients[slot] = (this.gradients[slot] as number) + g;
        this.hessians[slot] = (this.hessians[slot] as number) + h;
      }
    }
  }

  /** The split of highest gain above `minSplitGain`; ties keep the first column and bin. */
  bestSplit(gradientSum: number, hessianSum: number, options: TreeGrowingOptions): BestSplit | null {
    const { lambda, minChildWeight, minSplitGain } = options;
    const parentScore = (gradientSum * gradientSum) / (hessianSum + lambda);
    let best: BestSplit | null = null;
    for (let c = 0; c < this.binCounts.length; c++) {
      const offset = this.offsets[c] as number;
      let leftGradient = 0;
      let leftHessian = 0;
      // Bins 0..b go left; the last bin can not be a boundary.
      for (let b = 0; b < (this.binCounts[c] as number) - 1; b++) {
        leftGradient += this.gradients[offset + b] as number;
        leftHessian += this.hessians[offset + b] as number;
        const rightGradient = gradientSum - leftGradient;
        const rightHessian = hessianSum - leftHessian;
        if (leftHessian < minChildWeight) continue;
        if (rightHessian < minChildWeight) break;
        const gain =
          (leftGradient * leftGradient) / (leftHessian + lambda) + (rightGradient * rightGradient) / (rightHessian + lambda) - parentScore;
        if (gain > minSplitGain && (best === null || gain > best.gain)) best = { gain, feature: c, bin: b };
      }
    }
    return best;
  }
}
