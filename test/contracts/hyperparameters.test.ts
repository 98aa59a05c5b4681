import { describe, expect, it } from 'vitest';
import { acceptsValue, rangeText, TRAINER_HYPERPARAMETERS, type Hyperparameter } from '#contracts/hyperparameters.ts';
import { pipelineConfig } from '#contracts/pipeline.ts';
import { GRADIENT_BOOSTING_DEFAULTS, resolveGradientBoostingOptions } from '#core/training/gradient-boosting.ts';
import { DEFAULT_L2, DEFAULT_MAX_ITERATIONS, fitLogisticRegression } from '#core/training/logistic-regression.ts';
import { outOfFoldScores } from '#core/training/train-binary-classifier.ts';
import { XGBOOST_HYPERPARAMETER_NAMES } from '#core/training/xgboost-data.ts';

/**
 * The declaration of each trainer's hyperparameters (what a run may give) against what the trainers themselves accept:
 * at the ends of every range, just outside them, and off the integers, the declaration and the trainer agree.
 */

/** Values around a parameter's range: its ends, just outside, a fraction, and the non-finite ones. */
function probes(parameter: Hyperparameter): number[] {
  const values = [parameter.min, parameter.min - 1, parameter.min - 1e-9, parameter.min + 1e-9, parameter.min + 0.5, parameter.min + 1, 1e6, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];
  if (parameter.max !== undefined) values.push(parameter.max, parameter.max + 1e-9, parameter.max + 1, parameter.max - 0.5);
  return values;
}

const accepts = (check: () => unknown): boolean => {
  try {
    check();
    return true;
  } catch (error) {
    if (error instanceof RangeError) return false;
    throw error;
  }
};

/** Each built-in trainer's own check of one option (the ones it has). */
const TRAINER_CHECKS: Record<string, Record<string, (value: number) => boolean>> = {
  logreg: {
    l2: (l2) => accepts(() => fitLogisticRegression([0, 1], [0, 1], 2, 1, { l2, maxIterations: 1 })),
    thresholdFolds: (folds) => accepts(() => outOfFoldScores(Uint8Array.from({ length: 40 }, (_, i) => i % 2), folds, 1, (_, score) => new Float64Array(score.length))),
  },
  gbdt: {
    ...Object.fromEntries(
      ['trees', 'maxDepth', 'learningRate', 'lambda', 'minChildWeight', 'minSplitGain', 'subsample', 'maxBins'].map((name) => [name, (value: number) => accepts(() => resolveGradientBoostingOptions({ [name]: value }))]),
    ),
    thresholdFolds: (folds) => accepts(() => outOfFoldScores(Uint8Array.from({ length: 40 }, (_, i) => i % 2), folds, 1, (_, score) => new Float64Array(score.length))),
  },
};

describe('TRAINER_HYPERPARAMETERS', () => {
  const builtIn = (['logreg', 'gbdt'] as const).flatMap((trainer) => Object.entries(TRAINER_HYPERPARAMETERS[trainer]).map(([name, parameter]) => [trainer, name, parameter] as const));

  it('declares, for each built-in trainer, the options its input type takes', () => {
    expect(Object.keys(TRAINER_HYPERPARAMETERS.logreg).sort()).toEqual(['l2', 'maxIterations', 'thresholdFolds']);
    expect(Object.keys(TRAINER_HYPERPARAMETERS.gbdt).sort()).toEqual(['lambda', 'learningRate', 'maxBins', 'maxDepth', 'minChildWeight', 'minSplitGain', 'subsample', 'thresholdFolds', 'trees']);
  });

  it.each(builtIn.filter(([trainer, name]) => TRAINER_CHECKS[trainer]?.[name] !== undefined))('%s %s: the range the trainer itself checks', (trainer, name, parameter) => {
    const check = TRAINER_CHECKS[trainer]?.[name] as (value: number) => boolean;
    for (const value of probes(parameter)) expect([value, acceptsValue(parameter, value)]).toEqual([value, check(value)]);
  });

  it('states the trainers\' own defaults in the descriptions (the docs table shows them)', () => {
    const defaults: Record<string, Record<string, number>> = {
      logreg: { l2: DEFAULT_L2, maxIterations: DEFAULT_MAX_ITERATIONS, thresholdFolds: 3 },
      gbdt: { ...GRADIENT_BOOSTING_DEFAULTS, thresholdFolds: 2 },
    };
    for (const [trainer, name, parameter] of builtIn) expect([trainer, name, parameter.description]).toEqual([trainer, name, expect.stringContaining(`(default ${defaults[trainer]?.[name]})`)]);
  });

  it('bounds logreg maxIterations, which the trainer takes as any count, to whole iterations', () => {
    const { maxIterations } = TRAINER_HYPERPARAMETERS.logreg;
    expect(maxIterations && rangeText(maxIterations)).toBe('an integer from 1 to 100000');
  });

  it('gives xgboost the names and ranges of the pipeline.xgboost.hyperparameters config, and nothing of it that is not a number', () => {
    const xgboost = TRAINER_HYPERPARAMETERS.xgboost;
    const fromConfig = Object.values(XGBOOST_HYPERPARAMETER_NAMES).filter((name) => name !== 'tree_method');
    expect(Object.keys(xgboost).sort()).toEqual([...fromConfig, 'scale_pos_weight'].sort());
    for (const [key, name] of Object.entries(XGBOOST_HYPERPARAMETER_NAMES)) {
      const parameter = xgboost[name];
      if (parameter === undefined) continue;
      for (const value of probes(parameter)) {
        const parsed = pipelineConfig.safeParse({ xgboost: { hyperparameters: { [key]: value } } }).success;
        expect([name, value, acceptsValue(parameter, value)]).toEqual([name, value, parsed]);
      }
    }
  });

  it('words each range as the config refuses it: a run and a config file get the same sentence', () => {
    for (const [key, name] of Object.entries(XGBOOST_HYPERPARAMETER_NAMES)) {
      const parameter = TRAINER_HYPERPARAMETERS.xgboost[name];
      if (parameter === undefined) continue;
      const result = pipelineConfig.safeParse({ xgboost: { hyperparameters: { [key]: -5 } } });
      expect([name, result.error?.issues[0]?.message]).toEqual([name, `must be ${rangeText(parameter)}`]);
    }
  });
});
