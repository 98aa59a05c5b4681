import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { rocAuc } from '#core/metrics/classification.ts';
import { fitGradientBoosting, predictGradientBoosting, resolveGradientBoostingOptions } from '#core/training/gradient-boosting.ts';
import { DEFAULT_L2, DEFAULT_MAX_ITERATIONS, fitLogisticRegression, predictProbabilities } from '#core/training/logistic-regression.ts';
import { encodeTrainingData, type EncodedTrainingData } from '#core/training/train-binary-classifier.ts';

/**
 * `npm run bench` (last part): the built-in trainers' fits on lending club (issue 18, point 4) — the logistic
 * regression (L2, Newton/IRLS) and the gradient-boosted trees, with their default options, on the rows and encoding
 * the pipeline uses (stratified 75/25 split, seed 42) — and, where Python with scikit-learn is installed, in a child
 * process on one thread, scikit-learn's `LogisticRegression(solver='lbfgs')` with C = 1 / l2 and
 * `HistGradientBoostingClassifier` with the same number of trees, depth, learning rate, leaf penalty and bins, on
 * exactly the same float64 matrices. Only the fit is timed (median of the repeats, after one warm-up fit each);
 * the holdout ROC AUC of every model is printed, with the aims: no slower than scikit-learn, and the logistic
 * regression's holdout ROC AUC within 1e-6 of scikit-learn's.
 *
 * `BENCH_TRAINER_REPEATS` is how many timed fits of each (default 7, 3 when `BENCH_ITERATIONS` is below 2000 as in
 * CI's short run); `BENCH_PYTHON` names the interpreter to try first. See docs/benchmarks.md.
 */

const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 2000);
const REPEATS = Number(process.env.BENCH_TRAINER_REPEATS ?? (ITERATIONS < 2000 ? 3 : 7));
if (!Number.isInteger(REPEATS) || REPEATS < 1) throw new Error(`BENCH_TRAINER_REPEATS must be an integer of at least 1, got ${process.env.BENCH_TRAINER_REPEATS}`);
const DATA = new URL('../examples/lending-club/lending_club.csv', import.meta.url);
const TARGET = 'Class';
const POSITIVE = 'bad';
const SEED = 42;
/** The aim's tolerance on |holdout ROC AUC ours − scikit-learn's| for the logistic regression. */
const AUC_TOLERANCE = 1e-6;
/** scikit-learn's lbfgs stops when the largest projected gradient component is below `tol`; ours at 1e-10 per row. */
const LBFGS_TOL = 1e-8;
const LBFGS_MAX_ITER = 10_000;

/** Median wall time in seconds of `repeats` runs of `fn` after one untimed warm-up run, and the last result. */
function timed<T>(fn: () => T): { seconds: number; result: T } {
  let result = fn();
  const times: number[] = [];
  for (let r = 0; r < REPEATS; r++) {
    const start = performance.now();
    result = fn();
    times.push((performance.now() - start) / 1000);
  }
  times.sort((a, b) => a - b);
  return { seconds: times[Math.floor(times.length / 2)] as number, result };
}

interface SklearnFigures {
  readonly sklearn: string;
  readonly numpy: string;
  readonly threads: string;
  readonly logistic: { seconds: number; auc: number; iterations: number; probabilities: number[] };
  /** `LogisticRegression(solver='newton-cholesky')`, null where scikit-learn is older than 1.2. */
  readonly newton: { seconds: number; auc: number; iterations: number } | null;
  readonly trees: { seconds: number; auc: number; trees: number };
}

// Reads the matrices written by writeMatrices (little-endian float64, row-major) and fits each model REPEATS + 1 times
// (the first fit untimed), on one thread: the OpenMP and BLAS variables are set by the parent before Python starts, and
// threadpoolctl (a dependency of scikit-learn) caps any pool already loaded.
const SKLEARN_SCRIPT = `
import json, sys, time
import numpy as np
import sklearn
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from threadpoolctl import threadpool_info, threadpool_limits
directory, n_train, n_holdout, columns, repeats = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
params = json.loads(sys.argv[6])
load = lambda name, rows: np.fromfile(f'{directory}/{name}.f64', dtype='<f8').reshape(rows, columns)
train_scaled, holdout_scaled = load('train-scaled', n_train), load('holdout-scaled', n_holdout)
train_encoded, holdout_encoded = load('train-encoded', n_train), load('holdout-encoded', n_holdout)
y_train = np.fromfile(f'{directory}/train-labels.u8', dtype=np.uint8).astype(np.int64)
y_holdout = np.fromfile(f'{directory}/holdout-labels.u8', dtype=np.uint8).astype(np.int64)

def timed(make, x, y):
    model, times = make().fit(x, y), []
    for _ in range(repeats):
        model = make()
        start = time.perf_counter()
        model.fit(x, y)
        times.append(time.perf_counter() - start)
    times.sort()
    return model, times[len(times) // 2]

with threadpool_limits(limits=1):
    lr, lr_seconds = timed(lambda: LogisticRegression(solver='lbfgs', **params['logistic']), train_scaled, y_train)
    hgb, hgb_seconds = timed(lambda: HistGradientBoostingClassifier(**params['trees']), train_encoded, y_train)
    # newton-cholesky (scikit-learn 1.2 and later) solves the same problem by Newton steps to its optimum, as ours does.
    try:
        exact, exact_seconds = timed(lambda: LogisticRegression(solver='newton-cholesky', **params['logistic']), train_scaled, y_train)
        exact_figures = {'seconds': exact_seconds, 'auc': float(roc_auc_score(y_holdout, exact.predict_proba(holdout_scaled)[:, 1])), 'iterations': int(exact.n_iter_[0])}
    except ValueError:
        exact_figures = None
    pools = ', '.join(f"{p['internal_api']} {p['num_threads']}" for p in threadpool_info()) or 'none'
lr_p = lr.predict_proba(holdout_scaled)[:, 1]
hgb_p = hgb.predict_proba(holdout_encoded)[:, 1]
print(json.dumps({
    'sklearn': sklearn.__version__, 'numpy': np.__version__, 'threads': pools,
    'logistic': {'seconds': lr_seconds, 'auc': float(roc_auc_score(y_holdout, lr_p)), 'iterations': int(lr.n_iter_[0]), 'probabilities': lr_p.tolist()},
    'newton': exact_figures,
    'trees': {'seconds': hgb_seconds, 'auc': float(roc_auc_score(y_holdout, hgb_p)), 'trees': int(hgb.n_iter_)},
}))
`;

/** The first interpreter that imports scikit-learn: `BENCH_PYTHON`, `/usr/bin/python3`, then `python3` on PATH. */
function findSklearnPython(): { python: string; version: string } | undefined {
  const candidates = [process.env.BENCH_PYTHON, '/usr/bin/python3', 'python3'].filter((c): c is string => c !== undefined && c !== '');
  for (const python of candidates) {
    const probe = spawnSync(python, ['-c', 'import sklearn, numpy, threadpoolctl; print(sklearn.__version__)'], { encoding: 'utf8' });
    if (probe.status === 0) return { python, version: probe.stdout.trim() };
  }
  return undefined;
}

/** Little-endian float64 bytes of a matrix (every platform Node.js supports here is little-endian). */
function float64Bytes(values: Float32Array | Float64Array): Buffer {
  const doubles = values instanceof Float64Array ? values : Float64Array.from(values);
  return Buffer.from(doubles.buffer, doubles.byteOffset, doubles.byteLength);
}

function writeMatrices(directory: string, data: EncodedTrainingData): void {
  writeFileSync(join(directory, 'train-scaled.f64'), float64Bytes(data.trainScaled));
  writeFileSync(join(directory, 'holdout-scaled.f64'), float64Bytes(data.holdoutScaled));
  writeFileSync(join(directory, 'train-encoded.f64'), float64Bytes(data.trainEncoded));
  writeFileSync(join(directory, 'holdout-encoded.f64'), float64Bytes(data.holdoutEncoded));
  writeFileSync(join(directory, 'train-labels.u8'), data.trainLabels);
  writeFileSync(join(directory, 'holdout-labels.u8'), data.holdoutLabels);
}

function runSklearn(python: string, data: EncodedTrainingData, params: unknown): SklearnFigures {
  const directory = mkdtempSync(join(tmpdir(), 'mlops-trainers-bench-'));
  try {
    writeMatrices(directory, data);
    const oneThread = { OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', MKL_NUM_THREADS: '1', VECLIB_MAXIMUM_THREADS: '1', NUMEXPR_NUM_THREADS: '1' };
    const child = spawnSync(
      python,
      ['-c', SKLEARN_SCRIPT, directory, String(data.trainLabels.length), String(data.holdoutLabels.length), String(data.columns), String(REPEATS), JSON.stringify(params)],
      { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, env: { ...process.env, ...oneThread } },
    );
    if (child.status !== 0) throw new Error(`the scikit-learn run failed (${child.status}): ${child.stderr}`);
    return JSON.parse(child.stdout) as SklearnFigures;
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

const fmtSeconds = (s: number): string => `${s.toFixed(s < 0.1 ? 4 : 3)} s`;
const ratio = (ours: number, theirs: number): string => `${(ours / theirs).toFixed(3)}x`;
const verdict = (met: boolean): string => (met ? 'met' : 'NOT met');

function main(): void {
  const data = encodeTrainingData({ csv: readFileSync(DATA, 'utf8'), target: TARGET, positiveLabel: POSITIVE, dataSha256: '', seed: SEED });
  const trainRows = data.trainLabels.length;
  const holdoutRows = data.holdoutLabels.length;
  console.log(
    `\ntrainers benchmark: lending club, ${trainRows.toLocaleString('en')} training and ${holdoutRows.toLocaleString('en')} holdout rows, ` +
      `${data.columns} encoded columns (split seed ${SEED}), fit time only, median of ${REPEATS} after a warm-up fit; node ${process.version}, load average ${(loadavg()[0] as number).toFixed(2)}`,
  );

  const l2 = DEFAULT_L2;
  const lr = timed(() => fitLogisticRegression(data.trainScaled, data.trainLabels, trainRows, data.columns, { l2, maxIterations: DEFAULT_MAX_ITERATIONS }));
  const lrProbabilities = predictProbabilities(lr.result, data.holdoutScaled, holdoutRows, data.columns);
  const lrAuc = rocAuc(data.holdoutLabels, lrProbabilities);

  const options = resolveGradientBoostingOptions({ seed: SEED });
  const gb = timed(() => fitGradientBoosting(data.trainEncoded, data.trainLabels, trainRows, data.columns, options));
  const gbAuc = rocAuc(data.holdoutLabels, predictGradientBoosting(gb.result, data.holdoutEncoded, holdoutRows, data.columns));

  const params = {
    // Ours minimises Σ logloss + (l2 / 2)‖w‖² with the intercept unpenalised: scikit-learn's objective with C = 1 / l2.
    logistic: { C: 1 / l2, tol: LBFGS_TOL, max_iter: LBFGS_MAX_ITER },
    trees: {
      max_iter: options.trees,
      max_depth: options.maxDepth,
      // Depth alone bounds the leaves, as in ours.
      max_leaf_nodes: null,
      learning_rate: options.learningRate,
      l2_regularization: options.lambda,
      max_bins: options.maxBins,
      early_stopping: false,
      random_state: SEED,
    },
  };

  const python = findSklearnPython();
  const sk = python === undefined ? undefined : runSklearn(python.python, data, params);

  const row = (cells: string[]): string => [cells[0]?.padEnd(33), cells[1]?.padEnd(9), cells[2]?.padEnd(9), cells[3]?.padEnd(10), cells[4]].join('  ');
  console.log(row(['model', 'fit', 'ratio', 'ROC AUC', 'detail']));
  console.log(row(['ours logistic regression', fmtSeconds(lr.seconds), '', lrAuc.toFixed(6), `l2 ${l2}, ${lr.result.iterations} Newton steps`]));
  if (sk !== undefined) {
    console.log(row(['scikit-learn LogisticRegression', fmtSeconds(sk.logistic.seconds), ratio(lr.seconds, sk.logistic.seconds), sk.logistic.auc.toFixed(6), `lbfgs, C ${1 / l2}, tol ${LBFGS_TOL}, ${sk.logistic.iterations} iterations`]));
  }
  if (sk?.newton) {
    console.log(row(['scikit-learn newton-cholesky', fmtSeconds(sk.newton.seconds), ratio(lr.seconds, sk.newton.seconds), sk.newton.auc.toFixed(6), `C ${1 / l2}, tol ${LBFGS_TOL}, ${sk.newton.iterations} Newton steps (not the aim's solver)`]));
  }
  console.log(row(['ours gradient-boosted trees', fmtSeconds(gb.seconds), '', gbAuc.toFixed(6), `${options.trees} trees, depth ${options.maxDepth}, rate ${options.learningRate}, subsample ${options.subsample}, min child weight ${options.minChildWeight}`]));
  if (sk !== undefined) {
    console.log(row(['scikit-learn HistGradientBoosting', fmtSeconds(sk.trees.seconds), ratio(gb.seconds, sk.trees.seconds), sk.trees.auc.toFixed(6), `${sk.trees.trees} trees, depth ${options.maxDepth}, no subsampling, min_samples_leaf 20`]));
  }
  if (python === undefined || sk === undefined) {
    console.log('scikit-learn: not installed (no BENCH_PYTHON, /usr/bin/python3 or python3 imports sklearn, numpy and threadpoolctl), our figures only');
    return;
  }
  let maxProbability = 0;
  sk.logistic.probabilities.forEach((p, i) => {
    maxProbability = Math.max(maxProbability, Math.abs(p - (lrProbabilities[i] as number)));
  });
  const aucDifference = Math.abs(lrAuc - sk.logistic.auc);
  const newtonDifference = sk.newton === null ? '' : `; against newton-cholesky ${Math.abs(lrAuc - sk.newton.auc).toExponential(2)}`;
  console.log(`scikit-learn ${sk.sklearn} (numpy ${sk.numpy}, ${python.python}), thread pools: ${sk.threads}; ratio = ours / scikit-learn`);
  console.log(`logistic regression: |holdout ROC AUC ours − scikit-learn| = ${aucDifference.toExponential(2)}, max |p ours − p scikit-learn| over the holdout = ${maxProbability.toExponential(2)}${newtonDifference}`);
  console.log(`aim: the logistic regression no slower than scikit-learn's lbfgs -> ${verdict(lr.seconds <= sk.logistic.seconds)} (${ratio(lr.seconds, sk.logistic.seconds)})`);
  console.log(`aim: the logistic regression's holdout ROC AUC within ${AUC_TOLERANCE} of scikit-learn's -> ${verdict(aucDifference <= AUC_TOLERANCE)} (${aucDifference.toExponential(2)})`);
  console.log(`aim: the gradient-boosted trees no slower than HistGradientBoostingClassifier on one thread -> ${verdict(gb.seconds <= sk.trees.seconds)} (${ratio(gb.seconds, sk.trees.seconds)})`);
}

main();
