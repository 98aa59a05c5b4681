/**
 * Reads XGBoost's legacy binary model format, the one SageMaker's built-in XGBoost algorithm (1.x images) writes as
 * `xgboost-model` inside `model.tar.gz`: the container calls `booster.save_model(".../xgboost-model")`, and without a
 * `.json` extension XGBoost 1.x writes this format.
 *
 * The bytes are turned into the document the JSON model format would hold (`learner`, `gradient_booster`, trees with
 * `left_children`, `split_conditions`, …), so `parseXgboostModel` checks and converts both formats the same way.
 *
 * Layout (little-endian, XGBoost 1.x `Learner::SaveModel` to a binary stream):
 *
 *   "binf"
 *   LearnerModelParamLegacy, 136 bytes: base_score f32, num_feature u32, num_class i32, contain_extra_attrs i32,
 *     contain_eval_metrics i32, major_version u32, minor_version u32, num_target u32, boost_from_average i32, reserved
 *   objective name, gradient booster name: u64 length, then the bytes
 *   GBTreeModelParam, 160 bytes: num_trees i32, num_parallel_tree i32, num_feature i32, pad i32, num_pbuffer i64,
 *     num_output_group i32, size_leaf_vector i32, reserved
 *   per tree: TreeParam, 148 bytes (num_roots, num_nodes, num_deleted, max_depth, num_feature, size_leaf_vector,
 *     reserved, all i32); num_nodes nodes of 20 bytes (parent i32, left i32, right i32, split index u32 whose top bit
 *     is default-left, split condition or leaf value f32); num_nodes statistics of 16 bytes (not needed here)
 *   tree_info: num_trees i32; then attributes and metrics, not needed here
 */
import { parseXgboostModel, type XgboostModel, XgboostModelError } from './xgboost-model.ts';
import { asError } from '#core/errors.ts';

/** The first bytes of the format. */
export const XGBOOST_BINARY_MAGIC = 'binf';

const LEARNER_PARAM_BYTES = 136;
const GBTREE_PARAM_BYTES = 160;
const TREE_PARAM_BYTES = 148;
const NODE_BYTES = 20;
const NODE_STAT_BYTES = 16;
const DEFAULT_LEFT_BIT = 0x80000000;

/** True when `bytes` start with the legacy binary format's magic. */
export function isXgboostBinary(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && new TextDecoder().decode(bytes.subarray(0, 4)) === XGBOOST_BINARY_MAGIC;
}

class Reader {
  private offset = 0;
  private readonly view: DataView;

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  at(): number {
    return this.offset;
  }

  need(count: number, what: string): number {
    if (this.offset + count > this.bytes.length) {
      throw new XgboostModelError('(binary)', `xgboost binary model ends inside ${what} (byte ${this.offset} of ${this.bytes.length})`);
    }
    const start = this.offset;
    this.offset += count;
    return start;
  }

  i32(at: number): number {
    return this.view.getInt32(at, true);
  }

  u32(at: number): number {
    return this.view.getUint32(at, true);
  }

  f32(at: number): number {
    return this.view.getFloat32(at, true);
  }

  string(what: string): string {
    const at = this.need(8, `the length of ${what}`);
    const length = this.view.getBigUint64(at, true);
    if (length > BigInt(this.bytes.length)) throw new XgboostModelError('(binary)', `xgboost binary model ${what} has an impossible length ${length}`);
    const start = this.need(Number(length), what);
    return new TextDecoder().decode(this.bytes.subarray(start, start + Number(length)));
  }
}

/**
 * The JSON-model-format document of a legacy binary model (what `booster.save_model("model.json")` would have written,
 * as far as the converter reads it).
 * @throws XgboostModelError when the bytes are not the format or end early
 */
export function xgboostBinaryToDocument(bytes: Uint8Array): Record<string, unknown> {
  if (!isXgboostBinary(bytes)) throw new XgboostModelError('(binary)', 'xgboost binary model must start with "binf"');
  const reader = new Reader(bytes);
  reader.need(4, 'the magic');
  const learner = reader.need(LEARNER_PARAM_BYTES, 'the learner parameters');
  const baseScore = reader.f32(learner);
  const numFeature = reader.u32(learner + 4);
  const numClass = reader.i32(learner + 8);
  const major = reader.u32(learner + 20);
  const minor = reader.u32(learner + 24);
  const numTarget = reader.u32(learner + 28);
  const objective = reader.string('the objective name');
  const boosterName = reader.string('the booster name');
  if (boosterName !== 'gbtree') {
    throw new XgboostModelError('learner.gradient_booster.name', `xgboost model learner.gradient_booster.name must be "gbtree", got "${boosterName}" (dart and gblinear are not supported)`);
  }
  const gbtree = reader.need(GBTREE_PARAM_BYTES, 'the tree booster parameters');
  const numTrees = reader.i32(gbtree);
  if (numTrees < 0 || numTrees * TREE_PARAM_BYTES > bytes.length) {
    throw new XgboostModelError('learner.gradient_booster.model.gbtree_model_param.num_trees', `xgboost binary model has an impossible tree count ${numTrees}`);
  }
  const trees: Record<string, unknown>[] = [];
  for (let t = 0; t < numTrees; t++) {
    const param = reader.need(TREE_PARAM_BYTES, `tree ${t}'s parameters`);
    const numNodes = reader.i32(param + 4);
    const sizeLeafVector = reader.i32(param + 20);
    if (numNodes < 1 || numNodes * NODE_BYTES > bytes.length) {
      throw new XgboostModelError(`learner.gradient_booster.model.trees[${t}].tree_param.num_nodes`, `xgboost binary model tree ${t} has an impossible node count ${numNodes}`);
    }
    const left: number[] = [];
    const right: number[] = [];
    const index: number[] = [];
    const condition: number[] = [];
    const defaultLeft: number[] = [];
    const nodes = reader.need(numNodes * NODE_BYTES, `tree ${t}'s nodes`);
    for (let n = 0; n < numNodes; n++) {
      const at = nodes + n * NODE_BYTES;
      left.push(reader.i32(at + 4));
      right.push(reader.i32(at + 8));
      const splitIndex = reader.u32(at + 12);
      index.push(splitIndex & ~DEFAULT_LEFT_BIT);
      defaultLeft.push((splitIndex & DEFAULT_LEFT_BIT) === 0 ? 0 : 1);
      condition.push(reader.f32(at + 16));
    }
    reader.need(numNodes * NODE_STAT_BYTES, `tree ${t}'s node statistics`);
    trees.push({
      tree_param: { num_nodes: String(numNodes), num_feature: String(numFeature), size_leaf_vector: String(sizeLeafVector) },
      left_children: left,
      right_children: right,
      split_indices: index,
      split_conditions: condition,
      default_left: defaultLeft,
    });
  }
  return {
    version: [major, minor, 0],
    learner: {
      objective: { name: objective },
      learner_model_param: {
        base_score: String(baseScore),
        num_feature: String(numFeature),
        num_class: String(numClass),
        num_target: String(Math.max(1, numTarget)),
      },
      gradient_booster: { name: boosterName, model: { trees } },
    },
  };
}

/**
 * An XGBoost model file as bytes, in the JSON model format or the legacy binary one, checked by `parseXgboostModel`.
 * UBJSON (XGBoost 2 and later without a `.json` extension) is refused with what to do instead.
 * @throws XgboostModelError naming the problem
 */
export function parseXgboostModelBytes(bytes: Uint8Array): XgboostModel {
  if (isXgboostBinary(bytes)) return parseXgboostModel(xgboostBinaryToDocument(bytes));
  const text = new TextDecoder().decode(bytes.subarray(0, 64)).trimStart();
  if (text.startsWith('{"') || text.startsWith('{\n') || text.startsWith('{ ')) {
    let document: unknown;
    try {
      document = JSON.parse(new TextDecoder().decode(bytes));
    } catch (error) {
      throw new XgboostModelError('(root)', `xgboost model is not valid JSON: ${asError(error).message}`);
    }
    return parseXgboostModel(document);
  }
  throw new XgboostModelError(
    '(root)',
    'xgboost model is neither the JSON model format nor the legacy binary one ("binf"); UBJSON is not read: save the model with a .json name',
  );
}
