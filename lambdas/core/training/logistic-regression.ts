/**
 * Binary logistic regression with an L2 penalty, fitted by Newton–Raphson (IRLS).
 *
 * Minimises  sum_i logloss(y_i, sigmoid(b + x_i·w)) + (l2 / 2) * ||w||²,
 * i.e. scikit-learn's LogisticRegression with C = 1 / l2 (the intercept b is not penalised).
 * Each Newton step solves H δ = g by Cholesky and is halved until the objective improves.
 */

export interface LogisticRegressionOptions {
  /** L2 penalty strength (1 / C in scikit-learn terms); 0 disables the penalty. Default 1. */
  readonly l2?: number;
  /** Default 100. */
  readonly maxIterations?: number;
  /** Stop when the largest absolute gradient component divided by the row count is below this. Default 1e-10. */
  readonly tolerance?: number;
  /** A weight per row that multiplies its log loss (scikit-learn's `sample_weight`; class weights become these). Default 1 each. */
  readonly sampleWeights?: ArrayLike<number>;
}

export interface LogisticRegressionModel {
  readonly weights: Float64Array;
  readonly intercept: number;
  readonly iterations: number;
  readonly converged: boolean;
}

export const DEFAULT_L2 = 1;
export const DEFAULT_MAX_ITERATIONS = 100;
const MAX_HALVINGS = 40;

/** Numerically stable logistic function. */
export function sigmoid(z: number): number {
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
}

/** log(1 + exp(z)) without overflow. */
function softplus(z: number): number {
  return z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
}

/** Linear scores b + x_i·w for a row-major matrix with `columns` columns. */
function scores(x: ArrayLike<number>, rows: number, columns: number, weights: ArrayLike<number>, intercept: number, out: Float64Array): Float64Array {
  for (let i = 0; i < rows; i++) {
    let z = intercept;
    const offset = i * columns;
    for (let j = 0; j < columns; j++) z += (x[offset + j] as number) * (weights[j] as number);
    out[i] = z;
  }
  return out;
}

function objective(z: Float64Array, y: ArrayLike<number>, weights: Float64Array, l2: number, sampleWeights: ArrayLike<number> | undefined): number {
  let loss = 0;
  for (let i = 0; i < z.length; i++) {
    const zi = z[i] as number;
    // -log p(y | z) = softplus(z) - y z
    loss += (sampleWeights === undefined ? 1 : (sampleWeights[i] as number)) * (softplus(zi) - (y[i] as number) * zi);
  }
  let norm = 0;
  for (let j = 0; j < weights.length; j++) norm += (weights[j] as number) ** 2;
  return loss + 0.5 * l2 * norm;
}

/**
 * Solves A x = b in place for a symmetric positive-definite A (row-major n×n) by Cholesky.
 * Returns false when A is not positive definite.
 */
export function choleskySolve(a: Float64Array, b: Float64Array, n: number): boolean {
  // Lower triangle of `a` becomes L with A = L Lᵀ.
  for (let j = 0; j < n; j++) {
    let d = a[j * n + j] as number;
    for (let k = 0; k < j; k++) d -= (a[j * n + k] as number) ** 2;
    if (!(d > 0)) return false;
    const ljj = Math.sqrt(d);
    a[j * n + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let s = a[i * n + j] as number;
      for (let k = 0; k < j; k++) s -= (a[i * n + k] as number) * (a[j * n + k] as number);
      a[i * n + j] = s / ljj;
    }
  }
  // Forward: L y = b; backward: Lᵀ x = y.
  for (let i = 0; i < n; i++) {
    let s = b[i] as number;
    for (let k = 0; k < i; k++) s -= (a[i * n + k] as number) * (b[k] as number);
    b[i] = s / (a[i * n + i] as number);
  }
  for (let i = n - 1; i >= 0; i--) {
    let s = b[i] as number;
    for (let k = i + 1; k < n; k++) s -= (a[k * n + i] as number) * (b[k] as number);
    b[i] = s / (a[i * n + i] as number);
  }
  return true;
}

/**
 * Fits the model on a row-major matrix `x` of `rows` × `columns` (already scaled) and 0/1 labels `y`.
 */
export function fitLogisticRegression(
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  rows: number,
  columns: number,
  options: LogisticRegressionOptions = {},
): LogisticRegressionModel {
  const l2 = options.l2 ?? DEFAULT_L2;
  const maxIterations = options.maxIterations ?? DEFAULT_MAX_ITERATIONS;
  const tolerance = options.tolerance ?? 1e-10;
  if (!(l2 >= 0) || !Number.isFinite(l2)) throw new RangeError(`l2 must be a finite number >= 0, got ${l2}`);
  if (x.length !== rows * columns || y.length !== rows) throw new RangeError('x, y, rows and columns do not agree');
  if (rows === 0) throw new RangeError('cannot fit on zero rows');
  const sampleWeights = options.sampleWeights;
  if (sampleWeights !== undefined && sampleWeights.length !== rows) throw new RangeError(`sampleWeights has ${sampleWeights.length} entries for ${rows} rows`);

  // Parameters θ = [intercept, w_0, …, w_{p-1}]; the design matrix has an implicit leading 1.
  const p = columns + 1;
  const weights = new Float64Array(columns);
  let intercept = 0;
  const z = scores(x, rows, columns, weights, intercept, new Float64Array(rows));
  let current = objective(z, y, weights, l2, sampleWeights);

  const gradient = new Float64Array(p);
  const hessian = new Float64Array(p * p);
  const row = new Float64Array(p);
  const candidate = new Float64Array(columns);
  const candidateZ = new Float64Array(rows);
  let iterations = 0;
  let converged = false;

  while (iterations < maxIterations) {
    gradient.fill(0);
    hessian.fill(0);
    for (let i = 0; i < rows; i++) {
      const mu = sigmoid(z[i] as number);
      const sw = sampleWeights === undefined ? 1 : (sampleWeights[i] as number);
      const residual = sw * (mu - (y[i] as number));
      const w = sw * mu * (1 - mu);
      row[0] = 1;
      for (let j = 0; j < columns; j++) row[j + 1] = x[i * columns + j] as number;
      for (let a = 0; a < p; a++) {
        const ra = row[a] as number;
        if (ra === 0) continue; // one-hot columns are mostly zero
        gradient[a] = (gradient[a] as number) + residual * ra;
        const wra = w * ra;
        for (let b = 0; b <= a; b++) hessian[a * p + b] = (hessian[a * p + b] as number) + wra * (row[b] as number);
      }
    }
    for (let j = 0; j < columns; j++) {
      gradient[j + 1] = (gradient[j + 1] as number) + l2 * (weights[j] as number);
      hessian[(j + 1) * p + j + 1] = (hessian[(j + 1) * p + j + 1] as number) + l2;
    }

    let maxGradient = 0;
    for (let a = 0; a < p; a++) maxGradient = Math.max(maxGradient, Math.abs(gradient[a] as number));
    if (maxGradient / rows < tolerance) {
      converged = true;
      break;
    }
    iterations++;

    // Mirror the lower triangle, then solve H δ = g (δ overwrites the gradient copy).
    for (let a = 0; a < p; a++) for (let b = 0; b < a; b++) hessian[b * p + a] = hessian[a * p + b] as number;
    const step = Float64Array.from(gradient);
    if (!choleskySolve(hessian.slice(), step, p)) {
      // Singular (e.g. no penalty and a constant column): add a small ridge and retry.
      let trace = 0;
      for (let a = 0; a < p; a++) trace += hessian[a * p + a] as number;
      const ridge = 1e-8 * (trace / p || 1);
      for (let a = 0; a < p; a++) hessian[a * p + a] = (hessian[a * p + a] as number) + ridge;
      step.set(gradient);
      if (!choleskySolve(hessian, step, p)) break;
    }

    // Step halving until the penalised objective improves.
    let t = 1;
    let improved = false;
    for (let h = 0; h < MAX_HALVINGS; h++) {
      const candidateIntercept = intercept - t * (step[0] as number);
      for (let j = 0; j < columns; j++) candidate[j] = (weights[j] as number) - t * (step[j + 1] as number);
      scores(x, rows, columns, candidate, candidateIntercept, candidateZ);
      const value = objective(candidateZ, y, candidate, l2, sampleWeights);
      if (value <= current) {
        const relativeGain = (current - value) / Math.max(1, Math.abs(current));
        intercept = candidateIntercept;
        weights.set(candidate);
        z.set(candidateZ);
        current = value;
        improved = true;
        if (relativeGain < 1e-15) converged = true;
        break;
      }
      t /= 2;
    }
    if (!improved || converged) {
      // No step improves the objective any more: we are at the optimum up to rounding.
      converged = converged || !improved;
      break;
    }
  }

  return { weights, intercept, iterations, converged };
}

/** Probabilities sigmoid(b + x_i·w) for a row-major matrix with `columns` columns. */
export function predictProbabilities(model: LogisticRegressionModel, x: ArrayLike<number>, rows: number, columns: number): Float64Array {
  const out = scores(x, rows, columns, model.weights, model.intercept, new Float64Array(rows));
  for (let i = 0; i < rows; i++) out[i] = sigmoid(out[i] as number);
  return out;
}
