import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { TRAINER_HYPERPARAMETERS } from '#contracts/hyperparameters.ts';
import { pipelineConfig } from '#contracts/pipeline.ts';
import { retrainTargetsOf } from '#contracts/drift.ts';
import { parseDriftJobSettings } from '#core/drift/job-settings.ts';
import { inheritedDecisionThreshold, inheritedParameters, retrainInput, type RetrainTarget } from '#core/drift/retrain-input.ts';
import type { ModelMetadata } from '#core/model/metadata.ts';
import { DEFAULT_PIPELINE_CONFIG, normalizeRun, type PipelineRun } from '#core/pipeline/run.ts';
import { trainGradientBoosting, trainLogisticRegression } from '#core/training/train-binary-classifier.ts';
import { xgboostHyperparameters } from '#core/training/xgboost-data.ts';

/**
 * The run input of a drift-triggered retrain: the candidate is made the way the production version was, unless the
 * model's own pipeline config says otherwise. The input's contract is `normalizeRun`, the pipeline's first step.
 */

const CSV = readFileSync(new URL('../../../examples/credit/credit_data.csv', import.meta.url), 'utf8');
const SHA = createHash('sha256').update(CSV).digest('hex');
const common = { csv: CSV, target: 'Status', positiveLabel: 'bad', dataSha256: SHA, seed: 7 };
/** A model the default pipeline config does not know: every setting comes from the run input or the defaults. */
const MODEL = 'loans';

/** The run the pipeline makes of a retrain input (throws as its first step would). */
const runOf = (input: unknown, config = DEFAULT_PIPELINE_CONFIG): PipelineRun => normalizeRun(input, config, new Date(0), () => 'id');

const withLineage = (base: ModelMetadata, lineage: Partial<ModelMetadata['lineage']>, output: Partial<ModelMetadata['output']> = {}): ModelMetadata => ({
  ...base,
  lineage: { ...base.lineage, ...lineage },
  output: { ...base.output, ...output },
});

let gbdt: ModelMetadata;
let logreg: ModelMetadata;

beforeAll(() => {
  // A gbdt champion made with settings other than every default: few shallow trees, balanced classes, a target recall.
  gbdt = trainGradientBoosting({
    ...common,
    trees: 8,
    maxDepth: 2,
    learningRate: 0.2,
    classWeight: 'balanced',
    thresholdPolicy: { policy: 'targetRecall', recall: 0.7 },
    missingTokens: ['NA', '-999'],
  }).metadata;
  logreg = trainLogisticRegression({ ...common, l2: 0.5, thresholdPolicy: { policy: 'cost', falsePositive: 1, falseNegative: 5 } }).metadata;
});

describe('retrainInput', () => {
  it('retrains a gbdt champion with gbdt, its hyperparameters, threshold policy, class weight and missing tokens', () => {
    const input = retrainInput(MODEL, gbdt, undefined, 'drift-1', 'critical drift');
    expect(input).toMatchObject({
      trainer: 'gbdt',
      parameters: { trees: 8, maxDepth: 2, learningRate: 0.2, thresholdFolds: 2 },
      decision_threshold: { policy: 'targetRecall', recall: 0.7 },
      class_weight: 'balanced',
      missing_tokens: ['NA', '-999'],
      reason: 'critical drift',
    });
    // Only the trainer's own options: not test_fraction (a run field of its own), nor the lineage's records of the policy.
    expect(Object.keys(input.parameters ?? {}).sort()).toEqual(['lambda', 'learningRate', 'maxBins', 'maxDepth', 'minChildWeight', 'minSplitGain', 'subsample', 'thresholdFolds', 'trees']);

    // The pipeline's first step takes it as it is, whatever the pipeline's default trainer.
    const run = runOf(input, pipelineConfig.parse({ defaults: { trainer: 'logreg', classWeight: 'none', decisionThreshold: { policy: 'maxF1' } } }));
    expect(run.trainer).toBe('gbdt');
    expect(run.decision_threshold).toEqual({ policy: 'targetRecall', recall: 0.7 });
    expect(run.class_weight).toBe('balanced');
    expect(run.missing_tokens).toEqual(['NA', '-999']);

    // And the trainer, given the run's settings as the Train step gives them, makes the candidate the same way.
    const retrained = trainGradientBoosting({
      ...common,
      testFraction: run.test_fraction,
      thresholdPolicy: run.decision_threshold,
      classWeight: run.class_weight,
      missingTokens: run.missing_tokens,
      ...run.parameters,
    }).metadata;
    expect(retrained.lineage.trainer).toBe(gbdt.lineage.trainer);
    expect(retrained.lineage.parameters).toEqual(gbdt.lineage.parameters);
  });

  it('keeps a logistic regression champion\'s penalty and cost policy', () => {
    const input = retrainInput(MODEL, logreg, undefined, 'drift-1', 'why');
    expect(input).toMatchObject({
      trainer: 'logreg',
      parameters: { l2: 0.5, maxIterations: 100, thresholdFolds: 3 },
      decision_threshold: { policy: 'cost', falsePositive: 1, falseNegative: 5 },
      class_weight: 'none',
    });
    const run = runOf(input);
    expect(run.trainer).toBe('logreg');
    expect(run.parameters).toEqual({ l2: 0.5, maxIterations: 100, thresholdFolds: 3 });
  });

  it('lets the model\'s own pipeline config win over the lineage, and sends no hyperparameters of another trainer', () => {
    const target: RetrainTarget = { trainer: 'logreg', decisionThreshold: { policy: 'fixed', threshold: 0.5 }, classWeight: 'none', missingTokens: ['?'] };
    const input = retrainInput(MODEL, gbdt, target, 'drift-1', 'why');
    expect(input).toMatchObject({ trainer: 'logreg', decision_threshold: { policy: 'fixed', threshold: 0.5 }, class_weight: 'none', missing_tokens: ['?'] });
    expect(input).not.toHaveProperty('parameters');
    expect(runOf(input).trainer).toBe('logreg');
    // The same trainer as the lineage's: its hyperparameters still come along.
    expect(retrainInput(MODEL, gbdt, { trainer: 'gbdt' }, 'drift-1', 'why').parameters).toMatchObject({ trees: 8 });
  });

  it('takes what the config gives the model through DRIFT_CONFIG, and nothing of the pipeline-wide defaults', () => {
    const config = pipelineConfig.parse({
      defaults: { trainer: 'logreg', classWeight: 'none' },
      models: { [MODEL]: { target: 'Status', positiveLabel: 'bad', trainer: 'gbdt', missingTokens: ['n/a'] } },
    });
    const settings = parseDriftJobSettings(JSON.stringify({ app: 'serverless-mlops', cooldownMinutes: 60, retrainOnCritical: true, retrainTargets: retrainTargetsOf(config.models) }));
    expect(settings.retrainTargets?.[MODEL]).toEqual({ target: 'Status', positiveLabel: 'bad', trainer: 'gbdt', missingTokens: ['n/a'] });
    const input = retrainInput(MODEL, logreg, settings.retrainTargets?.[MODEL], 'drift-1', 'why');
    // The model's trainer and tokens; the champion's class weight and policy (the defaults' do not override them).
    expect(input).toMatchObject({ trainer: 'gbdt', missing_tokens: ['n/a'], class_weight: 'none', decision_threshold: { policy: 'cost' } });
    expect(input).not.toHaveProperty('parameters');
    expect(runOf(input, config).trainer).toBe('gbdt');
  });

  it.each([
    ['a version registered by hand', 'hand-made'],
    ['a user image of the sagemaker trainer', 'my-sagemaker-image'],
  ])('leaves the trainer to the pipeline for %s, says so in the reason, and sends none of its parameters', (_, name) => {
    const metadata = withLineage(gbdt, { trainer: name });
    const input = retrainInput(MODEL, metadata, undefined, 'drift-1', 'critical drift');
    expect(input).not.toHaveProperty('trainer');
    expect(input).not.toHaveProperty('parameters');
    expect(input).not.toHaveProperty('class_weight');
    expect(input).not.toHaveProperty('missing_tokens');
    expect(input.reason).toBe(
      `critical drift; the production version's trainer "${name}" is not one the pipeline runs (logreg, gbdt, sagemaker, xgboost), so the run uses the pipeline's trainer for the model (set pipeline.models.${MODEL}.trainer to choose it)`,
    );
    // The threshold policy is the metadata's own field, not the unknown trainer's: it still comes along.
    expect(input.decision_threshold).toEqual({ policy: 'targetRecall', recall: 0.7 });
    expect(runOf(input).trainer).toBe(DEFAULT_PIPELINE_CONFIG.defaults.trainer);
    // With a trainer in the model's config, nothing is left to the pipeline and there is nothing to say.
    const chosen = retrainInput(MODEL, metadata, { trainer: 'sagemaker' }, 'drift-1', 'critical drift');
    expect(chosen).toMatchObject({ trainer: 'sagemaker', reason: 'critical drift' });
    expect(chosen).not.toHaveProperty('parameters');
  });

  it('reads a trainer named as the pipeline names it, and sends a sagemaker image none of its lineage parameters', () => {
    const input = retrainInput(MODEL, withLineage(gbdt, { trainer: 'sagemaker', parameters: { epochs: 10, class_weight: 'balanced' } }), undefined, 'd', 'why');
    expect(input).toMatchObject({ trainer: 'sagemaker', class_weight: 'balanced', reason: 'why' });
    expect(input).not.toHaveProperty('parameters');
    expect(retrainInput(MODEL, withLineage(gbdt, { trainer: 'gbdt' }), undefined, 'd', 'why').trainer).toBe('gbdt');
  });

  it('sends only the hyperparameters the trainer accepts, with values it accepts', () => {
    const parameters = {
      l2: -1, // refused by the trainer
      max_iterations: 50,
      threshold_folds: 1, // folds are 2 to 10
      test_fraction: 0.3,
      threshold_policy: 'maxF1',
      seed: 3,
      maxIterations: 7, // the run's name, not the lineage's
      shiny: 1,
      class_weight: 'heavy', // neither none nor balanced
      missing_tokens: '["", "NA"]', // an empty token: a run refuses it
    };
    const input = retrainInput(MODEL, withLineage(logreg, { parameters }), undefined, 'd', 'why');
    expect(input.parameters).toEqual({ maxIterations: 50 });
    expect(input).not.toHaveProperty('class_weight');
    expect(input).not.toHaveProperty('missing_tokens');
    expect(runOf(input).parameters).toEqual({ maxIterations: 50 });

    const trees = retrainInput(MODEL, withLineage(gbdt, { parameters: { trees: 4, max_depth: 40, subsample: 0, max_bins: '16', learning_rate: true } }), undefined, 'd', 'why');
    // max_depth is at most 16 and subsample above 0; a boolean is no number.
    expect(trees.parameters).toEqual({ trees: 4, maxBins: 16 });
  });

  it.each(['logreg', 'gbdt', 'xgboost'] as const)('keeps, of a %s lineage, exactly the values normalizeRun accepts: one declaration for both', (trainer) => {
    const declared = Object.entries(TRAINER_HYPERPARAMETERS[trainer]);
    const lineageName = { logreg: 'builtin-logreg', gbdt: 'builtin-gbdt', xgboost: 'sagemaker-xgboost' }[trainer];
    // Each value at the top of its range (or at its bottom when open above), then each just outside it.
    const inRange = Object.fromEntries(declared.map(([, p]) => [p.recordedAs, p.max ?? (p.minExclusive === true ? p.min + 1 : p.min)]));
    const input = retrainInput(MODEL, withLineage(gbdt, { trainer: lineageName, parameters: inRange }), undefined, 'd', 'why');
    const kept = Object.fromEntries(declared.filter(([, p]) => p.derivedFrom === undefined).map(([name, p]) => [name, inRange[p.recordedAs]]));
    expect(input.parameters).toEqual(kept);
    expect(runOf(input).parameters).toEqual(kept);

    const outside = Object.fromEntries(declared.map(([, p]) => [p.recordedAs, p.max === undefined ? p.min - 1 : p.max + 1]));
    expect(retrainInput(MODEL, withLineage(gbdt, { trainer: lineageName, parameters: outside }), undefined, 'd', 'why')).not.toHaveProperty('parameters');
    for (const [name] of declared) expect(() => runOf({ ...input, parameters: { [name]: outside[TRAINER_HYPERPARAMETERS[trainer][name]?.recordedAs ?? ''] } })).toThrow(`run field "parameters.${name}" must be `);
  });

  it('sends an xgboost champion\'s hyperparameters by XGBoost\'s names, as numbers the data step accepts', () => {
    // What the xgboost trainer records: the job's hyperparameters as strings, and the data step's own settings.
    const lineage = {
      trainer: 'sagemaker-xgboost',
      parameters: {
        objective: 'binary:logistic',
        eval_metric: 'auc',
        seed: '42',
        num_round: '250',
        max_depth: '4',
        eta: '0.1',
        min_child_weight: '1',
        subsample: '0.8',
        colsample_bytree: '1',
        lambda: '1',
        alpha: '0',
        gamma: '0',
        max_bin: '256',
        tree_method: 'hist',
        early_stopping_rounds: '20',
        scale_pos_weight: '3.2',
        validation_fraction: '0.2',
        instance_count: '1',
        missing_tokens: '["NA"]',
        class_weight: 'balanced',
      },
    };
    const input = retrainInput(MODEL, withLineage(gbdt, lineage), undefined, 'd', 'why');
    expect(input).toMatchObject({ trainer: 'xgboost', class_weight: 'balanced', missing_tokens: ['NA'] });
    expect(input.parameters).toEqual({
      num_round: 250,
      max_depth: 4,
      eta: 0.1,
      min_child_weight: 1,
      subsample: 0.8,
      colsample_bytree: 1,
      lambda: 1,
      alpha: 0,
      gamma: 0,
      max_bin: 256,
      early_stopping_rounds: 20,
    });
    const run = runOf(input);
    expect(run.trainer).toBe('xgboost');
    // The data step turns the run's parameters into the job's hyperparameters: it refuses none of them.
    const hyperparameters = xgboostHyperparameters({
      config: DEFAULT_PIPELINE_CONFIG.xgboost,
      seed: 1,
      classWeight: run.class_weight,
      labels: Uint8Array.from([0, 0, 0, 1]),
      overrides: run.parameters,
    });
    expect(hyperparameters).toMatchObject({ num_round: '250', eta: '0.1', early_stopping_rounds: '20', seed: '1', scale_pos_weight: '3', tree_method: 'hist' });
    // An xgboost version from before the lineage recorded the class weight: scale_pos_weight alone does not say.
    const older = withLineage(gbdt, { ...lineage, parameters: { ...lineage.parameters, class_weight: undefined as never } });
    expect(retrainInput(MODEL, older, undefined, 'd', 'why')).not.toHaveProperty('class_weight');
  });
});

describe('inheritedDecisionThreshold', () => {
  const output = (selection: { policy: string; parameters: Record<string, number> } | undefined, threshold = 0.42): ModelMetadata['output'] => ({
    positive_label: 'bad',
    negative_label: 'good',
    threshold,
    ...(selection === undefined ? {} : { threshold_selection: { ...selection, chosen_on: 'cross_validation', folds: 3, objective: 0.5 } }),
  });

  it.each([
    [{ policy: 'maxF1', parameters: {} }, { policy: 'maxF1' }],
    [{ policy: 'youden', parameters: {} }, { policy: 'youden' }],
    [{ policy: 'targetRecall', parameters: { recall: 0.8 } }, { policy: 'targetRecall', recall: 0.8 }],
    [{ policy: 'cost', parameters: { false_positive_cost: 2, false_negative_cost: 9 } }, { policy: 'cost', falsePositive: 2, falseNegative: 9 }],
    // A fixed policy's threshold is the version's threshold.
    [{ policy: 'fixed', parameters: {} }, { policy: 'fixed', threshold: 0.42 }],
  ])('reads %j as the run policy %j', (selection, policy) => {
    expect(inheritedDecisionThreshold(output(selection))).toEqual(policy);
  });

  it.each([
    ['no selection recorded (older metadata, external trainers)', undefined],
    ['an unknown policy', { policy: 'magic', parameters: {} }],
    ['a target recall without its recall', { policy: 'targetRecall', parameters: {} }],
    ['a target recall above 1', { policy: 'targetRecall', parameters: { recall: 2 } }],
    ['costs that are both 0', { policy: 'cost', parameters: { false_positive_cost: 0, false_negative_cost: 0 } }],
  ])('leaves the policy to the pipeline with %s', (_, selection) => {
    expect(inheritedDecisionThreshold(output(selection))).toBeUndefined();
  });

  it('leaves out a fixed threshold a run would refuse', () => {
    expect(inheritedDecisionThreshold(output({ policy: 'fixed', parameters: {} }, 1))).toBeUndefined();
  });
});

describe('retrainInput from a lineage the trainers did not write (hand-made or edited metadata)', () => {
  it('sends exactly the run input a logistic regression champion gives at the bounds its trainer accepts', () => {
    const champion: ModelMetadata = {
      ...withLineage(logreg, { parameters: { l2: 0, max_iterations: 100_000, threshold_folds: 10 } }),
      // No threshold selection recorded: the run's policy is left to the pipeline.
      output: { positive_label: 'bad', negative_label: 'good', threshold: 0.5 },
    };
    const input = retrainInput(MODEL, champion, undefined, 'drift-7', 'critical drift');
    expect(input).toStrictEqual({
      run_id: 'drift-7',
      model: MODEL,
      dataset: { key: `datasets/${MODEL}/${SHA}.csv` },
      target: 'Status',
      positive_label: 'bad',
      trainer: 'logreg',
      parameters: { l2: 0, maxIterations: 100_000, thresholdFolds: 10 },
      requested_by: 'drift',
      reason: 'critical drift',
    });
    expect(runOf(input).parameters).toEqual({ l2: 0, maxIterations: 100_000, thresholdFolds: 10 });

    // One past each bound: the trainer would refuse them, so none is sent.
    const beyond = retrainInput(MODEL, withLineage(logreg, { parameters: { l2: -0.001, max_iterations: 100_001, threshold_folds: 11 } }), undefined, 'd', 'why');
    expect(beyond).not.toHaveProperty('parameters');
  });

  it('sends no gradient-boosting option its trainer would refuse, each checked as the trainer checks it', () => {
    const refused = { trees: 0, learning_rate: 1.5, lambda: -1, min_child_weight: -0.5, min_split_gain: -2, max_bins: 257 };
    for (const [name, value] of Object.entries(refused)) {
      const input = retrainInput(MODEL, withLineage(gbdt, { parameters: { [name]: value, max_depth: 16, subsample: 1 } }), undefined, 'd', 'why');
      expect(input.parameters, name).toStrictEqual({ maxDepth: 16, subsample: 1 });
    }
    // And the accepted ones at their bounds.
    const accepted = retrainInput(MODEL, withLineage(gbdt, { parameters: { trees: 1, learning_rate: 1, lambda: 0, min_child_weight: 0, min_split_gain: 0, max_bins: 256 } }), undefined, 'd', 'why');
    expect(accepted.parameters).toStrictEqual({ trees: 1, learningRate: 1, lambda: 0, minChildWeight: 0, minSplitGain: 0, maxBins: 256 });
    // A value that is no number is left out, not sent as an empty option.
    expect(retrainInput(MODEL, withLineage(gbdt, { parameters: { trees: 'many' } }), undefined, 'd', 'why')).not.toHaveProperty('parameters');
  });

  it('reads no number from an empty or blank string, and sends no negative or tree_method value to xgboost', () => {
    const lineage = { trainer: 'sagemaker-xgboost', parameters: { alpha: '', gamma: '  ', eta: '-0.1', tree_method: '1', lambda: '2' } };
    const input = retrainInput(MODEL, withLineage(gbdt, lineage), undefined, 'd', 'why');
    expect(input.parameters).toStrictEqual({ lambda: 2 });
    // The data step takes the run's parameters: a tree_method among them would fail the run ("is a name").
    const run = runOf(input);
    expect(() =>
      xgboostHyperparameters({ config: DEFAULT_PIPELINE_CONFIG.xgboost, seed: 1, classWeight: 'none', labels: Uint8Array.from([0, 1]), overrides: run.parameters }),
    ).not.toThrow();
    expect(() =>
      xgboostHyperparameters({ config: DEFAULT_PIPELINE_CONFIG.xgboost, seed: 1, classWeight: 'none', labels: Uint8Array.from([0, 1]), overrides: { tree_method: 1 } }),
    ).toThrow('run parameter "tree_method" is a name');
  });

  it('sends a sagemaker image none of its lineage parameters, even those named as XGBoost names them', () => {
    const input = retrainInput(MODEL, withLineage(gbdt, { trainer: 'sagemaker', parameters: { eta: 0.3, max_depth: 4 } }), undefined, 'd', 'why');
    expect(input).toMatchObject({ trainer: 'sagemaker' });
    expect(input).not.toHaveProperty('parameters');
  });

  it.each(['constructor', 'toString', '__proto__'])('reads the trainer name %j as no trainer the pipeline runs', (name) => {
    const input = retrainInput(MODEL, withLineage(gbdt, { trainer: name }), undefined, 'drift-1', 'critical drift');
    expect(input).toStrictEqual({
      run_id: 'drift-1',
      model: MODEL,
      dataset: { key: `datasets/${MODEL}/${SHA}.csv` },
      target: 'Status',
      positive_label: 'bad',
      decision_threshold: { policy: 'targetRecall', recall: 0.7 },
      requested_by: 'drift',
      reason: `critical drift; the production version's trainer "${name}" is not one the pipeline runs (logreg, gbdt, sagemaker, xgboost), so the run uses the pipeline's trainer for the model (set pipeline.models.${MODEL}.trainer to choose it)`,
    });
  });

  it('sends no missing tokens the lineage records as something other than a JSON list', () => {
    for (const missing_tokens of ['NA', '{"NA": 1}', '[]x']) {
      const input = retrainInput(MODEL, withLineage(logreg, { parameters: { missing_tokens } }), undefined, 'd', 'why');
      expect(input, missing_tokens).not.toHaveProperty('missing_tokens');
    }
  });
});

describe('inheritedDecisionThreshold without an output', () => {
  it('leaves the policy to the pipeline', () => {
    expect(inheritedDecisionThreshold(undefined)).toBeUndefined();
  });
});

describe('inheritedParameters', () => {
  it.each(['logreg', 'gbdt', 'xgboost', 'sagemaker'] as const)('gives a %s run no parameters from a lineage that records none', (trainer) => {
    expect(inheritedParameters(trainer, undefined)).toStrictEqual({});
    expect(inheritedParameters(trainer, {})).toStrictEqual({});
  });

  it('gives a sagemaker run none of the values a declared trainer would take', () => {
    expect(inheritedParameters('sagemaker', { eta: 0.3, max_depth: 4, l2: 1, trees: 10 })).toStrictEqual({});
    expect(inheritedParameters('xgboost', { eta: 0.3, max_depth: 4, l2: 1, trees: 10 })).toStrictEqual({ eta: 0.3, max_depth: 4 });
  });
});
