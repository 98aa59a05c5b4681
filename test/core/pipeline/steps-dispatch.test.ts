import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { pipelineConfig } from '#contracts/pipeline.ts';
import { normalizeRun } from '#core/pipeline/run.ts';
import { PipelineStepError, PipelineSteps, TransientError, XGBOOST_MODEL_FILE, type XgboostData } from '#core/pipeline/steps.ts';
import { MemoryObjects } from '../../support/memory-objects.ts';
import { tarArchive } from '../../support/tar.ts';

/**
 * `dispatch` routes each step the ASL names to its method with the event's fields (seed as a number, the token and
 * the stage as strings), and the xgboost steps refuse what they cannot use, before any data is read.
 */

const config = pipelineConfig.parse({ models: { credit: { target: 'Status', positiveLabel: 'bad', datasetKey: 'datasets/credit.csv' } } });
const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

function setup() {
  const objects = new MemoryObjects();
  const steps = new PipelineSteps({
    objects,
    registry: {} as never,
    inspector: {} as never,
    engine: {} as never,
    approvals: {} as never,
    config,
    sha256,
    newId: () => 'run-1',
  });
  return { objects, steps };
}

const run = (input: Record<string, unknown> = {}) => normalizeRun({ model: 'credit', ...input }, config, new Date(0), () => 'run-1');

async function failure(promise: Promise<unknown>): Promise<Error> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof Error)) throw new Error('expected the step to fail');
  return error;
}

describe('the errors the state machine matches', () => {
  it('names a transient failure as every Lambda task of the ASL retries it', () => {
    const asl = JSON.parse(readFileSync(new URL('../../../step-functions/training-pipeline.asl.json', import.meta.url), 'utf8')) as unknown;
    const lambdaRetries: string[][] = [];
    const walk = (node: unknown): void => {
      if (Array.isArray(node)) for (const item of node) walk(item);
      else if (typeof node === 'object' && node !== null) {
        for (const [key, value] of Object.entries(node)) {
          if (key === 'Retry') for (const retry of value as { ErrorEquals: string[] }[]) if (retry.ErrorEquals.includes('Lambda.ServiceException')) lambdaRetries.push(retry.ErrorEquals);
          walk(value);
        }
      }
    };
    walk(asl);
    expect(lambdaRetries.length).toBeGreaterThan(10);
    // Lambda reports the error's name as the errorType that `ErrorEquals` matches.
    const error = new TransientError('throttled', { cause: new Error('SlowDown') });
    expect([error instanceof Error, error.name, error.message]).toEqual([true, 'TransientError', 'throttled']);
    for (const retried of lambdaRetries) expect(retried).toContain(error.name);
  });
});

describe('PipelineSteps.dispatch routing', () => {
  it('runs prepare_xgboost_data, which refuses a run of another trainer', async () => {
    const { steps } = setup();
    const error = await failure(steps.dispatch({ step: 'prepare_xgboost_data', run: run(), seed: '3' }));
    expect(error).toBeInstanceOf(PipelineStepError);
    // The name Lambda reports as the errorType the state machine sees.
    expect(error.name).toBe('PipelineStepError');
    expect(error.message).toBe('prepare_xgboost_data is a step of the xgboost trainer, not logreg');
  });

  it('runs import_xgboost_model and import_sagemaker_model, which refuse a location outside S3', async () => {
    const { steps } = setup();
    const data = { metadata_key: 'x' } as XgboostData;
    for (const step of ['import_xgboost_model', 'import_sagemaker_model']) {
      const error = await failure(steps.dispatch({ step, run: run({ trainer: 'xgboost' }), seed: 1, sagemaker: { model_artifacts: 'file:///tmp/model.tar.gz' }, xgboost_data: data }));
      expect([step, error instanceof PipelineStepError, error.message]).toEqual([step, true, 'unexpected model artifacts location file:///tmp/model.tar.gz']);
    }
  });

  it('refuses an xgboost archive without the booster, listing what it holds, or saying it is empty', async () => {
    const { steps, objects } = setup();
    const job = { model_artifacts: 's3://bucket/jobs/out/model.tar.gz' };
    objects.objects.set('jobs/out/model.tar.gz', tarArchive({ 'a.txt': new Uint8Array([1]), 'b.txt': new Uint8Array([2]) }));
    const listed = await failure(steps.importXgboostModel(run({ trainer: 'xgboost' }), 1, job, { metadata_key: 'x' } as XgboostData));
    expect([listed instanceof PipelineStepError, listed.message]).toEqual([true, `model.tar.gz holds no ${XGBOOST_MODEL_FILE} (it holds a.txt, b.txt)`]);
    objects.objects.set('jobs/out/model.tar.gz', tarArchive({}));
    expect((await failure(steps.importXgboostModel(run({ trainer: 'xgboost' }), 1, job, { metadata_key: 'x' } as XgboostData))).message).toBe(
      `model.tar.gz holds no ${XGBOOST_MODEL_FILE} (it holds nothing)`,
    );
    expect(XGBOOST_MODEL_FILE).toBe('xgboost-model');
  });

  it('passes the seed as a number, the token and the stage as strings', async () => {
    const { steps } = setup();
    const seen: unknown[] = [];
    steps.train = async (_run, seed) => {
      seen.push(['train', seed]);
      return {} as never;
    };
    steps.evaluate = async (_run, seed, candidate) => {
      seen.push(['evaluate', seed, candidate]);
      return {} as never;
    };
    steps.requestApproval = async (_run, token) => {
      seen.push(['request_approval', token]);
      return { approval_id: 'x' };
    };
    steps.recordRejection = async (_run, stage) => {
      seen.push(['record_rejection', stage]);
      return { message: '', event: {} };
    };
    steps.importSageMakerModel = async (_run, seed, job) => {
      seen.push(['import_sagemaker_model', seed, job]);
      return {} as never;
    };
    steps.importXgboostModel = async (_run, seed, job, data) => {
      seen.push(['import_xgboost_model', seed, job, data]);
      return {} as never;
    };
    steps.prepareXgboostData = async (_run, seed) => {
      seen.push(['prepare_xgboost_data', seed]);
      return {} as never;
    };
    await steps.dispatch({ step: 'train', run: run(), seed: '7' });
    await steps.dispatch({ step: 'evaluate', run: run(), seed: '8', candidate: { seed: 8 } });
    await steps.dispatch({ step: 'request_approval', run: run(), token: 123 });
    await steps.dispatch({ step: 'record_rejection', run: run(), stage: 'Gate' });
    await steps.dispatch({ step: 'import_sagemaker_model', run: run(), seed: '9', sagemaker: { model_artifacts: 's3://b/k' } });
    await steps.dispatch({ step: 'import_xgboost_model', run: run(), seed: '10', sagemaker: { model_artifacts: 's3://b/k' }, xgboost_data: { shards: 1 } });
    await steps.dispatch({ step: 'prepare_xgboost_data', run: run(), seed: '11' });
    expect(seen).toEqual([
      ['train', 7],
      ['evaluate', 8, { seed: 8 }],
      ['request_approval', '123'],
      ['record_rejection', 'Gate'],
      ['import_sagemaker_model', 9, { model_artifacts: 's3://b/k' }],
      ['import_xgboost_model', 10, { model_artifacts: 's3://b/k' }, { shards: 1 }],
      ['prepare_xgboost_data', 11],
    ]);
  });

  it('runs the steps that take the run alone', async () => {
    const { steps } = setup();
    const called: string[] = [];
    for (const name of ['compareWithChampion', 'gate', 'register', 'promote', 'recordFailure'] as const) {
      (steps as unknown as Record<string, unknown>)[name] = async () => {
        called.push(name);
        return name;
      };
    }
    const results = [];
    for (const step of ['compare_with_champion', 'gate', 'register', 'promote', 'record_failure']) results.push(await steps.dispatch({ step, run: run() }));
    expect(results).toEqual(['compareWithChampion', 'gate', 'register', 'promote', 'recordFailure']);
    expect(called).toEqual(results);
  });
});
