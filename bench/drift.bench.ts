import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ksTwoSample } from '#core/drift/ks.ts';
import { driftReport } from '#core/drift/report.ts';
import type { FeatureProfile, FeatureRow } from '#core/model/metadata.ts';
import { profileCategorical, profileValues } from '#core/profile/baseline.ts';

/**
 * `npm run bench` (second part): the drift statistics over 30 synthetic features, 1 000 000 baseline rows and
 * 100 000 window rows (issue 5, point 8), in seconds per feature, and where Python with SciPy is installed,
 * `scipy.stats.ks_2samp` on the same arrays in a child process, as a ratio.
 *
 * `BENCH_DRIFT_SCALE` multiplies both row counts (CI's smoke run uses 0.01); `BENCH_DRIFT_REPEATS` is how many
 * times each measurement runs (the median is printed); `BENCH_PYTHON` names the interpreter to try first.
 * See docs/benchmarks.md.
 */

const SCALE = Number(process.env.BENCH_DRIFT_SCALE ?? 1);
const REPEATS = Number(process.env.BENCH_DRIFT_REPEATS ?? 3);
if (!(SCALE > 0) || !Number.isInteger(REPEATS) || REPEATS < 1) {
  throw new Error(`BENCH_DRIFT_SCALE must be a number above 0 and BENCH_DRIFT_REPEATS an integer of at least 1, got ${process.env.BENCH_DRIFT_SCALE} and ${process.env.BENCH_DRIFT_REPEATS}`);
}
const BASELINE_ROWS = Math.max(1, Math.round(1_000_000 * SCALE));
const WINDOW_ROWS = Math.max(1, Math.round(100_000 * SCALE));
const SEED = 20261201;

type NumericKind = 'normal' | 'lognormal' | 'discrete';
type FeatureKind = NumericKind | 'categorical';

interface NumericFeature {
  readonly name: string;
  readonly kind: NumericKind;
  readonly baseline: Float64Array;
  readonly window: Float64Array;
}

interface CategoricalFeature {
  readonly name: string;
  readonly kind: 'categorical';
  readonly baseline: string[];
  readonly window: string[];
}

type Feature = NumericFeature | CategoricalFeature;

/** mulberry32: a small, fast, seeded generator, so every run measures the same arrays. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function standardNormal(random: () => number): number {
  // Box–Muller; 1 − u keeps the logarithm finite.
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

function poisson(random: () => number, lambda: number): number {
  // Knuth's method: fine for the small rates used here, and it gives heavily tied integer values.
  const limit = Math.exp(-lambda);
  let k = 0;
  let p = random();
  while (p > limit) {
    k++;
    p *= random();
  }
  return k;
}

/**
 * 8 normal, 8 lognormal, 8 discrete (Poisson counts, many ties) and 6 categorical features. In each group the
 * window of every other feature is shifted (by an amount growing with the feature's index), so both the drifted
 * and the stable cases are measured.
 */
function generateFeatures(): Feature[] {
  const random = seededRandom(SEED);
  const features: Feature[] = [];
  const numeric = (kind: NumericKind, index: number, draw: (shift: number) => number): void => {
    const shift = index % 2 === 1 ? 0.05 * (index + 1) : 0;
    const baseline = new Float64Array(BASELINE_ROWS);
    for (let i = 0; i < BASELINE_ROWS; i++) baseline[i] = draw(0);
    const window = new Float64Array(WINDOW_ROWS);
    for (let i = 0; i < WINDOW_ROWS; i++) window[i] = draw(shift);
    features.push({ name: `${kind}_${index}`, kind, baseline, window });
  };
  for (let f = 0; f < 8; f++) {
    const mean = 10 * f;
    const sd = 1 + f;
    numeric('normal', f, (shift) => mean + sd * (shift + standardNormal(random)));
  }
  for (let f = 0; f < 8; f++) {
    const sigma = 0.5 + 0.1 * f;
    numeric('lognormal', f, (shift) => Math.exp(f / 4 + shift + sigma * standardNormal(random)));
  }
  for (let f = 0; f < 8; f++) {
    const lambda = 1 + f;
    numeric('discrete', f, (shift) => poisson(random, lambda * (1 + shift)));
  }
  for (let f = 0; f < 6; f++) {
    const categories = Array.from({ length: 3 + f }, (_, c) => `c${c}`);
    const weights = categories.map((_, c) => 1 / (c + 1));
    const draw = (tilt: number): string => {
      // A shifted window moves weight towards the last categories.
      const tilted = weights.map((w, c) => w * (1 + tilt * c));
      const total = tilted.reduce((a, b) => a + b, 0);
      let u = random() * total;
      for (let c = 0; c < tilted.length; c++) {
        u -= tilted[c] as number;
        if (u <= 0) return categories[c] as string;
      }
      return categories[categories.length - 1] as string;
    };
    const tilt = f % 2 === 1 ? 0.1 * (f + 1) : 0;
    features.push({
      name: `categorical_${f}`,
      kind: 'categorical',
      baseline: Array.from({ length: BASELINE_ROWS }, () => draw(0)),
      window: Array.from({ length: WINDOW_ROWS }, () => draw(tilt)),
    });
  }
  return features;
}

/** Median wall time in seconds of `repeats` runs of `fn`, and its last result. */
function timed<T>(fn: () => T, repeats = REPEATS): { seconds: number; result: T } {
  const times: number[] = [];
  let result: T | undefined;
  for (let r = 0; r < repeats; r++) {
    const start = performance.now();
    result = fn();
    times.push((performance.now() - start) / 1000);
  }
  times.sort((a, b) => a - b);
  return { seconds: times[Math.floor(times.length / 2)] as number, result: result as T };
}

interface SciPyFigure {
  readonly seconds: number;
  readonly statistic: number;
  readonly pvalue: number;
}

// Reads every numeric feature's two arrays from one little-endian float64 file each, and times ks_2samp(window, baseline)
// per feature exactly as we call ksTwoSample(window, baseline).
const SCIPY_SCRIPT = `
import json, sys, time
import numpy as np
import scipy
from scipy.stats import ks_2samp
baseline_path, window_path, features, n, m, repeats = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
baseline = np.fromfile(baseline_path, dtype='<f8').reshape(features, n)
window = np.fromfile(window_path, dtype='<f8').reshape(features, m)
out = []
for f in range(features):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = ks_2samp(window[f], baseline[f])
        times.append(time.perf_counter() - start)
    times.sort()
    out.append({'seconds': times[len(times) // 2], 'statistic': float(result.statistic), 'pvalue': float(result.pvalue)})
print(json.dumps({'scipy': scipy.__version__, 'numpy': np.__version__, 'figures': out}))
`;

/** The first interpreter that imports SciPy: `BENCH_PYTHON`, `/usr/bin/python3`, then `python3` on PATH. */
function findSciPyPython(): { python: string; version: string } | undefined {
  const candidates = [process.env.BENCH_PYTHON, '/usr/bin/python3', 'python3'].filter((c): c is string => c !== undefined && c !== '');
  for (const python of candidates) {
    const probe = spawnSync(python, ['-c', 'import scipy, numpy; print(scipy.__version__)'], { encoding: 'utf8' });
    if (probe.status === 0) return { python, version: probe.stdout.trim() };
  }
  return undefined;
}

function runSciPy(python: string, features: readonly NumericFeature[]): { scipy: string; numpy: string; figures: SciPyFigure[] } {
  const dir = mkdtempSync(join(tmpdir(), 'mlops-drift-bench-'));
  try {
    const baselinePath = join(dir, 'baseline.f64');
    const windowPath = join(dir, 'window.f64');
    const joined = (pick: (f: NumericFeature) => Float64Array, length: number): Buffer => {
      const all = new Float64Array(features.length * length);
      features.forEach((f, i) => all.set(pick(f), i * length));
      // Float64Array is in the platform's byte order; every platform Node.js supports here is little-endian.
      return Buffer.from(all.buffer, all.byteOffset, all.byteLength);
    };
    writeFileSync(baselinePath, joined((f) => f.baseline, BASELINE_ROWS));
    writeFileSync(windowPath, joined((f) => f.window, WINDOW_ROWS));
    const child = spawnSync(
      python,
      ['-c', SCIPY_SCRIPT, baselinePath, windowPath, String(features.length), String(BASELINE_ROWS), String(WINDOW_ROWS), String(REPEATS)],
      { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 },
    );
    if (child.status !== 0) throw new Error(`the SciPy run failed (${child.status}): ${child.stderr}`);
    return JSON.parse(child.stdout) as { scipy: string; numpy: string; figures: SciPyFigure[] };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface FeatureTiming {
  readonly feature: Feature;
  /** KS two-sample on the raw arrays (numeric only). */
  readonly ks?: { seconds: number; statistic: number; pvalue: number };
  /** The feature's whole report with the raw baseline array as the KS reference. */
  readonly reportRawSeconds: number;
  /** The feature's whole report as the deployed drift job runs it: against the stored baseline profile. */
  readonly reportProfileSeconds: number;
  readonly profileSeconds: number;
  readonly verdict: string;
}

const fmtSeconds = (s: number): string => `${s.toFixed(s < 0.01 ? 4 : 3)} s`;
const fmtRatio = (r: number): string => `${r.toFixed(2)}x`;

function main(): void {
  console.log(`\ndrift statistics benchmark: 30 features, ${BASELINE_ROWS.toLocaleString('en')} baseline rows, ${WINDOW_ROWS.toLocaleString('en')} window rows (scale ${SCALE}), median of ${REPEATS}`);
  console.log(`node ${process.version}, seed ${SEED}`);
  const features = generateFeatures();
  const windowRows: FeatureRow[] = Array.from({ length: WINDOW_ROWS }, (_, i) =>
    Object.fromEntries(features.map((f) => [f.name, f.window[i] as number | string])),
  );

  const timings: FeatureTiming[] = [];
  const profiles: Record<string, FeatureProfile> = {};
  const samples: Record<string, number[]> = {};
  for (const feature of features) {
    // The profile is what training stores in the metadata; the drift job reads it, it does not compute it.
    const profile = timed(
      () => (feature.kind === 'categorical' ? profileCategorical(feature.name, feature.baseline.map((v) => ({ [feature.name]: v }))) : profileValues(feature.baseline)),
      1,
    );
    profiles[feature.name] = profile.result;
    const baseline = { [feature.name]: profile.result };
    let ks: FeatureTiming['ks'];
    let rawSample: number[] | undefined;
    if (feature.kind !== 'categorical') {
      const run = timed(() => ksTwoSample(feature.window, feature.baseline));
      ks = { seconds: run.seconds, statistic: run.result.statistic, pvalue: run.result.pvalue };
      rawSample = Array.from(feature.baseline);
      samples[feature.name] = rawSample;
    }
    const reportRaw = timed(() =>
      driftReport({ baseline, current: windowRows, ...(rawSample === undefined ? {} : { baselineSamples: { [feature.name]: rawSample } }) }),
    );
    const reportProfile = timed(() => driftReport({ baseline, current: windowRows }));
    timings.push({
      feature,
      ...(ks === undefined ? {} : { ks }),
      reportRawSeconds: reportRaw.seconds,
      reportProfileSeconds: reportProfile.seconds,
      profileSeconds: profile.seconds,
      verdict: reportRaw.result.features[0]?.verdict ?? '?',
    });
  }
  const wholeProfile = timed(() => driftReport({ baseline: profiles, current: windowRows }), 1);
  const wholeRaw = timed(() => driftReport({ baseline: profiles, baselineSamples: samples, current: windowRows }), 1);

  const numeric = timings.filter((t) => t.feature.kind !== 'categorical');
  const sciPyPython = findSciPyPython();
  let sciPy: ReturnType<typeof runSciPy> | undefined;
  if (sciPyPython !== undefined) {
    sciPy = runSciPy(
      sciPyPython.python,
      numeric.map((t) => t.feature as NumericFeature),
    );
  }
  const sciPyOf = (t: FeatureTiming): SciPyFigure | undefined => sciPy?.figures[numeric.indexOf(t)];

  console.log('\nper feature (seconds; ratio = our KS / SciPy ks_2samp on the same arrays)');
  console.log(['feature'.padEnd(14), 'KS raw'.padEnd(9), 'report raw'.padEnd(10), 'report job'.padEnd(10), 'SciPy KS'.padEnd(9), 'ratio'.padEnd(7), 'verdict'].join('  '));
  for (const t of timings) {
    const s = sciPyOf(t);
    console.log(
      [
        t.feature.name.padEnd(14),
        (t.ks === undefined ? '-' : fmtSeconds(t.ks.seconds)).padEnd(9),
        fmtSeconds(t.reportRawSeconds).padEnd(10),
        fmtSeconds(t.reportProfileSeconds).padEnd(10),
        (s === undefined ? '-' : fmtSeconds(s.seconds)).padEnd(9),
        (s === undefined || t.ks === undefined ? '-' : fmtRatio(t.ks.seconds / s.seconds)).padEnd(7),
        t.verdict,
      ].join('  '),
    );
  }

  const kinds: FeatureKind[] = ['normal', 'lognormal', 'discrete', 'categorical'];
  const mean = (values: number[]): number => values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
  const sum = (values: number[]): number => values.reduce((a, b) => a + b, 0);
  console.log('\nper kind (mean seconds per feature)');
  console.log(['kind'.padEnd(12), 'KS raw'.padEnd(9), 'report raw'.padEnd(10), 'report job'.padEnd(10), 'SciPy KS'.padEnd(9), 'ratio'].join('  '));
  const kindRow = (label: string, group: FeatureTiming[]): void => {
    const ks = group.filter((t) => t.ks !== undefined);
    const ours = ks.map((t) => t.ks?.seconds ?? 0);
    const theirs = ks.map((t) => sciPyOf(t)?.seconds ?? 0);
    console.log(
      [
        label.padEnd(12),
        (ks.length > 0 ? fmtSeconds(mean(ours)) : '-').padEnd(9),
        fmtSeconds(mean(group.map((t) => t.reportRawSeconds))).padEnd(10),
        fmtSeconds(mean(group.map((t) => t.reportProfileSeconds))).padEnd(10),
        (sciPy !== undefined && ks.length > 0 ? fmtSeconds(mean(theirs)) : '-').padEnd(9),
        sciPy !== undefined && ks.length > 0 ? fmtRatio(sum(ours) / sum(theirs)) : '-',
      ].join('  '),
    );
  };
  for (const kind of kinds) kindRow(kind, timings.filter((t) => t.feature.kind === kind));
  kindRow('all', timings);

  console.log(
    `\nthe drift job over all 30 features at once: ${fmtSeconds(wholeProfile.seconds)} against the stored profiles (${fmtSeconds(wholeProfile.seconds / 30)} per feature); ` +
      `${fmtSeconds(wholeRaw.seconds)} with the raw baseline arrays (${fmtSeconds(wholeRaw.seconds / 30)} per feature)`,
  );
  console.log(`baseline profiles (training's side, not the drift job's): ${fmtSeconds(sum(timings.map((t) => t.profileSeconds)))} for 30 features`);

  if (sciPy === undefined) {
    console.log('\nSciPy: not installed (no BENCH_PYTHON, /usr/bin/python3 or python3 imports scipy and numpy), no ratio printed');
    return;
  }
  let maxStatistic = 0;
  let maxPvalue = 0;
  for (const t of numeric) {
    const s = sciPyOf(t);
    if (s === undefined || t.ks === undefined) continue;
    maxStatistic = Math.max(maxStatistic, Math.abs(t.ks.statistic - s.statistic));
    maxPvalue = Math.max(maxPvalue, Math.abs(t.ks.pvalue - s.pvalue));
  }
  console.log(`\nSciPy ${sciPy.scipy} (numpy ${sciPy.numpy}, ${sciPyPython?.python}): KS agreement over ${numeric.length} numeric features: max |D ours − D SciPy| = ${maxStatistic.toExponential(2)}, max |p ours − p SciPy| = ${maxPvalue.toExponential(2)}`);
}

main();
