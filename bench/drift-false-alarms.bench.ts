import { SeededRandom } from '#core/data/random.ts';
import {
  EQUAL,
  HARNESS_FEATURES,
  HARNESS_PATHS,
  LARGE,
  SMALL,
  checkPair,
  draw,
  falseAlarms,
  power,
  type PairSize,
  type Rates,
} from '../test/support/drift-false-alarms.ts';

/**
 * `npm run bench` (third part): the drift checks' measured false-alarm rate and power (issue 14, point 2), with more
 * pairs than the test affords (test/core/drift/false-alarms.test.ts). Seeded: every run prints the same figures.
 *
 * - false alarms: same-distribution pairs of a continuous, a discrete and a categorical feature at 100 / 80,
 *   3 000 / 3 000 and 200 000 / 50 000 rows, through the drift job's path and `drift compare`'s: the share the test
 *   rejects at p < 0.05 and the share whose verdict is `ok`;
 * - power: a continuous feature moved by 0.05 to 0.5 standard deviations at several sizes: the share the test rejects
 *   and the share the verdict flags (the table of docs/drift.md, "Detectable shifts").
 *
 * `BENCH_FALSE_ALARM_SCALE` multiplies every trial count (default 1; CI's smoke run may use 0.05).
 */
const SCALE = Number(process.env.BENCH_FALSE_ALARM_SCALE ?? 1);
if (!(SCALE > 0)) throw new Error(`BENCH_FALSE_ALARM_SCALE must be a number above 0, got ${process.env.BENCH_FALSE_ALARM_SCALE}`);
const SEED = 20261202;
const trials = (n: number): number => Math.max(1, Math.round(n * SCALE));
const pct = (r: Rates, what: 'rejected' | 'ok'): string => `${((100 * r[what]) / r.trials).toFixed(1)} %`.padStart(7);

const SIZES: readonly { label: string; size: PairSize; job: number; compare: number }[] = [
  { label: '100 / 80', size: SMALL, job: 2000, compare: 2000 },
  { label: '3000 / 3000', size: EQUAL, job: 400, compare: 400 },
  { label: '200000 / 50000', size: LARGE, job: 20, compare: 5 },
];

function main(): void {
  console.log(`\ndrift false alarms and power (seed ${SEED}, trial scale ${SCALE})`);
  console.log('\nsame-distribution pairs: share rejected at p < 0.05 (nominal 5 %) and share with verdict ok');
  console.log(['feature'.padEnd(12), 'rows'.padEnd(15), 'path'.padEnd(8), 'pairs'.padStart(6), 'rejected', '     ok'].join('  '));
  for (const feature of HARNESS_FEATURES) {
    for (const { label, size, job, compare } of SIZES) {
      for (const path of HARNESS_PATHS) {
        const n = trials(path === 'job' ? job : compare);
        const r = falseAlarms(feature, path, size, n, SEED);
        console.log([feature.padEnd(12), label.padEnd(15), path.padEnd(8), String(n).padStart(6), pct(r, 'rejected').padStart(8), pct(r, 'ok')].join('  '));
      }
    }
  }
  console.log('\npower: a continuous feature moved by d standard deviations (drift job path): share rejected, share flagged');
  console.log(['rows'.padEnd(15), 'd'.padStart(5), 'pairs'.padStart(6), 'rejected', 'flagged'].join('  '));
  const powerSizes: readonly { label: string; size: PairSize; n: number }[] = [
    { label: '100 / 80', size: SMALL, n: 400 },
    { label: '1000 / 1000', size: { reference: 1000, current: 1000 }, n: 200 },
    { label: '3000 / 3000', size: EQUAL, n: 200 },
    { label: '10000 / 10000', size: { reference: 10_000, current: 10_000 }, n: 50 },
  ];
  for (const { label, size, n } of powerSizes) {
    for (const shift of [0.05, 0.1, 0.15, 0.2, 0.3, 0.5]) {
      const r = power('job', size, shift, trials(n), SEED);
      const flagged = ((100 * (r.trials - r.ok)) / r.trials).toFixed(1);
      console.log([label.padEnd(15), shift.toFixed(2).padStart(5), String(r.trials).padStart(6), pct(r, 'rejected').padStart(8), `${flagged} %`.padStart(7)].join('  '));
    }
  }
  // One pair at the large size shows what the job's reference is: the stored sample of at most 10 000 values.
  const random = new SeededRandom(SEED);
  const large = checkPair('continuous', 'job', draw('continuous', LARGE.reference, random), draw('continuous', LARGE.current, random), SEED);
  console.log(`\nthe job's reference at 200 000 training rows: ${large.test} on the stored sample; normalised Wasserstein noise level at 10 000 / 50 000: ${large.wasserstein_noise?.toFixed(4)}`);
}

main();
