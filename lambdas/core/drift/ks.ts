/**
 * Two-sample Kolmogorov–Smirnov test, two-sided, as SciPy 1.10's `scipy.stats.ks_2samp` computes
 * it with `method='auto'`:
 *
 * - the statistic D is the largest distance between the two empirical CDFs (ties handled by
 *   evaluating both CDFs at every observed value, like `searchsorted(side='right')`);
 * - when max(n1, n2) ≤ 10 000 (SciPy's `MAX_AUTO_N`) the p-value is exact: D is snapped to
 *   h / lcm(n1, n2) with h = round(D · lcm) (NumPy rounding, half to even), then
 *   Pr(D ≥ h/lcm) is the "outside the square" sum when n1 = n2 and Hodges' inside method in
 *   Viehmann's stable form otherwise (`_compute_outer_prob_inside_method`); an exact
 *   computation that fails (not a probability) falls back to the asymptotic one;
 * - otherwise the p-value is `kstwo.sf(D, round(n1·n2 / (n1 + n2)))` (see kolmogorov.ts).
 *
 * Checked against vectors from Debian's python3-scipy in test/fixtures/drift/ks_2samp.json.
 */
import { kstwoSf } from './kolmogorov.ts';
import { roundHalfEven } from './special.ts';

export interface KsResult {
  readonly statistic: number;
  readonly pvalue: number;
  readonly method: 'exact' | 'asymp';
}

/** SciPy's `MAX_AUTO_N`: the largest sample size for which `auto` tries the exact distribution. */
export const KS_MAX_EXACT_N = 10_000;

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

function sortedCopy(values: ArrayLike<number>): Float64Array {
  const out = Float64Array.from(values);
  for (const v of out) if (Number.isNaN(v)) throw new RangeError('ksTwoSample: samples must not contain NaN');
  return out.sort();
}

/** Pr(D_{n,n} ≥ h/n): the proportion of lattice paths outside the lines x − y = ±h. */
function probOutsideSquare(n: number, h: number): number {
  let P = 0;
  let k = Math.floor(n / h);
  while (k >= 0) {
    let p1 = 1;
    for (let j = 0; j < h; j++) p1 = ((n - k * h - j) * p1) / (n + k * h + j + 1);
    P = p1 * (1 - P);
    k -= 1;
  }
  return 2 * P;
}

/** Pr(D_{m,n} ≥ h/lcm): the proportion of paths not strictly inside |x/m − y/n| < h/lcm (Viehmann's recursion). */
function outerProbInsideMethod(m0: number, n0: number, g: number, h: number): number {
  const m = Math.max(m0, n0);
  const n = Math.min(m0, n0);
  const mg = m / g;
  const ng = n / g;
  let minj = 0;
  let maxj = Math.min(Math.ceil(h / mg), n + 1);
  let curlen = maxj - minj;
  const lenA = Math.min(2 * maxj + 2, n + 1);
  const A = new Float64Array(lenA).fill(1);
  for (let j = minj; j < Math.min(maxj, lenA); j++) A[j] = 0;
  for (let i = 1; i <= m; i++) {
    const lastminj = minj;
    const lastlen = curlen;
    minj = Math.max(Math.floor((ng * i - h) / mg) + 1, 0);
    minj = Math.min(minj, n);
    maxj = Math.min(Math.ceil((ng * i + h) / mg), n + 1);
    if (maxj <= minj) return 1;
    let val = minj === 0 ? 0 : 1;
    for (let jj = 0; jj < maxj - minj; jj++) {
      const j = jj + minj;
      val = ((A[jj + minj - lastminj] as number) * i + val * j) / (i + j);
      A[jj] = val;
    }
    curlen = maxj - minj;
    if (lastlen > curlen) {
      const end = Math.min(maxj - minj + (lastlen - curlen), lenA);
      for (let j = maxj - minj; j < end; j++) A[j] = 1;
    }
  }
  return A[maxj - minj - 1] as number;
}

/** The two-sided statistic max |F1 − F2| over all observed values of two sorted samples. */
function ksStatistic(a: Float64Array, b: Float64Array): number {
  const n1 = a.length;
  const n2 = b.length;
  let i = 0;
  let j = 0;
  let maxS = Number.NEGATIVE_INFINITY;
  let minS = Number.POSITIVE_INFINITY;
  while (i < n1 || j < n2) {
    const x = j >= n2 || (i < n1 && (a[i] as number) <= (b[j] as number)) ? (a[i] as number) : (b[j] as number);
    while (i < n1 && (a[i] as number) <= x) i++;
    while (j < n2 && (b[j] as number) <= x) j++;
    const diff = i / n1 - j / n2;
    if (diff > maxS) maxS = diff;
    if (diff < minS) minS = diff;
  }
  const minClipped = Math.min(Math.max(-minS, 0), 1);
  return minClipped > maxS ? minClipped : maxS;
}

/**
 * Two-sided two-sample KS test of `a` against `b` (SciPy `ks_2samp(a, b)`, method 'auto').
 * @throws RangeError when a sample is empty or holds NaN.
 */
export function ksTwoSample(a: ArrayLike<number>, b: ArrayLike<number>): KsResult {
  const data1 = sortedCopy(a);
  const data2 = sortedCopy(b);
  const n1 = data1.length;
  const n2 = data2.length;
  if (n1 === 0 || n2 === 0) throw new RangeError('ksTwoSample: samples must not be empty');

  let d = ksStatistic(data1, data2);
  let method: 'exact' | 'asymp' = Math.max(n1, n2) <= KS_MAX_EXACT_N ? 'exact' : 'asymp';
  let prob = Number.NaN;
  if (method === 'exact') {
    const g = gcd(n1, n2);
    const lcm = (n1 / g) * n2;
    const h = roundHalfEven(d * lcm);
    d = h / lcm;
    if (h === 0) prob = 1;
    else prob = n1 === n2 ? probOutsideSquare(n1, h) : outerProbInsideMethod(n1, n2, g, h);
    if (!(prob >= 0 && prob <= 1)) method = 'asymp';
  }
  if (method === 'asymp') {
    const m = Math.max(n1, n2);
    const n = Math.min(n1, n2);
    const en = (m * n) / (m + n);
    prob = kstwoSf(d, roundHalfEven(en));
  }
  return { statistic: d, pvalue: Math.min(Math.max(prob, 0), 1), method };
}
