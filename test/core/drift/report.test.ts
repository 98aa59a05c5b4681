import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { trainCreditModel } from '../../../examples/credit/train.ts';
import { parseCsv } from '#core/data/csv.ts';
import { SeededRandom } from '#core/data/random.ts';
import { toLabelledTable } from '#core/data/table.ts';
import { DEFAULT_DRIFT_THRESHOLDS, driftReport, quantileFunction, referenceSample } from '#core/drift/report.ts';
import type { FeatureProfile, FeatureRow, ModelMetadata, NumericProfile } from '#core/model/metadata.ts';
import { profileNumeric } from '#core/profile/baseline.ts';

let metadata: ModelMetadata;
let rows: readonly FeatureRow[];
let samples: Record<string, number[]>;

beforeAll(async () => {
  ({ metadata } = await trainCreditModel());
  const csv = readFileSync(new URL('../../../examples/credit/credit_data.csv', import.meta.url), 'utf8');
  rows = toLabelledTable(parseCsv(csv), 'Status', 'bad').rows;
  samples = {};
  for (const [name, profile] of Object.entries(metadata.baseline)) {
    if (profile.type === 'numeric') samples[name] = rows.map((r) => r[name]).filter((v): v is number => typeof v === 'number');
  }
});

function sampleRows(seed: number, size: number): FeatureRow[] {
  return new SeededRandom(seed).shuffle([...rows]).slice(0, size);
}

describe('driftReport on the credit data', () => {
  it('finds no drift in a random sample of the data against its own baseline', () => {
    const report = driftReport({ baseline: metadata.baseline, baselineSamples: samples, current: sampleRows(7, 1000) });
    expect(report.verdict).toBe('ok');
    expect(report.rows).toBe(1000);
    expect(report.features.map((f) => f.name)).toEqual(Object.keys(metadata.baseline));
    expect(report.features.every((f) => !f.drifted)).toBe(true);
    expect(report.drifted_share).toBe(0);
    expect(report.thresholds).toEqual(DEFAULT_DRIFT_THRESHOLDS);
  });

  it('finds no drift in the whole data against the profile alone', () => {
    const report = driftReport({ baseline: metadata.baseline, current: rows });
    expect(report.verdict).not.toBe('critical');
    expect(report.drifted_share).toBeLessThan(DEFAULT_DRIFT_THRESHOLDS.shareWarning);
  });

  it('flags a shifted numeric feature', () => {
    const current = sampleRows(8, 1000).map((r) => ({ ...r, Income: typeof r.Income === 'number' ? r.Income * 1.6 + 40 : null }));
    const report = driftReport({ baseline: metadata.baseline, baselineSamples: samples, current });
    const income = report.features.find((f) => f.name === 'Income');
    expect(income?.test).toBe('ks');
    expect(income?.drifted).toBe(true);
    expect(income?.p_value).toBeLessThan(1e-6);
    expect(income?.wasserstein_normalised).toBeGreaterThan(0.5);
    expect(report.features.filter((f) => f.drifted).map((f) => f.name)).toEqual(['Income']);
    expect(report.verdict).toBe('critical'); // PSI of a significant feature above 0.25
  });

  it('reports an unseen category', () => {
    const current = sampleRows(9, 800).map((r, i) => (i % 5 === 0 ? { ...r, Home: 'boat' } : r));
    const report = driftReport({ baseline: metadata.baseline, baselineSamples: samples, current });
    const home = report.features.find((f) => f.name === 'Home');
    expect(home?.test).toBe('chi_square');
    expect(home?.unseen_categories).toEqual(['boat']);
    expect(home?.drifted).toBe(true);
    expect(Number.isFinite(home?.statistic)).toBe(true);
  });

  it('gives insufficient_data for an empty or tiny window, not an alarm', () => {
    for (const current of [[], sampleRows(10, 10).map((r) => ({ ...r, Income: 99999 }))]) {
      const report = driftReport({ baseline: metadata.baseline, current });
      expect(report.verdict).toBe('insufficient_data');
      expect(report.features.every((f) => f.verdict === 'insufficient_data' && !f.drifted)).toBe(true);
      expect(report.drifted_share).toBe(0);
    }
  });
});

describe('the effect-size rule', () => {
  const n = 30_000;
  const base = Array.from({ length: n }, (_, i) => quantileFunction([-1.28, -0.84, -0.52, -0.25, 0, 0.25, 0.52, 0.84, 1.28, 2, 3].map((q) => q), (i + 0.5) / n));
  const profile: NumericProfile = profileNumeric('x', base.map((x) => ({ x })));
  const baseline: Record<string, FeatureProfile> = { x: profile };

  it('does not flag a large window with a negligible but significant shift', () => {
    const shift = 0.05 * profile.std;
    const current = base.map((x) => ({ x: x + shift }));
    const report = driftReport({ baseline, baselineSamples: { x: base }, current });
    const x = report.features[0];
    expect(x?.p_value).toBeLessThan(0.05);
    expect(x?.drifted).toBe(false);
    expect(report.verdict).toBe('ok');
  });

  it('flags the same window with a material shift', () => {
    const current = base.map((x) => ({ x: x + 0.5 * profile.std }));
    const report = driftReport({ baseline, baselineSamples: { x: base }, current });
    expect(report.features[0]?.drifted).toBe(true);
    expect(report.verdict).toBe('critical');
  });

  it('checks the prediction score on its own', () => {
    const scores = Array.from({ length: 2000 }, (_, i) => (i + 0.5) / 2000);
    const same = driftReport({ baseline, baselineSamples: { x: base }, current: base.map((x) => ({ x })), scores: { baseline: scores, current: scores } });
    expect(same.prediction?.drifted).toBe(false);
    expect(same.verdict).toBe('ok');
    const shifted = driftReport({
      baseline,
      baselineSamples: { x: base },
      current: base.map((x) => ({ x })),
      scores: { baseline: referenceSample([0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1], 2000), current: scores.map((s) => s * s) },
    });
    expect(shifted.prediction?.drifted).toBe(true);
    expect(shifted.verdict).not.toBe('ok');
  });
});
