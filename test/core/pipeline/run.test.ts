import { describe, expect, it } from 'vitest';
import { DEFAULT_MISSING_TOKENS } from '#contracts/missing-values.ts';
import { pipelineConfig } from '#contracts/pipeline.ts';
import { RequestValidationError } from '#core/errors.ts';
import { DEFAULT_PIPELINE_CONFIG, datasetKey, normalizeRun, parsePipelineConfig, parseRetrainPromotion } from '#core/pipeline/run.ts';

const config = pipelineConfig.parse({
  defaults: { missingTokens: ['NA', '-999'] },
  models: { plain: { target: 'y', positiveLabel: '1' }, own: { target: 'y', positiveLabel: '1', missingTokens: ['unknown'] } },
});
const now = new Date('2026-12-02T00:00:00Z');
const run = (input: Record<string, unknown>) => normalizeRun({ dataset: { key: 'datasets/x.csv' }, ...input }, config, now, () => 'id');

describe('normalizeRun: missing tokens', () => {
  it('takes the defaults, a model override, then the run input', () => {
    expect(run({ model: 'plain' }).missing_tokens).toEqual(['NA', '-999']);
    expect(run({ model: 'own' }).missing_tokens).toEqual(['unknown']);
    expect(run({ model: 'own', missing_tokens: [' n/a ', '?'] }).missing_tokens).toEqual(['n/a', '?']);
    expect(run({ model: 'new', target: 'y', positive_label: '1' }).missing_tokens).toEqual(['NA', '-999']);
  });

  it('has the contract default when the config does not set them', () => {
    const bare = normalizeRun({ model: 'm', target: 'y', positive_label: '1', dataset: { key: 'datasets/x.csv' } }, pipelineConfig.parse({}), now, () => 'id');
    expect(bare.missing_tokens).toEqual(DEFAULT_MISSING_TOKENS);
  });

  it.each([['NA'], [['']], [[1]], [Array.from({ length: 21 }, (_, i) => `t${i}`)], [['x'.repeat(21)]]])('refuses missing_tokens %j naming the field', (tokens) => {
    expect(() => run({ model: 'plain', missing_tokens: tokens })).toThrow(/missing_tokens.*must be an array of at most 20 non-empty strings/);
  });
});

describe('normalizeRun: a drift-requested run is held to drift.retrainPromotion', () => {
  // What anyone allowed to put events on the default bus could send as a RetrainRequested.
  const forged = { model: 'plain', requested_by: 'drift', approval_required: false, promotion_mode: 'production', canary_share: 0.9 };
  const withPolicy = (mode: 'production' | 'canary', approvalRequired: boolean) => ({ ...config, retrainPromotion: { mode, approvalRequired } });
  const drift = (input: Record<string, unknown>, policy = withPolicy('canary', true)) =>
    normalizeRun({ dataset: { key: 'datasets/x.csv' }, ...input }, policy, now, () => 'id');

  it('waits for approval and starts as a canary when the policy says so, whatever the input asks', () => {
    const run = drift(forged);
    expect(run.approval_required).toBe(true);
    expect(run.promotion).toEqual({ mode: 'canary', canary_share: config.defaults.promotion.canaryShare });
  });

  it('holds a drift run to the default policy (canary, approval) when the config has none', () => {
    const run = normalizeRun({ dataset: { key: 'datasets/x.csv' }, ...forged }, config, now, () => 'id');
    expect(run).toMatchObject({ approval_required: true, promotion: { mode: 'canary' }, requested_by: 'drift' });
  });

  it('lets the input make it stricter, never looser', () => {
    const open = withPolicy('production', false);
    expect(drift({ model: 'plain', requested_by: 'drift' }, open)).toMatchObject({ approval_required: false, promotion: { mode: 'production' } });
    expect(drift({ model: 'plain', requested_by: 'drift', approval_required: true, promotion_mode: 'canary', canary_share: 0.05 }, open)).toMatchObject({
      approval_required: true,
      promotion: { mode: 'canary', canary_share: 0.05 },
    });
    expect(drift(forged, withPolicy('production', true)).approval_required).toBe(true);
    expect(drift(forged, withPolicy('canary', false)).promotion.mode).toBe('canary');
  });

  it('leaves runs that are not drift runs (the CLI, StartExecution) to their input', () => {
    expect(drift({ ...forged, requested_by: 'alice' })).toMatchObject({ approval_required: false, promotion: { mode: 'production', canary_share: 0.9 } });
  });
});

describe('normalizeRun: fields, defaults and refusals', () => {
  const full = pipelineConfig.parse({
    defaults: { seeds: [1, 2], testFraction: 0.3, maxRegression: 0.01, maxSeedSpread: 0.05, approvalRequired: true, classWeight: 'balanced' },
    models: {
      credit: {
        target: 'Status',
        positiveLabel: 'bad',
        datasetKey: 'datasets/credit/default.csv',
        protectedAttribute: { feature: 'Age', kind: 'numeric_below', value: 25 },
        favorableOutcome: 'positive',
        promotion: { mode: 'canary', canaryShare: 0.25 },
        decisionThreshold: { policy: 'fixed', threshold: 0.4 },
        trainer: 'gbdt',
      },
    },
  });
  const normalize = (input: unknown) => normalizeRun(input, full, now, () => '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0');

  function refusal(input: unknown): { code: string; message: string; details: unknown } {
    try {
      normalize(input);
    } catch (error) {
      if (error instanceof RequestValidationError) return { code: error.code, message: error.message, details: error.details };
      throw error;
    }
    throw new Error('expected the run to be refused');
  }

  it('fills a minimal run of a configured model from its settings and the defaults', () => {
    expect(normalize({ model: 'credit' })).toEqual({
      run_id: '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0',
      training_job_prefix: 'credit-a5b4c3d2e1f0',
      model: 'credit',
      dataset: { key: 'datasets/credit/default.csv', sha256: null },
      target: 'Status',
      positive_label: 'bad',
      trainer: 'gbdt',
      seeds: [1, 2],
      test_fraction: 0.3,
      parameters: {},
      decision_threshold: { policy: 'fixed', threshold: 0.4 },
      class_weight: 'balanced',
      missing_tokens: full.defaults.missingTokens,
      thresholds: full.defaults.thresholds,
      max_regression: 0.01,
      max_seed_spread: 0.05,
      protected_attribute: { feature: 'Age', kind: 'numeric_below', value: 25 },
      favorable_outcome: 'positive',
      approval_required: true,
      promotion: { mode: 'canary', canary_share: 0.25 },
      requested_by: 'unknown',
      reason: '',
      started_at: '2026-12-02T00:00:00.000Z',
    });
  });

  it('takes every per-run field from the input over the config', () => {
    const run = normalize({
      model: 'credit',
      run_id: 'nightly-7',
      dataset: { key: 'datasets/credit/other.csv', sha256: 'ab'.repeat(32) },
      target: 'Label',
      positive_label: 'yes',
      trainer: 'logreg',
      seeds: [0, 2_147_483_647],
      test_fraction: 0.2,
      parameters: { l2: 0.5, maxIterations: 10 },
      decision_threshold: { policy: 'targetRecall', recall: 0.8 },
      class_weight: 'none',
      approval_required: false,
      promotion_mode: 'production',
      canary_share: 0.5,
      requested_by: 'alice',
      reason: 'new data',
      started_at: '2026-12-01T00:00:00Z',
    });
    expect(run).toMatchObject({
      run_id: 'nightly-7',
      training_job_prefix: 'credit-nightly7',
      dataset: { key: 'datasets/credit/other.csv', sha256: 'ab'.repeat(32) },
      target: 'Label',
      positive_label: 'yes',
      trainer: 'logreg',
      seeds: [0, 2_147_483_647],
      test_fraction: 0.2,
      parameters: { l2: 0.5, maxIterations: 10 },
      decision_threshold: { policy: 'targetRecall', recall: 0.8 },
      class_weight: 'none',
      approval_required: false,
      promotion: { mode: 'production', canary_share: 0.5 },
      requested_by: 'alice',
      reason: 'new data',
      started_at: '2026-12-01T00:00:00Z',
    });
  });

  it('reads null fields as absent', () => {
    const run = normalize({
      model: 'credit',
      dataset: null,
      seeds: null,
      parameters: null,
      approval_required: null,
      trainer: null,
      decision_threshold: null,
      reason: null,
      test_fraction: null,
      canary_share: null,
    });
    expect(run).toMatchObject({ test_fraction: 0.3, promotion: { canary_share: 0.25 } });
    expect(run).toMatchObject({ dataset: { key: 'datasets/credit/default.csv', sha256: null }, seeds: [1, 2], parameters: {}, approval_required: true, trainer: 'gbdt', reason: '' });
    expect(normalize({ model: 'credit', dataset: { key: 'datasets/x.csv', sha256: null } }).dataset).toEqual({ key: 'datasets/x.csv', sha256: null });
  });

  it('needs a target, a positive label and a dataset for a model without config', () => {
    expect(refusal({ model: 'fresh', positive_label: '1', dataset: { key: 'datasets/a.csv' } }).message).toBe('run field "target" is required for a model without config');
    expect(refusal({ model: 'fresh', target: 'y', dataset: { key: 'datasets/a.csv' } }).message).toBe('run field "positive_label" is required for a model without config');
    expect(refusal({ model: 'fresh', target: 'y', positive_label: '1' })).toEqual({
      code: 'INVALID_RUN',
      message: 'run field "dataset.key" is required (or set datasetKey for the model in the config)',
      details: { field: 'dataset.key' },
    });
    expect(normalize({ model: 'fresh', target: 'y', positive_label: '1', dataset: { key: 'datasets/a.csv' } })).toMatchObject({
      trainer: 'logreg',
      seeds: [1, 2],
      protected_attribute: null,
      promotion: { mode: 'production', canary_share: 0.1 },
    });
  });

  it.each([
    [[], '(input)', 'must be an object'],
    [null, '(input)', 'must be an object'],
    ['credit', '(input)', 'must be an object'],
    [{}, 'model', 'is required'],
    [{ model: '' }, 'model', 'must be a non-empty string, got ""'],
    [{ model: 7 }, 'model', 'must be a non-empty string, got 7'],
    [{ model: 'Credit' }, 'model', 'must match ^[a-z0-9][a-z0-9-_]{0,62}$, got "Credit"'],
    [{ model: 'credit', dataset: { key: 'models/x.onnx' } }, 'dataset.key', 'must start with datasets/, got "models/x.onnx"'],
    [{ model: 'credit', dataset: { key: 'a/datasets/x.csv' } }, 'dataset.key', 'must start with datasets/, got "a/datasets/x.csv"'],
    [{ model: 'credit', seeds: [] }, 'seeds', 'must be 1 to 10 integers'],
    [{ model: 'credit', seeds: 42 }, 'seeds', 'must be 1 to 10 integers'],
    [{ model: 'credit', seeds: Array.from({ length: 11 }, (_, i) => i) }, 'seeds', 'must be 1 to 10 integers'],
    [{ model: 'credit', seeds: [1.5] }, 'seeds', 'must be integers from 0 to 2147483647'],
    [{ model: 'credit', seeds: [-1] }, 'seeds', 'must be integers from 0 to 2147483647'],
    [{ model: 'credit', seeds: [2_147_483_648] }, 'seeds', 'must be integers from 0 to 2147483647'],
    [{ model: 'credit', seeds: ['1'] }, 'seeds', 'must be integers from 0 to 2147483647'],
    [{ model: 'credit', seeds: [1, -1] }, 'seeds', 'must be integers from 0 to 2147483647'],
    [{ model: 'credit', parameters: [1] }, 'parameters', 'must be an object of numbers'],
    [{ model: 'credit', parameters: 'l2=1' }, 'parameters', 'must be an object of numbers'],
    [{ model: 'credit', approval_required: 'yes' }, 'approval_required', 'must be a boolean'],
    [{ model: 'credit', promotion_mode: 'shadow' }, 'promotion_mode', 'must be production or canary'],
    [{ model: 'credit', canary_share: 0 }, 'canary_share', 'must be between 0 and 1, got 0'],
    [{ model: 'credit', canary_share: 1 }, 'canary_share', 'must be between 0 and 1, got 1'],
    [{ model: 'credit', canary_share: '0.5' }, 'canary_share', 'must be a finite number, got "0.5"'],
    [{ model: 'credit', test_fraction: Number.NaN }, 'test_fraction', 'must be a finite number, got null'],
    [{ model: 'credit', class_weight: 'auto' }, 'class_weight', 'must be none or balanced, got "auto"'],
    [{ model: 'credit', trainer: 'sklearn' }, 'trainer', 'must be one of logreg, gbdt, sagemaker, xgboost, got "sklearn"'],
    [{ model: 'credit', trainer: 3 }, 'trainer', 'must be one of logreg, gbdt, sagemaker, xgboost, got 3'],
    [{ model: 'credit', requested_by: '' }, 'requested_by', 'must be a non-empty string, got ""'],
    [{ model: 'credit', decision_threshold: 'maxF1' }, 'decision_threshold', 'must be an object with a policy, got "maxF1"'],
    [{ model: 'credit', decision_threshold: ['maxF1'] }, 'decision_threshold', 'must be an object with a policy, got ["maxF1"]'],
    [{ model: 'credit', decision_threshold: { policy: 'best' } }, 'decision_threshold.policy', 'must be one of maxF1, youden, targetRecall, cost, fixed, got "best"'],
    [{ model: 'credit', decision_threshold: { policy: 'targetRecall' } }, 'decision_threshold.recall', 'is required with policy targetRecall'],
    [{ model: 'credit', decision_threshold: { policy: 'cost', falsePositive: 1 } }, 'decision_threshold.falseNegative', 'is required with policy cost'],
    [{ model: 'credit', decision_threshold: { policy: 'cost', falseNegative: 1 } }, 'decision_threshold.falsePositive', 'is required with policy cost'],
    [{ model: 'credit', decision_threshold: { policy: 'fixed' } }, 'decision_threshold.threshold', 'is required with policy fixed'],
    [{ model: 'credit', decision_threshold: { policy: 'fixed', threshold: 1 } }, 'decision_threshold', 'fixed threshold must be in (0, 1), got 1'],
  ])('refuses %j naming the field', (input, field, message) => {
    expect(refusal(input)).toEqual({ code: 'INVALID_RUN', message: `run field "${field}" ${message}`, details: { field } });
  });

  it('accepts each threshold policy with its parameters, and no more than it needs', () => {
    const policy = (decision_threshold: unknown) => normalize({ model: 'credit', decision_threshold }).decision_threshold;
    expect(policy({ policy: 'maxF1', recall: 0.5 })).toEqual({ policy: 'maxF1' });
    expect(policy({ policy: 'youden' })).toEqual({ policy: 'youden' });
    expect(policy({ policy: 'cost', falsePositive: 1, falseNegative: 5, threshold: 0.3 })).toEqual({ policy: 'cost', falsePositive: 1, falseNegative: 5 });
    expect(policy({ policy: 'fixed', threshold: 0.3 })).toEqual({ policy: 'fixed', threshold: 0.3 });
  });

  it('accepts 10 seeds and the bounds of the canary share’s range just inside', () => {
    expect(normalize({ model: 'credit', seeds: Array.from({ length: 10 }, (_, i) => i) }).seeds).toHaveLength(10);
    expect(normalize({ model: 'credit', canary_share: 0.001 }).promotion.canary_share).toBe(0.001);
    expect(normalize({ model: 'credit', canary_share: 0.999 }).promotion.canary_share).toBe(0.999);
    expect(normalize({ model: 'credit', missing_tokens: Array.from({ length: 20 }, (_, i) => `t${i}`.padEnd(20, 'x')) }).missing_tokens).toHaveLength(20);
  });

  it('refuses a list of missing tokens with one bad token among good ones', () => {
    expect(refusal({ model: 'credit', missing_tokens: ['NA', ''] }).details).toEqual({ field: 'missing_tokens' });
  });

  it('refuses missing tokens that are blank once trimmed', () => {
    expect(refusal({ model: 'credit', missing_tokens: ['  '] }).message).toBe(
      'run field "missing_tokens" must be an array of at most 20 non-empty strings of at most 20 characters, got ["  "]',
    );
  });
});

describe('normalizeRun: trainer parameters', () => {
  const config = pipelineConfig.parse({ models: { credit: { target: 'Status', positiveLabel: 'bad', datasetKey: 'datasets/credit.csv' } } });
  const parametersOf = (trainer: string, parameters: unknown, extra: Record<string, unknown> = {}) =>
    normalizeRun({ model: 'credit', trainer, parameters, ...extra }, config, now, () => 'id').parameters;
  function refusal(trainer: string, parameters: unknown, extra: Record<string, unknown> = {}): { message: string; details: Record<string, unknown> } {
    try {
      parametersOf(trainer, parameters, extra);
    } catch (error) {
      if (error instanceof RequestValidationError && error.code === 'INVALID_RUN') return { message: error.message, details: error.details as Record<string, unknown> };
      throw error;
    }
    throw new Error('expected the run to be refused');
  }

  it.each([
    ['logreg', { l2: 0, maxIterations: 1, thresholdFolds: 2 }],
    ['logreg', { l2: 1e6, maxIterations: 100_000, thresholdFolds: 10 }],
    ['gbdt', { trees: 1, maxDepth: 1, learningRate: 1e-9, lambda: 0, minChildWeight: 0, minSplitGain: 0, subsample: 1, maxBins: 2, thresholdFolds: 2 }],
    ['gbdt', { trees: 5000, maxDepth: 16, learningRate: 1, lambda: 50, minChildWeight: 1e3, minSplitGain: 2.5, subsample: 0.01, maxBins: 256, thresholdFolds: 10 }],
    ['xgboost', { num_round: 1, max_depth: 1, eta: 0.01, min_child_weight: 0, subsample: 1, colsample_bytree: 1, lambda: 0, alpha: 0, gamma: 0, max_bin: 2, early_stopping_rounds: 1, scale_pos_weight: 3 }],
    ['xgboost', { num_round: 10_000, max_depth: 20, eta: 1, min_child_weight: 1e6, subsample: 0.5, colsample_bytree: 0.5, lambda: 1e6, alpha: 1e6, gamma: 1e6, max_bin: 1024, early_stopping_rounds: 1000 }],
    // The user's image takes what it takes: any name, any finite number.
    ['sagemaker', { epochs: 3, 'learning-rate': -0.5, seed: 7, anything_else: 1e12 }],
  ])('takes every parameter the %s trainer accepts, at the ends of its ranges', (trainer, parameters) => {
    expect(parametersOf(trainer, parameters)).toEqual(parameters);
  });

  it('keeps every name a user image is given, even one that is a property of every object', () => {
    const parameters = JSON.parse('{"__proto__": 3, "constructor": 4, "toString": 5}') as unknown;
    const kept = parametersOf('sagemaker', parameters);
    expect(Object.keys(kept)).toEqual(['__proto__', 'constructor', 'toString']);
    expect(JSON.parse(JSON.stringify(kept))).toEqual(parameters);
    // A built-in trainer takes none of them.
    expect(refusal('logreg', parameters).details['field']).toBe('parameters.__proto__');
  });

  it('checks the parameters against the trainer the run gets from the config when it names none', () => {
    const gbdtByDefault = pipelineConfig.parse({ defaults: { trainer: 'gbdt' }, models: { credit: { target: 'Status', positiveLabel: 'bad', datasetKey: 'datasets/credit.csv' } } });
    expect(normalizeRun({ model: 'credit', parameters: { trees: 5 } }, gbdtByDefault, now, () => 'id').parameters).toEqual({ trees: 5 });
    expect(() => normalizeRun({ model: 'credit', parameters: { l2: 5 } }, gbdtByDefault, now, () => 'id')).toThrow('run field "parameters.l2" is not a parameter of the gbdt trainer');
  });

  it.each([
    // An unknown name, and misspellings: refused with the names the trainer takes, and the one it most likely meant.
    ['logreg', { C: 1 }, 'parameters.C', 'is not a parameter of the logreg trainer (it takes l2, maxIterations, thresholdFolds)'],
    ['logreg', { maxIteration: 5 }, 'parameters.maxIteration', 'is not a parameter of the logreg trainer, did you mean "maxIterations"? (it takes l2, maxIterations, thresholdFolds)'],
    ['logreg', { l2_: 0.5 }, 'parameters.l2_', 'is not a parameter of the logreg trainer, did you mean "l2"? (it takes l2, maxIterations, thresholdFolds)'],
    ['logreg', { max_iterations: 5 }, 'parameters.max_iterations', 'is not a parameter of the logreg trainer, did you mean "maxIterations"? (it takes l2, maxIterations, thresholdFolds)'],
    ['gbdt', { learning_rate: 0.1 }, 'parameters.learning_rate', 'is not a parameter of the gbdt trainer, did you mean "learningRate"? (it takes lambda, learningRate, maxBins, maxDepth, minChildWeight, minSplitGain, subsample, thresholdFolds, trees)'],
    // Another trainer's parameter.
    ['gbdt', { l2: 1 }, 'parameters.l2', 'is not a parameter of the gbdt trainer (it takes lambda, learningRate, maxBins, maxDepth, minChildWeight, minSplitGain, subsample, thresholdFolds, trees)'],
    ['xgboost', { trees: 10 }, 'parameters.trees', 'is not a parameter of the xgboost trainer (it takes alpha, colsample_bytree, early_stopping_rounds, eta, gamma, lambda, max_bin, max_depth, min_child_weight, num_round, scale_pos_weight, subsample)'],
    ['xgboost', { maxDepth: 4 }, 'parameters.maxDepth', 'is not a parameter of the xgboost trainer, did you mean "max_depth"? (it takes alpha, colsample_bytree, early_stopping_rounds, eta, gamma, lambda, max_bin, max_depth, min_child_weight, num_round, scale_pos_weight, subsample)'],
  ])('refuses a name the %s trainer does not take: %j', (trainer, parameters, field, message) => {
    const accepted = Object.keys(
      { logreg: { l2: 1, maxIterations: 1, thresholdFolds: 1 }, gbdt: { lambda: 1, learningRate: 1, maxBins: 1, maxDepth: 1, minChildWeight: 1, minSplitGain: 1, subsample: 1, thresholdFolds: 1, trees: 1 } }[trainer] ?? {},
    );
    const refused = refusal(trainer, parameters);
    expect(refused.message).toBe(`run field "${field}" ${message}`);
    expect(refused.details).toMatchObject({ field, trainer });
    if (accepted.length > 0) expect(refused.details['accepted']).toEqual(accepted);
  });

  it.each([
    ['logreg', 'seed', 'the run\'s "seeds"'],
    ['gbdt', 'seed', 'the run\'s "seeds"'],
    ['xgboost', 'seed', 'the run\'s "seeds"'],
    ['logreg', 'testFraction', 'the run\'s "test_fraction"'],
    ['gbdt', 'test_fraction', 'the run\'s "test_fraction"'],
    ['gbdt', 'threshold', 'the run\'s "decision_threshold"'],
    ['logreg', 'classWeight', 'the run\'s "class_weight"'],
    ['xgboost', 'tree_method', 'pipeline.xgboost.hyperparameters.treeMethod in the config (a name, not a number)'],
  ])('refuses the %s run parameter %s, a setting of the run that it would override, saying where it goes', (trainer, name, where) => {
    const { message, details } = refusal(trainer, { [name]: 1 });
    expect(message).toMatch(new RegExp(`^run field "parameters\\.${name}" is not a parameter of the ${trainer} trainer but a setting of its own: set ${where.replace(/[.()]/g, '\\$&')} instead \\(it takes `));
    expect(details).toMatchObject({ field: `parameters.${name}`, trainer });
  });

  it.each([
    ['logreg', 'l2', '1', 'must be a finite number from 0 up, got "1"'],
    ['logreg', 'l2', true, 'must be a finite number from 0 up, got true'],
    ['logreg', 'l2', null, 'must be a finite number from 0 up, got null'],
    ['logreg', 'l2', [1], 'must be a finite number from 0 up, got [1]'],
    ['logreg', 'l2', Number.NaN, 'must be a finite number from 0 up, got NaN'],
    ['logreg', 'l2', Number.POSITIVE_INFINITY, 'must be a finite number from 0 up, got Infinity'],
    ['logreg', 'l2', -0.1, 'must be a finite number from 0 up, got -0.1'],
    ['logreg', 'maxIterations', 0, 'must be an integer from 1 to 100000, got 0'],
    ['logreg', 'maxIterations', 10.5, 'must be an integer from 1 to 100000, got 10.5'],
    ['logreg', 'maxIterations', 100_001, 'must be an integer from 1 to 100000, got 100001'],
    ['logreg', 'thresholdFolds', 1, 'must be an integer from 2 to 10, got 1'],
    ['logreg', 'thresholdFolds', 11, 'must be an integer from 2 to 10, got 11'],
    ['gbdt', 'trees', 0, 'must be an integer from 1 up, got 0'],
    ['gbdt', 'trees', Number.NEGATIVE_INFINITY, 'must be an integer from 1 up, got -Infinity'],
    ['gbdt', 'maxDepth', 17, 'must be an integer from 1 to 16, got 17'],
    ['gbdt', 'learningRate', 0, 'must be a number above 0 and at most 1, got 0'],
    ['gbdt', 'learningRate', 1.5, 'must be a number above 0 and at most 1, got 1.5'],
    ['gbdt', 'subsample', 0, 'must be a number above 0 and at most 1, got 0'],
    ['gbdt', 'maxBins', 257, 'must be an integer from 2 to 256, got 257'],
    ['gbdt', 'minChildWeight', -1, 'must be a finite number from 0 up, got -1'],
    ['xgboost', 'max_depth', 21, 'must be an integer from 1 to 20, got 21'],
    ['xgboost', 'eta', 0, 'must be a number above 0 and at most 1, got 0'],
    ['xgboost', 'num_round', 10_001, 'must be an integer from 1 to 10000, got 10001'],
    ['xgboost', 'scale_pos_weight', 0, 'must be a number above 0 and at most 1000000, got 0'],
    ['sagemaker', 'epochs', '3', 'must be a finite number, got "3"'],
    ['sagemaker', 'epochs', Number.NaN, 'must be a finite number, got NaN'],
  ])('refuses the %s parameter %s = %j, of the wrong type or out of its range', (trainer, name, value, message) => {
    const refused = refusal(trainer, { [name]: value });
    expect(refused.message).toBe(`run field "parameters.${name}" ${message}`);
    expect(refused.details).toMatchObject({ field: `parameters.${name}`, trainer });
  });

  it('refuses xgboost\'s scale_pos_weight with class_weight balanced, which sets it', () => {
    expect(refusal('xgboost', { scale_pos_weight: 3 }, { class_weight: 'balanced' }).message).toBe(
      'run field "parameters.scale_pos_weight" cannot be set with class_weight "balanced", which sets it to negatives / positives of the training rows',
    );
    expect(parametersOf('xgboost', { scale_pos_weight: 3 }, { class_weight: 'none' })).toEqual({ scale_pos_weight: 3 });
  });

  it('refuses before anything reads the data: the first bad parameter of several is named', () => {
    expect(refusal('logreg', { l2: 0.5, maxIteration: 5, seed: 1 }).details['field']).toBe('parameters.maxIteration');
  });
});

describe('parsePipelineConfig and datasetKey', () => {
  it('reads the defaults when PIPELINE_CONFIG is unset or blank, and the JSON the CDK sets', () => {
    expect(parsePipelineConfig(undefined)).toEqual(DEFAULT_PIPELINE_CONFIG);
    expect(parsePipelineConfig('  ')).toEqual(DEFAULT_PIPELINE_CONFIG);
    expect(parsePipelineConfig(JSON.stringify({ defaults: { seeds: [3] } })).defaults.seeds).toEqual([3]);
  });

  it('fails naming the variable and the field on a bad value', () => {
    expect(() => parsePipelineConfig('{')).toThrow(/^environment variable PIPELINE_CONFIG: not valid json/);
    expect(() => parsePipelineConfig(JSON.stringify({ defaults: { seeds: [] } }))).toThrow(/PIPELINE_CONFIG.*pipeline\.defaults\.seeds/);
  });

  it('reads RETRAIN_PROMOTION: unset, a canary waiting for approval; else the JSON the CDK sets; a bad value named', () => {
    expect(parseRetrainPromotion(undefined)).toEqual({ mode: 'canary', approvalRequired: true });
    expect(parseRetrainPromotion(JSON.stringify({ mode: 'production', approvalRequired: false }))).toEqual({ mode: 'production', approvalRequired: false });
    expect(() => parseRetrainPromotion(JSON.stringify({ mode: 'blue-green' }))).toThrow(/^environment variable RETRAIN_PROMOTION: .*drift\.retrainPromotion\.mode/);
  });

  it('keys a dataset by model and content', () => {
    expect(datasetKey('credit', 'ab12')).toBe('datasets/credit/ab12.csv');
  });
});
