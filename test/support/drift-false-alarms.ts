/**
 * The measured false-alarm rate and power of the drift checks, on seeded synthetic data (issue 14, point 2).
 *
 * Pairs of samples drawn from one distribution go through the two paths a user meets:
 * - `compare`: `mlops drift compare`'s path, `compareCsv` on two CSV documents (cells as text);
 * - `job`: the drift job's path, `driftReport` of a window of rows against the baseline profile the trainer writes
 *   (`profileFeatures` of the reference rows: percentiles, category counts, the stored sample of real values).
 * Per pair it records whether the feature's test rejected at p < 0.05 and whether the verdict was `ok`. Up to 10 000
 * reference rows the two paths see the same values (the stored sample is the whole reference) and must agree.
 *
 * Features: `continuous` (standard normal, 3 decimals), `discrete` (few distinct values, many ties: a binomial(6, 0.3), tested on its value counts),
 * `categorical` (5 categories, shares 0.4, 0.25, 0.2, 0.1, 0.05). Used by test/core/drift/false-alarms.test.ts and
 * bench/drift-false-alarms.bench.ts; no wall clock anywhere.
 */
import type { ParsedCsv } from '#core/data/csv.ts';
import { SeededRandom } from '#core/data/random.ts';
import { compareCsv } from '#core/drift/csv-compare.ts';
import { driftReport, type FeatureDrift } from '#core/drift/report.ts';
import type { FeatureRow } from '#core/model/metadata.ts';
import { profileFeatures } from '#core/profile/baseline.ts';

export type HarnessFeature = 'continuous' | 'discrete' | 'categorical';
export type HarnessPath = 'compare' | 'job';

export const HARNESS_FEATURES: readonly HarnessFeature[] = ['continuous', 'discrete', 'categorical'];
export const HARNESS_PATHS: readonly HarnessPath[] = ['compare', 'job'];

export interface PairSize {
  readonly reference: number;
  readonly current: number;
}

export const SMALL: PairSize = { reference: 100, current: 80 };
export const EQUAL: PairSize = { reference: 3000, current: 3000 };
export const LARGE: PairSize = { reference: 200_000, current: 50_000 };

export interface Rates {
  readonly trials: number;
  /** Pairs whose test gave p < 0.05. */
  readonly rejected: number;
  /** Pairs whose verdict was `ok`. */
  readonly ok: number;
}

const CATEGORIES = ['a', 'b', 'c', 'd', 'e'];
const CATEGORY_SHARES = [0.4, 0.25, 0.2, 0.1, 0.05];

function standardNormal(random: SeededRandom): number {
  // Box–Muller; 1 − u keeps the logarithm finite.
  return Math.sqrt(-2 * Math.log(1 - random.next())) * Math.cos(2 * Math.PI * random.next());
}

/** `n` values of `feature`; continuous values shifted by `shift` standard deviations. */
export function draw(feature: HarnessFeature, n: number, random: SeededRandom, shift = 0): (number | string)[] {
  const out: (number | string)[] = new Array<number | string>(n);
  for (let i = 0; i < n; i++) {
    if (feature === 'continuous') {
      out[i] = Math.round((standardNormal(random) + shift) * 1000) / 1000;
    } else if (feature === 'discrete') {
      let successes = 0;
      for (let k = 0; k < 6; k++) if (random.next() < 0.3) successes++;
      out[i] = successes;
    } else {
      const u = random.next();
      let c = 0;
      let cumulative = CATEGORY_SHARES[0] as number;
      while (u >= cumulative && c < CATEGORIES.length - 1) cumulative += CATEGORY_SHARES[++c] as number;
      out[i] = CATEGORIES[c] as string;
    }
  }
  return out;
}

/** The feature's check on one pair, through `path`. */
export function checkPair(feature: HarnessFeature, path: HarnessPath, reference: readonly (number | string)[], current: readonly (number | string)[], seed: number): FeatureDrift {
  if (path === 'compare') {
    const csv = (values: readonly (number | string)[]): ParsedCsv => ({ header: ['x'], rows: values.map((v) => [String(v)]) });
    return compareCsv(csv(reference), csv(current)).report.features[0] as FeatureDrift;
  }
  const rows = (values: readonly (number | string)[]): FeatureRow[] => values.map((x) => ({ x }));
  const kind = feature === 'categorical' ? 'categorical' : 'numeric';
  const baseline = profileFeatures([{ name: 'x', kind }], rows(reference), { sampleSeed: seed });
  return driftReport({ baseline, current: rows(current) }).features[0] as FeatureDrift;
}

/** One pair's checks: through the drift job's path, and through `drift compare`'s where asked. */
export interface PairChecks {
  readonly job: FeatureDrift;
  readonly compare?: FeatureDrift;
}

export interface PairOptions {
  /** Standard deviations the current sample of a continuous feature is moved by (0: same distribution). */
  readonly shift?: number;
  /** How many of the pairs (the first ones) also go through the compare path; default all. */
  readonly comparePairs?: number;
}

/** `trials` seeded pairs of `feature` at `size`, each checked through the job path (and the first ones through compare). */
export function runPairs(feature: HarnessFeature, size: PairSize, trials: number, seed: number, options: PairOptions = {}): PairChecks[] {
  const random = new SeededRandom(seed);
  const comparePairs = options.comparePairs ?? trials;
  const out: PairChecks[] = [];
  for (let t = 0; t < trials; t++) {
    const reference = draw(feature, size.reference, random);
    const current = draw(feature, size.current, random, options.shift ?? 0);
    const job = checkPair(feature, 'job', reference, current, seed + t);
    out.push(t < comparePairs ? { job, compare: checkPair(feature, 'compare', reference, current, seed + t) } : { job });
  }
  return out;
}

/** How often the test rejected at p < 0.05 and the verdict was `ok`, over some checks. */
export function rates(checks: readonly FeatureDrift[]): Rates {
  return {
    trials: checks.length,
    rejected: checks.filter((c) => c.p_value !== null && c.p_value < 0.05).length,
    ok: checks.filter((c) => c.verdict === 'ok').length,
  };
}

/** Same-distribution pairs through one path: how often the test rejects at p < 0.05 and how often the verdict is `ok`. */
export function falseAlarms(feature: HarnessFeature, path: HarnessPath, size: PairSize, trials: number, seed: number): Rates {
  const random = new SeededRandom(seed);
  const checks: FeatureDrift[] = [];
  for (let t = 0; t < trials; t++) checks.push(checkPair(feature, path, draw(feature, size.reference, random), draw(feature, size.current, random), seed + t));
  return rates(checks);
}

/** Continuous pairs whose current sample is shifted by `shift` standard deviations, through one path. */
export function power(path: HarnessPath, size: PairSize, shift: number, trials: number, seed: number): Rates {
  const random = new SeededRandom(seed);
  const checks: FeatureDrift[] = [];
  for (let t = 0; t < trials; t++) {
    checks.push(checkPair('continuous', path, draw('continuous', size.reference, random), draw('continuous', size.current, random, shift), seed + t));
  }
  return rates(checks);
}

/**
 * The central interval [lo, hi] of the binomial(n, p) count with at most `alpha` outside it (at most alpha / 2 on each
 * side): a count outside it says the rate is not p, at level alpha.
 */
export function binomialInterval(n: number, p: number, alpha: number): { lo: number; hi: number } {
  const pmf: number[] = [];
  let logCoefficient = 0;
  for (let k = 0; k <= n; k++) {
    if (k > 0) logCoefficient += Math.log(n - k + 1) - Math.log(k);
    pmf.push(Math.exp(logCoefficient + k * Math.log(p) + (n - k) * Math.log(1 - p)));
  }
  let lo = 0;
  let below = 0;
  while (below + (pmf[lo] as number) <= alpha / 2) below += pmf[lo++] as number;
  let hi = n;
  let above = 0;
  while (above + (pmf[hi] as number) <= alpha / 2) above += pmf[hi--] as number;
  return { lo, hi };
}
