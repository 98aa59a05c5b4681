/**
 * Reads an XGBoost model in its JSON model format (`booster.save_model("model.json")`, XGBoost 1.0 and later) and
 * turns a binary logistic one into the platform's ONNX tree ensemble, so it is evaluated, served, explained and
 * monitored like the built-in trainers' models.
 *
 * What XGBoost computes for a row x, and what the graph reproduces:
 *
 *   margin = logit(base_score) + Σ over trees of the leaf x reaches
 *   probability = sigmoid(margin)
 *
 * - A split sends x left when `x[split_index] < split_condition` (strict), and a missing value (NaN) to its default
 *   direction (`default_left`): `BRANCH_LT` with `nodes_missing_value_tracks_true` in ONNX.
 * - A leaf's value is stored in `split_conditions` (the learning rate already applied).
 * - `learner_model_param.base_score` is in probability space in the JSON format of every version (1.x writes
 *   `"5E-1"`, 3.x may write `"[5E-1]"`); XGBoost turns it into a margin with the objective's `ProbToMargin`, the logit
 *   for `binary:logistic`. The legacy binary format (before 1.0) is not read: save the model as JSON.
 *
 * Refused with an `XgboostModelError` naming the field: other objectives, boosters other than `gbtree`, categorical
 * splits, multi-output trees, and structures that are not trees.
 */
import type { Preprocessing } from '#core/model/metadata.ts';
import { buildTreeEnsembleOnnx, type TreeEnsembleLeaf, type TreeEnsembleSplit, type TreeEnsembleTree } from './tree-ensemble-graph.ts';

/** The model file cannot be converted; `field` is the JSON path of the problem. */
export class XgboostModelError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'XgboostModelError';
  }
}

/** The parts of an XGBoost model the converter uses. */
export interface XgboostModel {
  /** XGBoost's version that wrote the file, e.g. [1, 7, 4]. */
  readonly version: readonly number[];
  readonly objective: string;
  /** `base_score` as written (probability space for `binary:logistic`). */
  readonly baseScore: number;
  /** The margin every row starts from: logit(baseScore). */
  readonly baseMargin: number;
  /** Input columns the trees index (`num_feature`). */
  readonly features: number;
  /** Column names, when the model was trained on a named frame. */
  readonly featureNames: readonly string[] | undefined;
  readonly trees: readonly TreeEnsembleTree[];
}

type Json = Readonly<Record<string, unknown>>;

function fail(field: string, problem: string): never {
  throw new XgboostModelError(field, `xgboost model ${field} ${problem}`);
}

function object(value: unknown, field: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(field, 'must be an object');
  return value as Json;
}

function array(value: unknown, field: string): readonly unknown[] {
  if (!Array.isArray(value)) fail(field, 'must be an array');
  return value;
}

/** XGBoost writes most scalars of the model as strings ("5E-1", "14"); 3.x wraps base_score in brackets. */
function numeric(value: unknown, field: string): number {
  let text = value;
  if (typeof text === 'string') {
    const trimmed = text.trim();
    const inner = trimmed.startsWith('[') && trimmed.endsWith(']') ? trimmed.slice(1, -1).split(',') : [trimmed];
    if (inner.length !== 1) fail(field, `must hold one value, got ${JSON.stringify(value)} (multi-output models are not supported)`);
    text = inner[0]?.trim() === '' ? Number.NaN : Number(inner[0]);
  }
  if (typeof text !== 'number' || !Number.isFinite(text)) fail(field, `must be a finite number, got ${JSON.stringify(value)}`);
  return text;
}

function numbers(value: unknown, field: string, length: number): number[] {
  const list = array(value, field);
  if (list.length !== length) fail(field, `must have ${length} entries (num_nodes), got ${list.length}`);
  return list.map((item, i) => numeric(item, `${field}[${i}]`));
}

function integers(value: unknown, field: string, length: number): number[] {
  const list = numbers(value, field, length);
  list.forEach((item, i) => {
    if (!Number.isInteger(item)) fail(`${field}[${i}]`, `must be an integer, got ${item}`);
  });
  return list;
}

/** `default_left` is 0/1 in JSON and booleans in UBJSON-derived documents. */
function flags(value: unknown, field: string, length: number): boolean[] {
  const list = array(value, field);
  if (list.length !== length) fail(field, `must have ${length} entries (num_nodes), got ${list.length}`);
  return list.map((item) => item === true || item === 1 || item === '1');
}

/**
 * One tree, renumbered depth-first from the root so that every child comes after its parent (what the graph builder
 * checks): XGBoost's own numbering usually has that order, but pruning can leave deleted nodes and gaps.
 */
function parseTree(raw: unknown, field: string, features: number): TreeEnsembleTree {
  const tree = object(raw, field);
  const param = object(tree['tree_param'], `${field}.tree_param`);
  const count = numeric(param['num_nodes'], `${field}.tree_param.num_nodes`);
  if (!Number.isInteger(count) || count < 1) fail(`${field}.tree_param.num_nodes`, `must be a positive integer, got ${count}`);
  const leafVector = param['size_leaf_vector'];
  if (leafVector !== undefined && numeric(leafVector, `${field}.tree_param.size_leaf_vector`) > 1) {
    fail(`${field}.tree_param.size_leaf_vector`, 'is above 1: multi-output trees are not supported');
  }
  const left = integers(tree['left_children'], `${field}.left_children`, count);
  const right = integers(tree['right_children'], `${field}.right_children`, count);
  const index = integers(tree['split_indices'], `${field}.split_indices`, count);
  const condition = numbers(tree['split_conditions'], `${field}.split_conditions`, count);
  const defaultLeft = flags(tree['default_left'], `${field}.default_left`, count);
  if (tree['split_type'] !== undefined) {
    integers(tree['split_type'], `${field}.split_type`, count).forEach((type, n) => {
      if (type !== 0 && left[n] !== -1) fail(`${field}.split_type[${n}]`, 'is a categorical split: one-hot encode categories instead (our metadata does)');
    });
  }

  const nodes: (TreeEnsembleSplit | TreeEnsembleLeaf)[] = [];
  const visiting = new Set<number>();
  const visit = (n: number): number => {
    if (!Number.isInteger(n) || n < 0 || n >= count) fail(`${field}`, `refers to node ${n}, outside [0, ${count})`);
    if (visiting.has(n)) fail(`${field}`, `reaches node ${n} twice: not a tree`);
    visiting.add(n);
    const at = nodes.length;
    if (left[n] === -1) {
      nodes.push({ kind: 'leaf', value: condition[n] as number });
      return at;
    }
    const feature = index[n] as number;
    if (feature < 0 || feature >= features) fail(`${field}.split_indices[${n}]`, `is ${feature}, outside the model's ${features} features`);
    // Reserve the slot, then fill it once the children have their new ids.
    nodes.push({ kind: 'leaf', value: 0 });
    const leftId = visit(left[n] as number);
    const rightId = visit(right[n] as number);
    nodes[at] = { kind: 'split', feature, threshold: condition[n] as number, left: leftId, right: rightId, missingGoesLeft: defaultLeft[n] === true };
    return at;
  };
  visit(0);
  return { nodes };
}

function logit(p: number): number {
  return Math.log(p / (1 - p));
}

/** Parses and checks an XGBoost JSON model (already `JSON.parse`d). Throws `XgboostModelError`. */
export function parseXgboostModel(raw: unknown): XgboostModel {
  const root = object(raw, '(root)');
  const version = array(root['version'] ?? [], 'version').map((v, i) => numeric(v, `version[${i}]`));
  if (version.length === 0 || (version[0] as number) < 1) {
    fail('version', 'is missing or before 1.0: only the JSON model format of XGBoost 1.0 and later is read');
  }
  const learner = object(root['learner'], 'learner');
  const objective = object(learner['objective'], 'learner.objective');
  const name = objective['name'];
  if (name !== 'binary:logistic') fail('learner.objective.name', `must be "binary:logistic", got ${JSON.stringify(name)}`);
  const params = object(learner['learner_model_param'], 'learner.learner_model_param');
  const classes = params['num_class'] === undefined ? 0 : numeric(params['num_class'], 'learner.learner_model_param.num_class');
  if (classes > 1) fail('learner.learner_model_param.num_class', `is ${classes}: only binary models are supported`);
  if (params['num_target'] !== undefined && numeric(params['num_target'], 'learner.learner_model_param.num_target') > 1) {
    fail('learner.learner_model_param.num_target', 'is above 1: only one target is supported');
  }
  const features = numeric(params['num_feature'], 'learner.learner_model_param.num_feature');
  if (!Number.isInteger(features) || features < 1) fail('learner.learner_model_param.num_feature', `must be a positive integer, got ${features}`);
  const baseScore = numeric(params['base_score'], 'learner.learner_model_param.base_score');
  if (!(baseScore > 0 && baseScore < 1)) {
    fail('learner.learner_model_param.base_score', `must be a probability in (0, 1) for binary:logistic, got ${baseScore}`);
  }

  const booster = object(learner['gradient_booster'], 'learner.gradient_booster');
  if (booster['name'] !== 'gbtree') {
    fail('learner.gradient_booster.name', `must be "gbtree", got ${JSON.stringify(booster['name'])} (dart and gblinear are not supported)`);
  }
  const model = object(booster['model'], 'learner.gradient_booster.model');
  const rawTrees = array(model['trees'], 'learner.gradient_booster.model.trees');
  if (rawTrees.length === 0) fail('learner.gradient_booster.model.trees', 'is empty: the model has no trees');
  const trees = rawTrees.map((tree, t) => parseTree(tree, `learner.gradient_booster.model.trees[${t}]`, features));

  const names = learner['feature_names'];
  const featureNames = Array.isArray(names) && names.length > 0 ? names.map(String) : undefined;
  if (featureNames !== undefined && featureNames.length !== features) {
    fail('learner.feature_names', `has ${featureNames.length} names for ${features} features`);
  }
  return { version, objective: name, baseScore, baseMargin: logit(baseScore), features, featureNames, trees };
}

/**
 * The ONNX artifact of an XGBoost model, fed by `preprocessing` (our metadata's encoding: its columns must be the
 * model's features, in order). A numeric encoding with `impute: null` leaves missing values as NaN, which the trees
 * route to their default directions, as XGBoost does.
 */
export function xgboostToOnnx(model: XgboostModel, preprocessing: Preprocessing): Uint8Array {
  if (preprocessing.columns !== model.features) {
    throw new XgboostModelError(
      'learner.learner_model_param.num_feature',
      `xgboost model has ${model.features} features but the metadata's preprocessing produces ${preprocessing.columns} columns`,
    );
  }
  return buildTreeEnsembleOnnx({
    columns: model.features,
    trees: model.trees,
    baseScore: model.baseMargin,
    inputName: preprocessing.input_name,
    outputName: preprocessing.output_name,
    splitTest: 'lt',
  });
}
