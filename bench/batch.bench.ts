import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ENV } from '#contracts/env.ts';
import type { BatchManifest } from '#core/batch/batch-job.ts';
import { instanceOf } from '#core/batch/batch-job.ts';
import { parseCsvRecords } from '#core/data/csv.ts';
import { ModelService } from '#core/serving/model-service.ts';
import { OnnxScoringEngine } from '#adapters/onnx-scoring-engine.ts';
import { S3BatchObjects } from '#adapters/s3-batch-objects.ts';
import { LocalBatchScoring } from '../local/batch-scoring.ts';
import { LOCAL_BATCH_BUCKET_NAME, startLocalPlatform } from '../local/platform.ts';

/**
 * `npm run bench` (batch part): scores rows of the credit data through the batch path on the local platform (the batch
 * state machine's own ASL, the local Distributed Map, the batch Lambda handler writing to the local S3) and, beside
 * it, through the serving core's own loop in this process (ModelService.scoreRows over the same rows in the same
 * batch size, nothing written). Prints rows per second of both, their ratio (the orchestration's overhead), and an AWS
 * cost estimate per million rows from the measured handler time per batch.
 *
 * `BENCH_BATCH_ROWS` sets the row count (default 1,000,000); without it, `BENCH_DRIFT_SCALE` (CI's smoke run: 0.01)
 * scales the default. `BENCH_BATCH_SIZE` is the rows per batch (default 500, the config's `batch.maxItemsPerBatch`).
 */

const SCALE = Number(process.env.BENCH_DRIFT_SCALE ?? 1);
const ROWS = Number(process.env.BENCH_BATCH_ROWS ?? Math.round(1_000_000 * SCALE));
const BATCH_SIZE = Number(process.env.BENCH_BATCH_SIZE ?? 500);
if (!Number.isInteger(ROWS) || ROWS < 1 || !Number.isInteger(BATCH_SIZE) || BATCH_SIZE < 1) {
  throw new Error(`BENCH_BATCH_ROWS and BENCH_BATCH_SIZE must be positive integers, got ${ROWS} and ${BATCH_SIZE}`);
}
/** The batch function's memory (config `batch.memorySize`): what a Lambda GB-second is billed on. */
const MEMORY_GB = 1769 / 1024;

/**
 * On-demand prices, us-east-1, x86 (aws.amazon.com/lambda/pricing, /step-functions/pricing, /s3/pricing): Lambda
 * compute per GB-second and requests; Express child executions (one per batch) per request; S3 PUT (two per batch:
 * the scored rows and the batch's counts) and GET (the ItemReader reads each object once).
 */
const PRICE = {
  lambdaGbSecond: 0.0000166667,
  lambdaRequest: 0.2 / 1_000_000,
  expressRequest: 1.0 / 1_000_000,
  expressGbSecond: 0.00001667,
  s3Put: 0.005 / 1000,
} as const;

const creditCsv = readFileSync(new URL('../examples/credit/credit_data.csv', import.meta.url), 'utf8');
const [header, ...records] = creditCsv.trim().split('\n');

function portfolio(rows: number): string {
  const lines = new Array<string>(rows);
  for (let i = 0; i < rows; i++) lines[i] = records[i % records.length] as string;
  return `${header}\n${lines.join('\n')}\n`;
}

function perSecond(rows: number, ms: number): string {
  return Math.round((rows / ms) * 1000).toLocaleString('en-US');
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'mlops-batch-bench-'));
  process.env[ENV.BATCH_MAX_ITEMS_PER_BATCH] = String(BATCH_SIZE);
  const platform = await startLocalPlatform({ dataDir, apiKey: 'batch-bench-key-0123456789', port: 0 });
  try {
    const s3 = new S3Client({ endpoint: platform.s3Endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
    const csv = portfolio(ROWS);
    await s3.send(new PutObjectCommand({ Bucket: LOCAL_BATCH_BUCKET_NAME, Key: 'bench/portfolio.csv', Body: csv }));

    // The batch path: the platform's own handler module, timed per invocation.
    const { batchScoringHandler } = await import('../lambdas/batch-scoring/handler.ts');
    const scoreMs: number[] = [];
    const batch = new LocalBatchScoring({
      handler: async (payload: never) => {
        const started = performance.now();
        const result = await batchScoringHandler(payload);
        if ((payload as { step?: string }).step === 'score') scoreMs.push(performance.now() - started);
        return result;
      },
      objects: new S3BatchObjects(s3),
      maxConcurrency: 4,
    });
    const started = performance.now();
    const job = await batch.start({ model: 'credit', input: `s3://${LOCAL_BATCH_BUCKET_NAME}/bench/`, output: `s3://${LOCAL_BATCH_BUCKET_NAME}/bench-out/` }).done;
    const batchMs = performance.now() - started;
    if (job.status !== 'succeeded') throw new Error(`the batch job failed: ${job.error?.name}: ${job.error?.message}`);
    const manifest = (job.output as { manifest?: string }).manifest;
    const manifestDoc = JSON.parse(await new S3BatchObjects(s3).getText(LOCAL_BATCH_BUCKET_NAME, 'bench-out/manifest.json')) as BatchManifest;

    // The serving core's own loop over the same rows, same batches, one process, nothing written.
    const service = new ModelService({
      registry: platform.registry,
      artifacts: platform.artifacts,
      engine: new OnnxScoringEngine({ intraOpNumThreads: 1 }),
      cacheTtlMs: 60_000,
      maxBatchSize: BATCH_SIZE,
    });
    const resolved = await service.resolveVersion('credit');
    const [names, ...cells] = parseCsvRecords(csv);
    const rows = cells.map((row) => Object.fromEntries((names ?? []).map((name, i) => [name ?? '', row[i] ?? ''])));
    await service.scoreRows('credit', resolved.model_version, [instanceOf(resolved.features, 'csv', rows[0])]);
    const loopStarted = performance.now();
    let loopScored = 0;
    for (let start = 0; start < rows.length; start += BATCH_SIZE) {
      const instances = rows.slice(start, start + BATCH_SIZE).map((row) => instanceOf(resolved.features, 'csv', row));
      const scores = await service.scoreRows('credit', resolved.model_version, instances);
      for (const result of scores.results) if (result.ok) loopScored++;
    }
    const loopMs = performance.now() - loopStarted;

    const batches = Math.ceil(1_000_000 / BATCH_SIZE);
    const meanScoreS = scoreMs.reduce((a, b) => a + b, 0) / scoreMs.length / 1000;
    const lambda = batches * (meanScoreS * MEMORY_GB * PRICE.lambdaGbSecond + PRICE.lambdaRequest);
    const express = batches * (PRICE.expressRequest + Math.max(0.1, meanScoreS) * (64 / 1024) * PRICE.expressGbSecond);
    const s3Puts = batches * 2 * PRICE.s3Put;
    const total = lambda + express + s3Puts;

    console.log(`batch scoring, ${ROWS.toLocaleString('en-US')} credit rows in batches of ${BATCH_SIZE} (${manifestDoc.batches} batches; ${manifestDoc.rows_scored} scored, ${manifestDoc.rows_refused} refused)`);
    console.log(`  batch path (ASL, local Distributed Map, Lambda handler, S3 writes): ${(batchMs / 1000).toFixed(2)} s, ${perSecond(ROWS, batchMs)} rows/s`);
    console.log(`  serving core loop in one process (scoreRows, nothing written):     ${(loopMs / 1000).toFixed(2)} s, ${perSecond(ROWS, loopMs)} rows/s (${loopScored} scored)`);
    console.log(`  ratio batch / loop: ${(loopMs / batchMs).toFixed(2)} (orchestration overhead ×${(batchMs / loopMs).toFixed(2)})`);
    console.log(`  handler time per batch: mean ${(meanScoreS * 1000).toFixed(1)} ms over ${scoreMs.length} batches`);
    console.log(
      `  AWS estimate per 1,000,000 rows (${batches} batches, ${Math.round(MEMORY_GB * 1024)} MB, us-east-1 on-demand): $${total.toFixed(4)}` +
        ` (Lambda $${lambda.toFixed(4)}, Express children $${express.toFixed(4)}, S3 PUTs $${s3Puts.toFixed(4)})`,
    );
    console.log(`  manifest: ${manifest ?? 'bench-out/manifest.json'}`);
  } finally {
    await platform.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
