/**
 * Interventional Tree SHAP, exact for a given background set, with players that own several columns.
 *
 * For an instance x and one background row z, the value of a coalition S of players is the margin of the hybrid
 * row that takes x's columns for the players in S and z's for the others. Walking a tree with both rows, a split
 * where x and z go the same way constrains nothing; where they part, the x branch needs the split's player in S and
 * the z branch needs it out of S (a player already constrained follows its side). A leaf reached with the players A
 * required in and B required out is reached exactly by the coalitions with A ⊆ S and B ∩ S = ∅, a game whose Shapley
 * values are, with a = |A| and b = |B|:
 *
 *   i ∈ A:  +value · (a − 1)! b! / (a + b)!        j ∈ B:  −value · a! (b − 1)! / (a + b)!
 *
 * Summing over leaves and trees gives the Shapley values of the pair's game (Shapley values are linear in the game),
 * and averaging over the background rows the values of the interventional game against the background. No node
 * covers are used, so the values are exact for trees trained anywhere. The tests check them against all 2^n
 * coalitions. Cost per pair and tree: the leaves reachable by some hybrid, at most 2^depth.
 */
import type { FlatTree, TreeMargin } from './onnx-reader.ts';
import { goesTrue } from './margin.ts';

const FACTORIALS: number[] = [1];
for (let k = 1; k <= 170; k++) FACTORIALS.push((FACTORIALS[k - 1] as number) * k);

function logFactorial(k: number): number {
  let sum = 0;
  for (let i = 2; i <= k; i++) sum += Math.log(i);
  return sum;
}

/** (a − 1)! b! / (a + b)!, the Shapley weight of one required-in player of a leaf with a in and b out. */
export function leafWeight(a: number, b: number): number {
  if (a + b <= 170) return ((FACTORIALS[a - 1] as number) * (FACTORIALS[b] as number)) / (FACTORIALS[a + b] as number);
  return Math.exp(logFactorial(a - 1) + logFactorial(b) - logFactorial(a + b));
}

/** Work space of one explainer; reused across pairs so the walk allocates nothing. */
export class TreeShapWorkspace {
  /** Per player: 0 free, 1 required in S (x side), −1 required out (z side). */
  readonly state: Int8Array;
  /** The constrained players, in the order they were constrained. */
  readonly stack: Int32Array;

  constructor(players: number, maxDepth: number) {
    this.state = new Int8Array(players);
    this.stack = new Int32Array(Math.max(1, maxDepth + 1));
  }
}

/** Depth of the deepest leaf (root depth 0). */
export function treeDepth(tree: FlatTree): number {
  const depth = new Int32Array(tree.feature.length);
  let max = 0;
  for (let n = 0; n < tree.feature.length; n++) {
    const d = depth[n] as number;
    if (d > max) max = d;
    if ((tree.feature[n] as number) >= 0) {
      depth[tree.trueChild[n] as number] = d + 1;
      depth[tree.falseChild[n] as number] = d + 1;
    }
  }
  return max;
}

/**
 * A tree with the background's decisions precomputed: background rows that take the same branch at every split of the
 * tree play the same pair game against any instance, so each distinct decision pattern is walked once, weighted by its
 * share of the background.
 */
export interface PreparedTree {
  readonly tree: FlatTree;
  /** One decision vector per distinct pattern: 1 where the row goes to the true child (leaves 0). */
  readonly patterns: readonly Uint8Array[];
  /** Each pattern's share of the background rows. */
  readonly weights: Float64Array;
  /** The instance's decisions, filled per instance. */
  readonly xDecisions: Uint8Array;
}

/** Precomputes the background's decision patterns of `tree` (rows of `background`, `columns` wide). */
export function prepareTree(tree: FlatTree, background: Float64Array, columns: number): PreparedTree {
  const nodes = tree.feature.length;
  const rows = background.length / columns;
  const index = new Map<string, number>();
  const patterns: Uint8Array[] = [];
  const counts: number[] = [];
  for (let r = 0; r < rows; r++) {
    const decisions = new Uint8Array(nodes);
    for (let n = 0; n < nodes; n++) {
      const feature = tree.feature[n] as number;
      if (feature >= 0 && goesTrue(tree, n, background[r * columns + feature] as number)) decisions[n] = 1;
    }
    const key = decisions.join('');
    const found = index.get(key);
    if (found === undefined) {
      index.set(key, patterns.length);
      patterns.push(decisions);
      counts.push(1);
    } else {
      counts[found] = (counts[found] as number) + 1;
    }
  }
  return { tree, patterns, weights: Float64Array.from(counts, (c) => c / rows), xDecisions: new Uint8Array(nodes) };
}

/** Walks one pair game; fields instead of a closure so the hot loop allocates nothing. */
class PairWalk {
  tree!: FlatTree;
  x!: Uint8Array;
  z!: Uint8Array;
  scale = 0;

  constructor(
    private readonly columnPlayer: Int32Array,
    private readonly workspace: TreeShapWorkspace,
    private readonly phi: Float64Array,
  ) {}

  walk(n: number, inCount: number, outCount: number): void {
    const tree = this.tree;
    const feature = tree.feature[n] as number;
    if (feature < 0) {
      const total = inCount + outCount;
      if (total === 0) return; // reached by every coalition: part of the pair's constant
      const value = (tree.value[n] as number) * this.scale;
      if (value === 0) return;
      const inWeight = inCount > 0 ? value * leafWeight(inCount, outCount) : 0;
      const outWeight = outCount > 0 ? value * leafWeight(outCount, inCount) : 0;
      const { state, stack } = this.workspace;
      const phi = this.phi;
      for (let k = 0; k < total; k++) {
        const player = stack[k] as number;
        if (state[player] === 1) phi[player] = (phi[player] as number) + inWeight;
        else phi[player] = (phi[player] as number) - outWeight;
      }
      return;
    }
    const xTrue = this.x[n] === 1;
    const zTrue = this.z[n] === 1;
    const yes = tree.trueChild[n] as number;
    const no = tree.falseChild[n] as number;
    if (xTrue === zTrue) {
      this.walk(xTrue ? yes : no, inCount, outCount);
      return;
    }
    const { state, stack } = this.workspace;
    const player = this.columnPlayer[feature] as number;
    const current = state[player] as number;
    if (current === 1) {
      this.walk(xTrue ? yes : no, inCount, outCount);
      return;
    }
    if (current === -1) {
      this.walk(zTrue ? yes : no, inCount, outCount);
      return;
    }
    stack[inCount + outCount] = player;
    state[player] = 1;
    this.walk(xTrue ? yes : no, inCount + 1, outCount);
    state[player] = -1;
    this.walk(zTrue ? yes : no, inCount, outCount + 1);
    state[player] = 0;
  }
}

/**
 * The interventional SHAP values of the row of `x` at `xOffset` against the background the trees were prepared with:
 * one value per player, in the margin's units. Their sum is margin(x) − mean margin(background).
 */
export function preparedTreeShap(
  trees: readonly PreparedTree[],
  x: ArrayLike<number>,
  xOffset: number,
  columnPlayer: Int32Array,
  players: number,
  workspace: TreeShapWorkspace,
): Float64Array {
  const phi = new Float64Array(players);
  const walker = new PairWalk(columnPlayer, workspace, phi);
  for (const prepared of trees) {
    const { tree, xDecisions } = prepared;
    for (let n = 0; n < xDecisions.length; n++) {
      const feature = tree.feature[n] as number;
      xDecisions[n] = feature >= 0 && goesTrue(tree, n, x[xOffset + feature] as number) ? 1 : 0;
    }
    walker.tree = tree;
    walker.x = xDecisions;
    for (let p = 0; p < prepared.patterns.length; p++) {
      walker.z = prepared.patterns[p] as Uint8Array;
      walker.scale = prepared.weights[p] as number;
      walker.walk(0, 0, 0);
    }
  }
  return phi;
}

/** `preparedTreeShap` against `background` (row-major, `columns` wide), preparing the trees first. */
export function treeShap(
  graph: TreeMargin,
  x: ArrayLike<number>,
  xOffset: number,
  background: Float64Array,
  columns: number,
  columnPlayer: Int32Array,
  players: number,
  workspace: TreeShapWorkspace,
): Float64Array {
  const trees = graph.trees.map((tree) => prepareTree(tree, background, columns));
  return preparedTreeShap(trees, x, xOffset, columnPlayer, players, workspace);
}
