import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseCsv } from '#core/data/csv.ts';
import { SeededRandom } from '#core/data/random.ts';
import { toLabelledTable } from '#core/data/table.ts';
import { driftReport } from '#core/drift/report.ts';
import type { FeatureProfile, FeatureRow } from '#core/model/metadata.ts';
import { profileFeatures } from '#core/profile/baseline.ts';

/**
 * The acceptance checks on examples/credit/credit_data.csv, in the drift job's own mode
 * (baseline = the profile the trainer stores in the model metadata, with its sample of real values): injected shifts are
 * found and nothing else is flagged; random splits of the same data raise a false alarm in at most
 * 5 of 100 trials.
 */

let rows: readonly FeatureRow[];
let features: { name: string; kind: 'numeric' | 'categorical' }[];

beforeAll(() => {
  const csv = readFileSync(new URL('../../../examples/credit/credit_data.csv', import.meta.url), 'utf8');
  const table = toLabelledTable(parseCsv(csv), 'Status', 'bad');
  rows = table.rows;
  features = table.features.map((f) => ({ name: f.name, kind: f.kind }));
});

/** A random "training" part (profiled, as the trainer does) and a disjoint "live" window. */
function split(seed: number, windowSize: number): { baseline: Record<string, FeatureProfile>; window: FeatureRow[] } {
  const shuffled = new SeededRandom(seed).shuffle([...rows]);
  const training = shuffled.slice(0, 3000);
  return { baseline: profileFeatures(features, training, { sampleSeed: seed }), window: shuffled.slice(3000, 3000 + windowSize) };
}

/** Replaces `share` of the window's Home values (deterministically) with `owner`. */
function shiftHome(window: readonly FeatureRow[], share: number): FeatureRow[] {
  return window.map((r, i) => (i % Math.round(1 / share) === 0 ? { ...r, Home: 'owner' } : r));
}

describe('injected shifts in the credit data', () => {
  it('finds Income scaled by 1.5 and a changed Home mix, and flags nothing else', () => {
    const { baseline, window } = split(1, 1000);
    const current = shiftHome(
      window.map((r): FeatureRow => ({ ...r, Income: typeof r.Income === 'number' ? r.Income * 1.5 : null })),
      0.5,
    );

    const report = driftReport({ baseline, current });

    const flagged = report.features.filter((f) => f.drifted).map((f) => f.name);
    expect(flagged.sort()).toEqual(['Home', 'Income']);
    const income = report.features.find((f) => f.name === 'Income');
    expect(income?.p_value).toBeLessThan(1e-6);
    expect(income?.psi).toBeGreaterThan(0.1);
    const home = report.features.find((f) => f.name === 'Home');
    expect(home?.test).toBe('chi_square');
    expect(home?.p_value).toBeLessThan(1e-6);
    expect(report.verdict).toBe('critical');
  });

  it('finds a shift of Income alone, and calls the rest ok', () => {
    const { baseline, window } = split(2, 800);
    const current = window.map((r): FeatureRow => ({ ...r, Income: typeof r.Income === 'number' ? r.Income * 1.5 : null }));

    const report = driftReport({ baseline, current });

    expect(report.features.filter((f) => f.drifted).map((f) => f.name)).toEqual(['Income']);
    for (const f of report.features.filter((x) => x.name !== 'Income')) expect(f.verdict, f.name).toBe('ok');
  });

  it('finds a changed Home mix alone', () => {
    const { baseline, window } = split(3, 800);

    const report = driftReport({ baseline, current: shiftHome(window, 0.5) });

    expect(report.features.filter((f) => f.drifted).map((f) => f.name)).toEqual(['Home']);
  });
});

describe('false alarms on random splits of the same data', () => {
  it('raises a warning or critical verdict in at most 5 of 100 trials', () => {
    let alarms = 0;
    const flaggedFeatures = new Map<string, number>();
    for (let trial = 0; trial < 100; trial++) {
      const { baseline, window } = split(1000 + trial, 500);
      const report = driftReport({ baseline, current: window });
      if (report.verdict === 'warning' || report.verdict === 'critical') alarms++;
      for (const f of report.features) if (f.drifted) flaggedFeatures.set(f.name, (flaggedFeatures.get(f.name) ?? 0) + 1);
    }
    expect(alarms, JSON.stringify(Object.fromEntries(flaggedFeatures))).toBeLessThanOrEqual(5);
    // And no single feature is flagged more often than its 5 % significance level allows.
    for (const [name, count] of flaggedFeatures) expect(count, name).toBeLessThanOrEqual(5);
  });
});
