import { createHash } from 'node:crypto';
import { trainingJobPrefix } from '#core/pipeline/job-name.ts';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { datasetKey, DEFAULT_PIPELINE_CONFIG } from '#core/pipeline/run.ts';
import { startLocalPlatform, type LocalPlatform } from '../../local/platform.ts';
import { tarArchive } from '../support/tar.ts';

/**
 * The xgboost trainer's whole path on the training pipeline's own ASL (aws-local-stepfunctions, the real step code,
 * onnxruntime-node), with a stand-in for the one thing that needs AWS, the SageMaker training job: it reads the train
 * channel's shards the data step wrote and answers with a model.tar.gz holding an XGBoost model (a one-split tree in
 * XGBoost's JSON model format, on the column that best separates the labels), where the job would have written it.
 * So the state input paths, the conversion, evaluation, gate and registration run as in AWS.
 */

const CREDIT_CSV = readFileSync(new URL('../../examples/credit/credit_data.csv', import.meta.url));
let dataDir: string;
let platform: LocalPlatform;
const requests: Record<string, unknown>[] = [];

interface Channel {
  readonly ChannelName: string;
  readonly ContentType: string;
  readonly DataSource: { readonly S3DataSource: { readonly S3Uri: string; readonly S3DataDistributionType: string } };
}

/** A one-split XGBoost tree on the column whose class means differ most (in standard deviations). */
function stump(rows: number[][]): Record<string, unknown> {
  const columns = (rows[0]?.length ?? 1) - 1;
  let best = { column: 0, threshold: 0, score: -1, positiveAbove: true };
  for (let c = 0; c < columns; c++) {
    const values = (label: number) => rows.filter((r) => r[0] === label).map((r) => r[c + 1] as number);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const [ones, zeros] = [values(1), values(0)];
    const all = [...ones, ...zeros];
    const sd = Math.sqrt(mean(all.map((x) => (x - mean(all)) ** 2))) || 1;
    const score = Math.abs(mean(ones) - mean(zeros)) / sd;
    if (score > best.score) best = { column: c, threshold: (mean(ones) + mean(zeros)) / 2, score, positiveAbove: mean(ones) > mean(zeros) };
  }
  const [left, right] = best.positiveAbove ? [-1, 1] : [1, -1];
  return {
    version: [1, 7, 4],
    learner: {
      objective: { name: 'binary:logistic' },
      learner_model_param: { base_score: '5E-1', num_feature: String(columns), num_class: '0' },
      gradient_booster: {
        name: 'gbtree',
        model: {
          trees: [
            {
              tree_param: { num_nodes: '3', num_feature: String(columns), size_leaf_vector: '0' },
              left_children: [1, -1, -1],
              right_children: [2, -1, -1],
              split_indices: [best.column, 0, 0],
              split_conditions: [best.threshold, left, right],
              default_left: [0, 0, 0],
              split_type: [0, 0, 0],
            },
          ],
        },
      },
    },
  };
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'mlops-xgboost-'));
  platform = await startLocalPlatform({
    dataDir,
    apiKey: 'k',
    registryCacheTtlSeconds: 0,
    pipelineConfig: { ...DEFAULT_PIPELINE_CONFIG, sagemaker: { ...DEFAULT_PIPELINE_CONFIG.sagemaker, instanceCount: 2 } },
    pipeline: {
      retryIntervalMs: 0,
      trainingJob: async (request) => {
        requests.push(request);
        const train = (request['InputDataConfig'] as Channel[]).find((c) => c.ChannelName === 'train');
        const prefix = (train?.DataSource.S3DataSource.S3Uri ?? '').replace(/^s3:\/\/[^/]+\//, '');
        const text = new TextDecoder().decode(await platform.artifacts.getBytes(`${prefix}part-00000.csv`));
        const rows = text.trim().split('\n').map((line) => line.split(',').map(Number));
        const name = String(request['TrainingJobName']);
        const output = String((request['OutputDataConfig'] as { S3OutputPath: string }).S3OutputPath).replace(/^s3:\/\/[^/]+\//, '');
        const key = `${output}${name}/output/model.tar.gz`;
        const archive = gzipSync(tarArchive({ 'xgboost-model': new TextEncoder().encode(JSON.stringify(stump(rows))) }));
        await platform.artifacts.putBytes(key, new Uint8Array(archive), 'application/gzip');
        return { ModelArtifacts: { S3ModelArtifacts: `s3://bucket/${key}` }, TrainingJobName: name };
      },
    },
  });
});

afterAll(async () => {
  await platform?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('the xgboost trainer on the local pipeline (training job stood in)', () => {
  it('encodes, trains on two shards per channel, converts, evaluates, gates and registers an xgboost version', async () => {
    const sha256 = createHash('sha256').update(CREDIT_CSV).digest('hex');
    const key = datasetKey('credit-xgb', sha256);
    await platform.artifacts.putBytes(key, CREDIT_CSV, 'text/csv');

    const { done } = platform.pipeline.start({ model: 'credit-xgb', dataset: { key, sha256 }, target: 'Status', positive_label: 'bad', trainer: 'xgboost', requested_by: 'test' });
    const result = await done;

    // The run went through every state of the path, and the job was asked for what SageMaker needs.
    expect(result.error).toBeUndefined();
    expect(result.status).toBe('succeeded');
    expect(result.progress).toEqual(expect.arrayContaining(['PrepareXgboostData', 'TrainXgboostOnSageMaker', 'ConvertXgboostModel', 'Evaluate', 'CompareWithChampion', 'Gate']));
    const [request] = requests;
    expect(request).toMatchObject({
      // The run's sanitised prefix (lambdas/core/pipeline/job-name.ts): a uuid run id does not fit 63 characters whole.
      TrainingJobName: `${trainingJobPrefix('credit-xgb', result.run_id)}-42`,
      AlgorithmSpecification: { TrainingImage: 'local', TrainingInputMode: 'File' },
      HyperParameters: { objective: 'binary:logistic', eval_metric: 'auc', seed: '42', num_round: '100' },
      ResourceConfig: { InstanceCount: 2, InstanceType: 'ml.m5.xlarge' },
    });
    const channels = request?.['InputDataConfig'] as Channel[];
    expect(channels.map((c) => [c.ChannelName, c.ContentType, c.DataSource.S3DataSource.S3DataDistributionType])).toEqual([
      ['train', 'text/csv', 'ShardedByS3Key'],
      ['validation', 'text/csv', 'ShardedByS3Key'],
    ]);
    for (const channel of ['train', 'validation']) {
      for (const part of ['part-00000.csv', 'part-00001.csv']) {
        expect(await platform.artifacts.getBytesIfExists(`training-data/credit-xgb/${result.run_id}/seed-42/${channel}/${part}`)).toBeDefined();
      }
    }

    // The candidate is registered (promoted or rejected by the gate) as an xgboost version with its lineage.
    const version = await platform.registryService.getVersion('credit-xgb', 1);
    expect(version.metadata.algorithm).toBe('xgboost');
    expect(version.metadata.lineage).toMatchObject({ trainer: 'sagemaker-xgboost', trainer_version: '1.7-1', seed: 42 });
    expect(version.metadata.output.threshold_selection).toMatchObject({ policy: 'maxF1', chosen_on: 'validation' });
    expect(version.metadata.metrics['roc_auc']).toBeGreaterThan(0.5);
  });
});
