import { describe, expect, it } from 'vitest';
import type { FeatureDrift } from '#core/drift/report.ts';
import {
  EQUAL,
  HARNESS_FEATURES,
  LARGE,
  SMALL,
  binomialInterval,
  rates,
  runPairs,
  type PairChecks,
  type PairSize,
} from '../../support/drift-false-alarms.ts';

/**
 * The measured false-alarm rate and power of the drift checks (issue 14, point 2), on seeded same-distribution pairs,
 * through the drift job's path (the baseline profile the trainer writes, with its stored sample, against a window) and
 * `mlops drift compare`'s (two CSV documents). Every run sees the same pairs; nothing reads the clock.
 *
 * Trial counts are what a test can afford (bench/drift-false-alarms.bench.ts measures more). With n pairs the rejected
 * share has a binomial standard deviation of √(0.05 · 0.95 / n), 1.5 points at 200 pairs, so:
 * - each cell (feature × size) must be consistent with a 5 % level: its count inside the central 99.9 % interval of
 *   binomial(n, 0.05);
 * - each feature's test, over its small and equal pairs together (800), must reject in 3–7 % of them (the issue's band,
 *   about ±2.6 deviations);
 * - the verdict: `ok` for at least 95 % of the equal and large pairs, where the effect-size bounds hold noise back. At
 *   100 / 80 rows any significant difference is also a large estimated effect (PSI ≈ 0.2, Wasserstein ≈ 0.3 σ beyond
 *   noise), so the bounds cannot hold anything back there: the verdict's false-alarm rate is the test's level, and the
 *   check is that it flags no pair the test did not reject (docs/drift.md, "Detectable shifts").
 * Up to 10 000 reference rows the stored sample is the whole reference, so the job and compare paths must give the same
 * test, p-value and verdict on the same pair; the first pairs of each cell are run through both.
 */
const SEED = 20261201;
const CELLS: readonly { label: string; size: PairSize; trials: number; comparePairs: number }[] = [
  { label: '100 / 80', size: SMALL, trials: 600, comparePairs: 60 },
  { label: '3000 / 3000', size: EQUAL, trials: 200, comparePairs: 20 },
];

const rejected = (c: FeatureDrift): boolean => c.p_value !== null && c.p_value < 0.05;

function expectPathsAgree(pairs: readonly PairChecks[]): void {
  for (const { job, compare } of pairs) {
    if (compare === undefined) continue;
    expect(compare.test).toBe(job.test);
    expect(compare.p_value).not.toBeNull();
    expect(Math.abs((compare.p_value as number) - (job.p_value as number))).toBeLessThanOrEqual(1e-9 * Math.max(1e-300, job.p_value as number) + 1e-15);
    expect(compare.verdict).toBe(job.verdict);
  }
}

describe.each(HARNESS_FEATURES)('drift false alarms of a %s feature', (feature) => {
  // Drawn once, by whichever test needs them first (the tests pass in any order).
  const drawn = new Map<number, readonly PairChecks[]>();
  const pairsOf = (i: number): readonly PairChecks[] => {
    const cell = CELLS[i] as (typeof CELLS)[number];
    const pairs = drawn.get(i) ?? runPairs(feature, cell.size, cell.trials, SEED + 1000 * i, { comparePairs: cell.comparePairs });
    drawn.set(i, pairs);
    return pairs;
  };
  const expectedTest = feature === 'continuous' ? 'ks' : 'chi_square';

  it.each(CELLS.map((c, i) => [c.label, i] as const))('at %s rows: a level consistent with 5 %%, the same answer through both paths', (_label, i) => {
    const cell = CELLS[i] as (typeof CELLS)[number];
    const pairs = pairsOf(i);
    const jobs = pairs.map((p) => p.job);
    for (const check of jobs) expect(check.test).toBe(expectedTest);
    const { lo, hi } = binomialInterval(cell.trials, 0.05, 0.001);
    const r = rates(jobs);
    expect(r.rejected, `${r.rejected} of ${r.trials} rejected`).toBeGreaterThanOrEqual(lo);
    expect(r.rejected, `${r.rejected} of ${r.trials} rejected`).toBeLessThanOrEqual(hi);
    // The verdict flags only pairs the test rejected.
    for (const check of jobs) if (check.verdict !== 'ok') expect(rejected(check)).toBe(true);
    expectPathsAgree(pairs);
  });

  it('rejects 3–7 % of all its same-distribution pairs at p < 0.05', () => {
    const r = rates(CELLS.flatMap((_, i) => pairsOf(i).map((p) => p.job)));
    expect(r.rejected / r.trials).toBeGreaterThanOrEqual(0.03);
    expect(r.rejected / r.trials).toBeLessThanOrEqual(0.07);
  });

  it('says ok to at least 95 % of the 3000 / 3000 pairs', () => {
    const r = rates(pairsOf(CELLS.findIndex((c) => c.size === EQUAL)).map((p) => p.job));
    expect(r.ok / r.trials).toBeGreaterThanOrEqual(0.95);
  });

  it('says ok to 200 000 / 50 000 rows through both paths (the job against its 10 000-value sample)', () => {
    const [pair] = runPairs(feature, LARGE, 1, SEED + 7);
    expect(pair?.job.test).toBe(expectedTest);
    expect(pair?.job.verdict).toBe('ok');
    expect(pair?.compare?.verdict).toBe('ok');
  });
});

describe('drift power', () => {
  it('finds a 0.2 standard deviation shift of a continuous feature at 3000 / 3000 rows through both paths', () => {
    const pairs = runPairs('continuous', EQUAL, 40, SEED + 99, { shift: 0.2, comparePairs: 10 });
    const checks = [...pairs.map((p) => p.job), ...pairs.flatMap((p) => (p.compare === undefined ? [] : [p.compare]))];
    const r = rates(checks);
    expect(r.rejected / r.trials).toBeGreaterThanOrEqual(0.95);
    expect(1 - r.ok / r.trials).toBeGreaterThanOrEqual(0.95);
  });

  it('does not flag a 0.05 standard deviation shift at 3000 / 3000 rows, below the verdict bound of 0.1', () => {
    const r = rates(runPairs('continuous', EQUAL, 20, SEED + 98, { shift: 0.05, comparePairs: 0 }).map((p) => p.job));
    expect(r.ok).toBe(r.trials);
  });
});
