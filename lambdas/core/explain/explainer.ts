/**
 * Explains a version's predictions with SHAP values of its input features (the features the client sends, not the
 * encoded columns: a one-hot group and a scaled column belong to their feature), in the margin (log-odds) space,
 * against a background sample from the version's baseline profile.
 *
 * The method follows from the graph (onnx-reader.ts):
 * - `linear_exact`: φ_f = Σ_{c ∈ f} w_c (x_c − mean_background(z_c)), the interventional values in closed form;
 * - `tree_exact`: interventional Tree SHAP (tree-shap.ts), exact for the background;
 * - `sampling`: any other graph, by permutation sampling with a budget of model evaluations per instance (flagged
 *   approximate), or refused when the configuration says so.
 * In every method the values add up exactly to margin(x) − base, the base being the mean margin of the background.
 */
import type { ModelMetadata } from '#core/model/metadata.ts';
import { encodeRows } from '#core/model/encode.ts';
import { SeededRandom } from '#core/data/random.ts';
import type { Background, BackgroundSource } from './background.ts';
import { logit, marginOf } from './margin.ts';
import type { ExplainableGraph, LinearMargin, TreeMargin } from './onnx-reader.ts';
import { prepareTree, preparedTreeShap, TreeShapWorkspace, treeDepth } from './tree-shap.ts';

export type ExplainMethod = 'linear_exact' | 'tree_exact' | 'sampling';

/** What to do with a graph that has no exact method. */
export type ApproximationPolicy = { readonly kind: 'sampling'; readonly budget: number; readonly seed?: number } | { readonly kind: 'refuse' };

/** Scores encoded rows (row-major float32) into positive-class probabilities: the version's own session. */
export type RowScorer = (input: Float32Array, rows: number) => Promise<Float32Array>;

/** The graph has no exact method and sampling is off. */
export class ExplainNotSupportedError extends Error {}

export interface Explanations {
  /** The margin of each instance: base + Σ attributions. */
  readonly margins: Float64Array;
  /** The mean margin of the background. */
  readonly base: number;
  /** One array per instance, one value per feature of the input schema, in schema order. */
  readonly attributions: Float64Array[];
}

export interface Explainer {
  readonly method: ExplainMethod;
  readonly approximate: boolean;
  /** The players: the input schema's features, in order. */
  readonly features: readonly string[];
  readonly backgroundRows: number;
  readonly backgroundSource: BackgroundSource;
  /** Explains `rows` instances already encoded into `input` (row-major float32, the predict encoding). */
  explain(input: Float32Array, rows: number, scorer: RowScorer): Promise<Explanations>;
}

/** Maps each encoded column to the index of its feature in the input schema. */
export function columnPlayers(metadata: ModelMetadata): Int32Array {
  const index = new Map(metadata.input_schema.features.map((f, i) => [f.name, i]));
  const players = new Int32Array(metadata.preprocessing.columns);
  let column = 0;
  for (const encoding of metadata.preprocessing.encodings) {
    const player = index.get(encoding.feature);
    if (player === undefined) throw new Error(`encoding of "${encoding.feature}", which is not in the input schema`);
    const width = encoding.kind === 'numeric' ? 1 : encoding.categories.length;
    for (let k = 0; k < width; k++) players[column++] = player;
  }
  if (column !== metadata.preprocessing.columns) throw new Error(`the encodings produce ${column} columns, not ${metadata.preprocessing.columns}`);
  return players;
}

function toFloat64(input: Float32Array): Float64Array {
  return Float64Array.from(input);
}

export interface CreateExplainerOptions {
  readonly graph: ExplainableGraph;
  readonly metadata: ModelMetadata;
  readonly background: Background;
  readonly approximation: ApproximationPolicy;
}

/** @throws ExplainNotSupportedError when the graph is opaque and the policy refuses. */
export function createExplainer(options: CreateExplainerOptions): Explainer {
  const { graph, metadata, background } = options;
  const features = metadata.input_schema.features.map((f) => f.name);
  const columns = metadata.preprocessing.columns;
  const players = columnPlayers(metadata);
  // Encoded exactly as predict encodes, in float32, then widened: the model sees these values.
  const encodedBackground = toFloat64(encodeRows(metadata.preprocessing, background.rows));
  const backgroundRows = background.rows.length;
  const common = { features, backgroundRows, backgroundSource: background.source };
  if (graph.kind === 'linear') return { ...common, method: 'linear_exact', approximate: false, explain: linearExplainer(graph, encodedBackground, columns, players, features.length) };
  if (graph.kind === 'trees') return { ...common, method: 'tree_exact', approximate: false, explain: treeExplainer(graph, encodedBackground, columns, players, features.length) };
  if (options.approximation.kind === 'refuse') {
    throw new ExplainNotSupportedError(`the graph has no exact SHAP method (${graph.reason}) and sampling is off`);
  }
  return {
    ...common,
    method: 'sampling',
    approximate: true,
    explain: samplingExplainer(encodedBackground, columns, players, features.length, options.approximation.budget, options.approximation.seed ?? 1),
  };
}

function linearExplainer(graph: LinearMargin, background: Float64Array, columns: number, players: Int32Array, count: number): Explainer['explain'] {
  const rows = background.length / columns;
  const means = new Float64Array(columns);
  for (let r = 0; r < rows; r++) for (let c = 0; c < columns; c++) means[c] = (means[c] as number) + (background[r * columns + c] as number) / rows;
  const base = marginOf(graph, means);
  return async (input, instances) => {
    const margins = new Float64Array(instances);
    const attributions: Float64Array[] = [];
    for (let i = 0; i < instances; i++) {
      const phi = new Float64Array(count);
      for (let c = 0; c < columns; c++) {
        const p = players[c] as number;
        phi[p] = (phi[p] as number) + (graph.coefficients[c] as number) * ((input[i * columns + c] as number) - (means[c] as number));
      }
      margins[i] = marginOf(graph, input, i * columns);
      attributions.push(phi);
    }
    return { margins, base, attributions };
  };
}

function treeExplainer(graph: TreeMargin, background: Float64Array, columns: number, players: Int32Array, count: number): Explainer['explain'] {
  const rows = background.length / columns;
  let base = 0;
  for (let r = 0; r < rows; r++) base += marginOf(graph, background, r * columns) / rows;
  const depth = graph.trees.reduce((max, tree) => Math.max(max, treeDepth(tree)), 0);
  const workspace = new TreeShapWorkspace(count, depth);
  const prepared = graph.trees.map((tree) => prepareTree(tree, background, columns));
  return async (input, instances) => {
    const x = toFloat64(input);
    const margins = new Float64Array(instances);
    const attributions: Float64Array[] = [];
    for (let i = 0; i < instances; i++) {
      attributions.push(preparedTreeShap(prepared, x, i * columns, players, count, workspace));
      margins[i] = marginOf(graph, x, i * columns);
    }
    return { margins, base, attributions };
  };
}

/** Probabilities of exactly 0 or 1 (float32 saturation) are clamped so their log-odds stay finite. */
const CLAMP = 1e-7;
function clampedLogit(p: number): number {
  return logit(Math.min(1 - CLAMP, Math.max(CLAMP, p)));
}

/**
 * Permutation sampling (antithetic pairs): each sample takes a background row z and an order of the players, and
 * switches the players one by one from z's columns to x's, crediting each with the change of the margin. Every
 * sample's credits add up to margin(x) − margin(z) exactly, so the values add up to margin(x) − base exactly too,
 * whatever the budget; only their split between players is estimated.
 */
function samplingExplainer(
  background: Float64Array,
  columns: number,
  players: Int32Array,
  count: number,
  budget: number,
  seed: number,
): Explainer['explain'] {
  const rows = background.length / columns;
  // Each sample costs `count` evaluations (the starting row z plus one per switched player, x shared).
  const samples = Math.max(2, 2 * Math.floor(budget / (2 * (count + 1))));
  const columnsOf: number[][] = Array.from({ length: count }, () => []);
  players.forEach((p, c) => (columnsOf[p] as number[]).push(c));
  return async (input, instances, scorer) => {
    const margins = new Float64Array(instances);
    const attributions: Float64Array[] = [];
    let base = 0;
    for (let i = 0; i < instances; i++) {
      const random = new SeededRandom(seed);
      const perSample = count + 1;
      const hybrid = new Float32Array(samples * perSample * columns);
      const orders: number[][] = [];
      for (let s = 0; s < samples; s++) {
        const order = s % 2 === 0 ? random.shuffle(Array.from({ length: count }, (_, k) => k)) : [...(orders[s - 1] as number[])].reverse();
        orders.push(order);
        const z = (s % rows) * columns;
        const row = new Float32Array(columns);
        for (let c = 0; c < columns; c++) row[c] = background[z + c] as number;
        let at = s * perSample * columns;
        hybrid.set(row, at);
        for (const player of order) {
          for (const c of columnsOf[player] as number[]) row[c] = input[i * columns + c] as number;
          at += columns;
          hybrid.set(row, at);
        }
      }
      const scores = await scorer(hybrid, samples * perSample);
      const phi = new Float64Array(count);
      let zMean = 0;
      for (let s = 0; s < samples; s++) {
        const order = orders[s] as number[];
        let previous = clampedLogit(scores[s * perSample] as number);
        zMean += previous / samples;
        for (let k = 0; k < count; k++) {
          const current = clampedLogit(scores[s * perSample + k + 1] as number);
          const player = order[k] as number;
          phi[player] = (phi[player] as number) + (current - previous) / samples;
          previous = current;
        }
      }
      margins[i] = clampedLogit(scores[count] as number);
      base = zMean;
      attributions.push(phi);
    }
    return { margins, base, attributions };
  };
}

/** The explainer's answer for instance `i` checked: attributions + base must equal the margin within `tolerance`. */
export function additivityGap(explanations: Explanations, i: number): number {
  const phi = explanations.attributions[i] as Float64Array;
  let sum = explanations.base;
  for (const v of phi) sum += v;
  return Math.abs(sum - (explanations.margins[i] as number));
}

