import { describe, expect, it } from 'vitest';
import type { CaptureReader } from '#core/capture/ports.ts';
import type { CaptureRecord } from '#core/capture/records.ts';
import { Reservoir, SeededRandom } from '#core/data/random.ts';
import { runDriftJob, type DriftJobDependencies } from '#core/drift/job.ts';
import type { ModelMetadata } from '#core/model/metadata.ts';
import type { ModelRecord, ModelVersionRecord } from '#core/registry/records.ts';
import { trainCreditModel } from '../../../examples/credit/train.ts';
import { creditBatch } from '../../support/credit-instances.ts';

/** The drift job's row cap: a window of any size is read into a bounded, seeded, uniform sample. */

const NOW = new Date('2026-01-01T12:00:00.000Z');
const HOUR = 3_600_000;

/** `count` production records of version 1 spread over the hour before NOW, offered one by one as the S3 reader does. */
class GeneratedCaptures implements CaptureReader {
  offered = 0;
  held = 0;

  constructor(private readonly count: number) {}

  async readCaptures(model: string, version: number, _from: Date, _to: Date, sample?: Reservoir<CaptureRecord>): Promise<CaptureRecord[]> {
    const rows = creditBatch(100);
    const all: CaptureRecord[] = [];
    for (let i = 0; i < this.count; i++) {
      const record: CaptureRecord = {
        request_id: `r-${i}`,
        row: 0,
        model,
        model_version: version,
        variant: 'production',
        captured_at: new Date(NOW.getTime() - HOUR + Math.floor((i * HOUR) / this.count)).toISOString(),
        features: rows[i % rows.length] as CaptureRecord['features'],
        prediction: { label: 'good', probability: (i % 100) / 100 },
      };
      this.offered++;
      if (sample === undefined) all.push(record);
      else sample.offer(record);
    }
    this.held = sample === undefined ? all.length : sample.items.length;
    return sample === undefined ? all : sample.items;
  }

  async readFeedback(): Promise<[]> {
    return [];
  }
}

async function deps(metadata: ModelMetadata, captures: CaptureReader, maxWindowRows: number): Promise<DriftJobDependencies> {
  const model = { model: 'credit', production_version: 1 } as ModelRecord;
  const version = { model: 'credit', version: 1, metadata } as ModelVersionRecord;
  return {
    registry: { getModel: async () => model, getVersion: async () => version },
    captures,
    reports: { putText: async () => undefined },
    events: { publish: async () => undefined },
    ledger: { claim: async () => ({ claimed: false }) },
    settings: { cooldownMinutes: 60, retrainOnCritical: false, maxWindowRows },
  };
}

describe('Reservoir', () => {
  it('keeps every item below its capacity and a uniform sample of `capacity` above it', () => {
    const small = new Reservoir<number>(10, new SeededRandom(1));
    for (let i = 0; i < 7; i++) small.offer(i);
    expect(small.items).toEqual([0, 1, 2, 3, 4, 5, 6]);

    // 1,000 draws of 100 out of 1,000: each item is kept about 10 % of the time, early and late alike.
    const kept = new Array<number>(1000).fill(0);
    for (let draw = 0; draw < 1000; draw++) {
      const reservoir = new Reservoir<number>(100, new SeededRandom(draw));
      for (let i = 0; i < 1000; i++) reservoir.offer(i);
      expect(reservoir.items).toHaveLength(100);
      expect(reservoir.seen).toBe(1000);
      for (const item of reservoir.items) kept[item] = (kept[item] ?? 0) + 1;
    }
    const firstTenth = kept.slice(0, 100).reduce((a, b) => a + b, 0) / 100;
    const lastTenth = kept.slice(900).reduce((a, b) => a + b, 0) / 100;
    expect(firstTenth).toBeGreaterThan(90);
    expect(firstTenth).toBeLessThan(110);
    expect(lastTenth).toBeGreaterThan(90);
    expect(lastTenth).toBeLessThan(110);
  });

  it('refuses a capacity that is not a positive integer', () => {
    expect(() => new Reservoir(0, new SeededRandom(1))).toThrow('capacity must be a positive integer, got 0');
  });
});

describe('runDriftJob row cap', () => {
  it('reads a window above the cap into a sample of the cap, reports both counts, and draws the same sample on a retry', async () => {
    // Prepare
    const { metadata } = await trainCreditModel();
    const captures = new GeneratedCaptures(12_000);
    // Act
    const first = await runDriftJob(await deps(metadata, captures, 2_000), { model: 'credit', windowMs: HOUR, now: NOW, kind: 'manual' });
    const retried = await runDriftJob(await deps(metadata, new GeneratedCaptures(12_000), 2_000), { model: 'credit', windowMs: HOUR, now: NOW, kind: 'manual' });
    // Assess: never more than the cap in memory, the counts in the report, the same statistics on a retry.
    expect(captures.offered).toBe(12_000);
    expect(captures.held).toBe(2_000);
    expect(first.document.window).toMatchObject({ captured_rows: 12_000, sampled_rows: 2_000 });
    expect(first.document.rows).toBe(2_000);
    expect(retried.document.drift_score).toBe(first.document.drift_score);
    expect(retried.document.features).toEqual(first.document.features);
  });

  it('reads every row of a window below the cap', async () => {
    const { metadata } = await trainCreditModel();
    const { document } = await runDriftJob(await deps(metadata, new GeneratedCaptures(500), 2_000), { model: 'credit', windowMs: HOUR, now: NOW, kind: 'manual' });
    expect(document.window).toMatchObject({ captured_rows: 500, sampled_rows: 500 });
    expect(document.rows).toBe(500);
  });
});
