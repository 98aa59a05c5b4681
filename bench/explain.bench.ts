import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { OnnxScoringEngine } from '#adapters/onnx-scoring-engine.ts';
import type { ModelMetadata } from '#core/model/metadata.ts';
import type { ModelRecord, ModelVersionRecord } from '#core/registry/records.ts';
import { ModelService } from '#core/serving/model-service.ts';
import { trainGradientBoosting, trainLogisticRegression } from '#core/training/train-binary-classifier.ts';
import { creditBatch } from '../test/support/credit-instances.ts';

/**
 * `npm run bench` (second part): explain beside predict, in the same process and the same run, through the serving
 * core the Lambda runs (ModelService on onnxruntime-node; the registry and S3 are in-memory fakes here, the
 * predict bench measures the adapters). For the credit logistic regression (closed form) and a gradient-boosted
 * model of 200 trees (interventional Tree SHAP against 100 background rows), at batch 1 and 10, interleaved:
 * p50 and p99 of each, and the ratio explain / predict.
 */

const ITERATIONS = Number(process.env.BENCH_EXPLAIN_ITERATIONS ?? 300);
const WARMUP = 30;
const BATCH_SIZES = [1, 10];
const csv = readFileSync(new URL('../examples/credit/credit_data.csv', import.meta.url), 'utf8');

function serviceFor(bytes: Uint8Array, metadata: ModelMetadata): ModelService {
  const version: ModelVersionRecord = {
    model: 'credit',
    version: 1,
    stage: 'production',
    artifact: { key: 'models/credit/1.onnx', sha256: createHash('sha256').update(bytes).digest('hex'), size_bytes: bytes.byteLength },
    metadata,
    created_at: '2024-01-01T00:00:00.000Z',
    created_by: 'bench',
    deleted_at: null,
  };
  const model: ModelRecord = {
    model: 'credit',
    description: '',
    production_version: 1,
    canary: null,
    shadow_version: null,
    previous_production_versions: [],
    latest_version: 1,
    revision: 1,
    created_at: version.created_at,
    updated_at: version.created_at,
  };
  return new ModelService({
    registry: { getModel: async () => model, getVersion: async () => version, listModels: async () => [model], listVersions: async () => [version] },
    artifacts: { getArtifact: async () => bytes },
    engine: new OnnxScoringEngine({ intraOpNumThreads: 1 }),
    cacheTtlMs: 3_600_000,
    maxBatchSize: 1000,
  });
}

function percentile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

function fmt(ms: number): string {
  return ms >= 1 ? `${ms.toFixed(2)} ms` : `${(ms * 1000).toFixed(0)} µs`;
}

async function measure(name: string, service: ModelService): Promise<void> {
  for (const size of BATCH_SIZES) {
    const body = { instances: creditBatch(size) };
    for (let i = 0; i < WARMUP; i++) {
      await service.predict('credit', body);
      await service.explain('credit', body);
    }
    const predict: number[] = [];
    const explain: number[] = [];
    let method = '';
    for (let i = 0; i < ITERATIONS; i++) {
      let started = performance.now();
      await service.predict('credit', body);
      predict.push(performance.now() - started);
      started = performance.now();
      method = (await service.explain('credit', body)).method;
      explain.push(performance.now() - started);
    }
    predict.sort((a, b) => a - b);
    explain.sort((a, b) => a - b);
    const [p50, p99, e50, e99] = [percentile(predict, 0.5), percentile(predict, 0.99), percentile(explain, 0.5), percentile(explain, 0.99)];
    console.log(
      `${name.padEnd(28)} ${String(size).padStart(5)}  ${method.padEnd(12)} ${fmt(p50).padStart(9)} ${fmt(p99).padStart(9)}  ${fmt(e50).padStart(9)} ${fmt(e99).padStart(9)}  ${(e50 / p50).toFixed(1).padStart(6)}×`,
    );
  }
}

const linear = trainLogisticRegression({ csv, target: 'Status', positiveLabel: 'bad', dataSha256: 'bench' });
const trees = trainGradientBoosting({ csv, target: 'Status', positiveLabel: 'bad', dataSha256: 'bench', trees: 200 });
console.log(`\nexplain beside predict (ModelService in process, onnxruntime-node, 1 thread; ${ITERATIONS} interleaved iterations after ${WARMUP} warm-up; background 100 rows)`);
console.log(`${'model'.padEnd(28)} ${'batch'.padStart(5)}  ${'method'.padEnd(12)} ${'predict50'.padStart(9)} ${'predict99'.padStart(9)}  ${'explain50'.padStart(9)} ${'explain99'.padStart(9)}  ${'ratio'.padStart(7)}`);
await measure('credit logistic regression', serviceFor(linear.onnx, linear.metadata));
await measure('credit gbdt, 200 trees', serviceFor(trees.onnx, trees.metadata));
console.log('ratio: explain p50 / predict p50 at the same batch size');
