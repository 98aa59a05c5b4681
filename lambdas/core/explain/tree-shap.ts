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
 * Adds `scale` × the Shapley values of the pair game (x, z) of one tree to `phi` (one entry per player).
 * `x` and `z` are rows of encoded columns starting at `xOffset` and `zOffset`; `columnPlayer` maps a column to its player.
 */
export function addTreePairShap(
  tree: FlatTree,
  x: ArrayLike<number>,
  xOffset: number,
  z: ArrayLike<number>,
  zOffset: number,
  columnPlayer: Int32Array,
  workspace: TreeShapWorkspace,
  phi: Float64Array,
  scale: number,
): void {
  const { state, stack } = workspace;
  const walk = (n: number, inCount: number, outCount: number): void => {
    const feature = tree.feature[n] as number;
    if (feature < 0) {
      const total = inCount + outCount;
      if (total === 0) return; // reached by every coalition: part of the pair's constant
      const value = (tree.value[n] as number) * scale;
      if (value === 0) return;
      const inWeight = inCount > 0 ? value * leafWeight(inCount, outCount) : 0;
      const outWeight = outCount > 0 ? value * leafWeight(outCount, inCount) : 0;
      for (let k = 0; k < total; k++) {
        const player = stack[k] as number;
        if (state[player] === 1) phi[player] = (phi[player] as number) + inWeight;
        else phi[player] = (phi[player] as number) - outWeight;
      }
      return;
    }
    const xTrue = goesTrue(tree, n, x[xOffset + feature] as number);
    const zTrue = goesTrue(tree, n, z[zOffset + feature] as number);
    const yes = tree.trueChild[n] as number;
    const no = tree.falseChild[n] as number;
    if (xTrue === zTrue) {
      walk(xTrue ? yes : no, inCount, outCount);
      return;
    }
    const player = columnPlayer[feature] as number;
    const current = state[player] as number;
    if (current === 1) {
      walk(xTrue ? yes : no, inCount, outCount);
      return;
    }
    if (current === -1) {
      walk(zTrue ? yes : no, inCount, outCount);
      return;
    }
    const depth = inCount + outCount;
    stack[depth] = player;
    state[player] = 1;
    walk(xTrue ? yes : no, inCount + 1, outCount);
    state[player] = -1;
    walk(zTrue ? yes : no, inCount, outCount + 1);
    state[player] = 0;
  };
  walk(0, 0, 0);
}

/**
 * The interventional SHAP values of the row of `x` at `xOffset` against every row of `background` (row-major,
 * `columns` wide): one value per player, in the margin's units. Their sum is margin(x) − mean margin(background).
 */
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
  const phi = new Float64Array(players);
  const rows = background.length / columns;
  const scale = 1 / rows;
  for (let r = 0; r < rows; r++) {
    for (const tree of graph.trees) addTreePairShap(tree, x, xOffset, background, r * columns, columnPlayer, workspace, phi, scale);
  }
  return phi;
}
