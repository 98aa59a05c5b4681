/**
 * The hyperparameters each trainer takes in a run's `parameters`: name, type and range, declared once. The pipeline's
 * first step (`normalizeRun`) refuses a run whose parameters break them, the drift job's retrain input keeps only the
 * lineage values that pass them, the `xgboost` config block takes its ranges from them, `mlops train --param` checks
 * them when the trainer is known, and the table in docs/pipeline.md is generated from them.
 *
 * The ranges are the trainers' own (`lambdas/core/training/`: `resolveGradientBoostingOptions`, `fitLogisticRegression`,
 * `outOfFoldScores`; test/contracts/hyperparameters.test.ts holds them to it). The `sagemaker` trainer runs the user's
 * image, whose hyperparameters are its own business: any name, any finite number.
 */

import { editDistance } from './suggest.ts';

/**
 * Which trainer a run uses: the built-in ones run in the pipeline Lambda, `sagemaker` runs a training job with the
 * user's image, `xgboost` runs SageMaker's built-in XGBoost algorithm (AWS's image) and converts its model to ONNX.
 * (Re-exported by `contracts/pipeline.ts`, whose config names them.)
 */
export const TRAINERS = ['logreg', 'gbdt', 'sagemaker', 'xgboost'] as const;
export type TrainerKind = (typeof TRAINERS)[number];

/** One hyperparameter: a number (or an integer) in a range. */
export interface Hyperparameter {
  readonly integer: boolean;
  /** Smallest accepted value (excluded with `minExclusive`). */
  readonly min: number;
  readonly minExclusive?: boolean;
  /** Largest accepted value, included. @default - any finite number */
  readonly max?: number;
  readonly description: string;
  /** The name the trained version's lineage records it under (`lineage.parameters`). */
  readonly recordedAs: string;
  /**
   * A run setting that sets this hyperparameter itself: a run may not give both (`class_weight` `balanced` sets
   * XGBoost's `scale_pos_weight`), and a retrain does not inherit the value the lineage records for it.
   */
  readonly derivedFrom?: 'class_weight';
}

/** The trainers whose hyperparameters are declared here (all but the user's image). */
export type DeclaredTrainer = Exclude<TrainerKind, 'sagemaker'>;

const thresholdFolds = (fallback: number): Hyperparameter => ({
  integer: true,
  min: 2,
  max: 10,
  description: `Folds of the cross-validation whose out-of-fold scores the decision threshold is chosen on (default ${fallback}).`,
  recordedAs: 'threshold_folds',
});

/** The trainers' hyperparameters by the name a run's `parameters` gives them. */
export const TRAINER_HYPERPARAMETERS: Readonly<Record<DeclaredTrainer, Readonly<Record<string, Hyperparameter>>>> = {
  logreg: {
    l2: { integer: false, min: 0, description: 'L2 penalty, 1 / C in scikit-learn terms (default 1).', recordedAs: 'l2' },
    maxIterations: { integer: true, min: 1, max: 100_000, description: 'Newton iterations at most (default 100).', recordedAs: 'max_iterations' },
    thresholdFolds: thresholdFolds(3),
  },
  gbdt: {
    trees: { integer: true, min: 1, description: 'Number of trees (default 200).', recordedAs: 'trees' },
    maxDepth: { integer: true, min: 1, max: 16, description: 'Depth of each tree (default 3).', recordedAs: 'max_depth' },
    learningRate: { integer: false, min: 0, minExclusive: true, max: 1, description: 'Shrinkage applied to every tree (default 0.05).', recordedAs: 'learning_rate' },
    lambda: { integer: false, min: 0, description: 'L2 penalty on leaf values (default 1).', recordedAs: 'lambda' },
    minChildWeight: { integer: false, min: 0, description: 'Smallest hessian sum of a leaf (default 20).', recordedAs: 'min_child_weight' },
    minSplitGain: { integer: false, min: 0, description: 'Smallest loss reduction of a split (default 0).', recordedAs: 'min_split_gain' },
    subsample: { integer: false, min: 0, minExclusive: true, max: 1, description: "Share of the training rows each tree sees, drawn with the run's seed (default 0.8).", recordedAs: 'subsample' },
    maxBins: { integer: true, min: 2, max: 256, description: 'Most quantile bins per encoded column (default 64).', recordedAs: 'max_bins' },
    thresholdFolds: thresholdFolds(2),
  },
  // XGBoost's own names; the defaults are `pipeline.xgboost.hyperparameters`, whose ranges are these.
  xgboost: {
    num_round: { integer: true, min: 1, max: 10_000, description: 'Boosting rounds.', recordedAs: 'num_round' },
    max_depth: { integer: true, min: 1, max: 20, description: 'Depth of each tree.', recordedAs: 'max_depth' },
    eta: { integer: false, min: 0, minExclusive: true, max: 1, description: 'Learning rate.', recordedAs: 'eta' },
    min_child_weight: { integer: false, min: 0, max: 1e6, description: 'Smallest hessian sum of a leaf.', recordedAs: 'min_child_weight' },
    subsample: { integer: false, min: 0, minExclusive: true, max: 1, description: 'Share of the rows each tree sees.', recordedAs: 'subsample' },
    colsample_bytree: { integer: false, min: 0, minExclusive: true, max: 1, description: 'Share of the columns each tree sees.', recordedAs: 'colsample_bytree' },
    lambda: { integer: false, min: 0, max: 1e6, description: 'L2 penalty on leaf weights.', recordedAs: 'lambda' },
    alpha: { integer: false, min: 0, max: 1e6, description: 'L1 penalty on leaf weights.', recordedAs: 'alpha' },
    gamma: { integer: false, min: 0, max: 1e6, description: 'Smallest loss reduction of a split.', recordedAs: 'gamma' },
    max_bin: { integer: true, min: 2, max: 1024, description: 'Most bins per feature (`hist`, `approx`).', recordedAs: 'max_bin' },
    early_stopping_rounds: { integer: true, min: 1, max: 1000, description: 'Rounds without a better validation AUC before training stops.', recordedAs: 'early_stopping_rounds' },
    scale_pos_weight: {
      integer: false,
      min: 0,
      minExclusive: true,
      max: 1e6,
      description: 'Weight of the positive class in the loss; not with `class_weight` `balanced`, which sets it to negatives / positives.',
      recordedAs: 'scale_pos_weight',
      derivedFrom: 'class_weight',
    },
  },
};

/**
 * Names a run might put in `parameters` that are settings of the run (or of the config) instead, and where they go:
 * the trainers never read them from `parameters`.
 */
const SETTINGS_ELSEWHERE: Readonly<Record<string, string>> = {
  seed: 'the run\'s "seeds"',
  seeds: 'the run\'s "seeds"',
  testFraction: 'the run\'s "test_fraction"',
  test_fraction: 'the run\'s "test_fraction"',
  classWeight: 'the run\'s "class_weight"',
  class_weight: 'the run\'s "class_weight"',
  threshold: 'the run\'s "decision_threshold"',
  thresholdPolicy: 'the run\'s "decision_threshold"',
  decisionThreshold: 'the run\'s "decision_threshold"',
  decision_threshold: 'the run\'s "decision_threshold"',
  missingTokens: 'the run\'s "missing_tokens"',
  missing_tokens: 'the run\'s "missing_tokens"',
  tree_method: 'pipeline.xgboost.hyperparameters.treeMethod in the config (a name, not a number)',
  treeMethod: 'pipeline.xgboost.hyperparameters.treeMethod in the config (a name, not a number)',
};

/** What a value must be: `an integer from 1 to 16`, `a number above 0 and at most 1`, `a finite number from 0 up`. */
export function rangeText(parameter: Hyperparameter): string {
  const kind = parameter.integer ? 'an integer' : parameter.max === undefined ? 'a finite number' : 'a number';
  if (parameter.max === undefined) return `${kind} ${parameter.minExclusive === true ? 'above' : 'from'} ${parameter.min}${parameter.minExclusive === true ? '' : ' up'}`;
  return parameter.minExclusive === true ? `${kind} above ${parameter.min} and at most ${parameter.max}` : `${kind} from ${parameter.min} to ${parameter.max}`;
}

/** Whether `value` is a value of `parameter`: a finite number (an integer when it says so) in its range. */
export function acceptsValue(parameter: Hyperparameter, value: unknown): value is number {
  if (typeof value !== 'number' || !Number.isFinite(value)) return false;
  if (parameter.integer && !Number.isInteger(value)) return false;
  if (parameter.minExclusive === true ? !(value > parameter.min) : !(value >= parameter.min)) return false;
  return parameter.max === undefined || value <= parameter.max;
}

/** The names a trainer takes, sorted; undefined for the user's image (any name). */
export function acceptedNames(trainer: TrainerKind): string[] | undefined {
  return trainer === 'sagemaker' ? undefined : Object.keys(TRAINER_HYPERPARAMETERS[trainer]).sort();
}

/** Lower case, no `_` or `-`: `max_iterations` and `MaxIterations` read as `maxiterations`. */
const folded = (name: string): string => name.toLowerCase().replace(/[_-]/g, '');

/**
 * The accepted name a misspelt one most likely meant: the same letters in another case or style (`max_iterations`,
 * `l2_`), or a few edits away (one per three letters of the name, two at most: `maxIteration`, not `C` for `l2`).
 */
function likelyMeant(name: string, accepted: readonly string[]): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const candidate of accepted) {
    const distance = editDistance(folded(name), folded(candidate));
    const allowed = Math.min(2, Math.floor(folded(candidate).length / 3));
    if (distance <= allowed && (best === undefined || distance < best.distance)) best = { name: candidate, distance };
  }
  return best?.name;
}

/** Why a run parameter is refused: the text after the field (`must be …`, `is not …`), and the names the trainer takes. */
export interface ParameterProblem {
  readonly message: string;
  /** The trainer's names; absent for the user's image. */
  readonly accepted?: readonly string[];
}

/**
 * What is wrong with the run parameter `name` = `value` for `trainer`, or undefined when the trainer takes it. The
 * user's image (`sagemaker`) takes any name with a finite number.
 */
export function parameterProblem(trainer: TrainerKind, name: string, value: unknown, runSettings: { readonly classWeight?: string } = {}): ParameterProblem | undefined {
  if (trainer === 'sagemaker') {
    return typeof value === 'number' && Number.isFinite(value) ? undefined : { message: `must be a finite number, got ${shown(value)}` };
  }
  const declared = TRAINER_HYPERPARAMETERS[trainer];
  const accepted = acceptedNames(trainer) ?? [];
  const takes = `it takes ${accepted.join(', ')}`;
  const parameter = Object.hasOwn(declared, name) ? declared[name] : undefined;
  if (parameter === undefined) {
    const elsewhere = Object.hasOwn(SETTINGS_ELSEWHERE, name) ? SETTINGS_ELSEWHERE[name] : undefined;
    if (elsewhere !== undefined) return { message: `is not a parameter of the ${trainer} trainer but a setting of its own: set ${elsewhere} instead (${takes})`, accepted };
    const meant = likelyMeant(name, accepted);
    return { message: `is not a parameter of the ${trainer} trainer${meant === undefined ? '' : `, did you mean "${meant}"?`} (${takes})`, accepted };
  }
  if (!acceptsValue(parameter, value)) return { message: `must be ${rangeText(parameter)}, got ${shown(value)}`, accepted };
  if (parameter.derivedFrom === 'class_weight' && runSettings.classWeight === 'balanced') {
    return { message: 'cannot be set with class_weight "balanced", which sets it to negatives / positives of the training rows', accepted };
  }
  return undefined;
}

function shown(value: unknown): string {
  if (typeof value === 'number') return String(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
