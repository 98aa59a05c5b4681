import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { finishedSteps } from '../../cli/run-report.ts';

/** The per-seed Map's states of the training pipeline's ASL: every trainer's path. */
const asl = JSON.parse(readFileSync(new URL('../../step-functions/training-pipeline.asl.json', import.meta.url), 'utf8')) as {
  States: { TrainSeeds: { ItemProcessor: { States: Record<string, unknown> } } };
};
const seedStates = Object.keys(asl.States.TrainSeeds.ItemProcessor.States);

describe('finishedSteps', () => {
  it('folds every state of the per-seed Map (each trainer’s path) into "train and evaluate", timed to the next step', () => {
    const progress = ['ValidateData', 'TrainSeeds', ...seedStates, 'CompareWithChampion'];
    const at = progress.map((_, i) => new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString());

    const steps = finishedSteps({ run_id: 'r', status: 'succeeded', progress, progress_at: at, ended_at: new Date(Date.UTC(2026, 0, 1, 0, 1)).toISOString() });

    expect(seedStates).toEqual(expect.arrayContaining(['PrepareXgboostData', 'TrainXgboostOnSageMaker', 'ConvertXgboostModel', 'TrainOnSageMaker', 'Train']));
    expect(steps.map((s) => s.state)).toEqual(['ValidateData', 'TrainSeeds', 'CompareWithChampion']);
    expect(steps[1]).toMatchObject({ name: 'train and evaluate', ms: (seedStates.length + 1) * 1000 });
  });
});
