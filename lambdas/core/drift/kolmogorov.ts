/**
 * The distribution of the two-sided one-sample Kolmogorov–Smirnov statistic D_n, ported from
 * SciPy 1.10 (`scipy/stats/_ksstats.py`, which `scipy.stats.kstwo` uses) and the one-sided
 * Smirnov survival function of Cephes' `kolmogorov.c` (`scipy.special.smirnov`).
 *
 * `kstwoSf(d, n)` follows Simard & L'Ecuyer (2011) exactly as `_kolmogn` does: Ruben–Gambino for
 * d ≤ 1/n and d ≥ 1 − 1/n, 2·smirnov for d ≥ 0.5, the Durbin matrix (Marsaglia–Tsang–Wang) or
 * Pomeranz recursion for n ≤ 140, and for larger n 2·smirnov in the tail, else Durbin or
 * Pelz–Good. Differences from SciPy: intermediate scaling is in doubles (SciPy switches to
 * `long double` after a rescale) and `smirnov` sums its terms in logarithms instead of
 * double-double arithmetic; both change results in the last few bits only.
 */

const E128 = 128;
const EP128 = 2 ** 128;
const EM128 = 2 ** -128;
const SQRT2PI = Math.sqrt(2 * Math.PI);
const LOG_2PI = Math.log(2 * Math.PI);
const MIN_LOG = -708;
const SQRT3 = Math.sqrt(3);
const PI_SQUARED = Math.PI ** 2;
const PI_FOUR = Math.PI ** 4;
const PI_SIX = Math.PI ** 6;
/** Cephes MINLOG: log(2^-1075). */
const CEPHES_MINLOG = -745.1332191019412;
const SMIRNOV_MAX_COMPUTE_N = 1_000_000;

const STIRLING_COEFFS = [
  -0.029550653594771242, 0.00641025641025641, -0.0019175269175269176, 0.0008417508417508417,
  -0.0005952380952380953, 0.0007936507936507937, -0.002777777777777778, 0.08333333333333333,
];

const clip = (p: number): number => Math.min(Math.max(p, 0), 1);
const select = (cdfProb: number, sfProb: number, cdf: boolean): number => clip(cdf ? cdfProb : sfProb);

function logNFactorialDivNPowN(n: number): number {
  const rn = 1 / n;
  let poly = 0;
  for (const c of STIRLING_COEFFS) poly = poly * (rn / n) + c;
  return Math.log(n) / 2 - n + LOG_2PI / 2 + rn * poly;
}

function matmul(a: Float64Array, b: Float64Array, m: number): Float64Array {
  const out = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let k = 0; k < m; k++) {
      const aik = a[i * m + k] as number;
      if (aik === 0) continue;
      for (let j = 0; j < m; j++) out[i * m + j] = (out[i * m + j] as number) + aik * (b[k * m + j] as number);
    }
  }
  return out;
}

/** Pr(D_n ≤ d) by the Durbin matrix algorithm as Marsaglia, Tsang & Wang evaluate it. */
function kolmognDMTW(n: number, d: number, cdf: boolean): number {
  if (d >= 1) return select(1, 0, cdf);
  const nd = n * d;
  if (nd <= 0.5) return select(0, 1, cdf);
  const k = Math.ceil(nd);
  const h = k - nd;
  const m = 2 * k - 1;

  const v = new Float64Array(m);
  const w = new Float64Array(m);
  let fac = 1;
  for (let j = 1; j <= m; j++) {
    v[j - 1] = 1 - h ** j;
    w[j - 1] = fac;
    fac /= j;
    v[j - 1] = (v[j - 1] as number) * fac;
  }
  const tt = Math.max(2 * h - 1, 0) ** m - 2 * h ** m;
  v[m - 1] = (1 + tt) * fac;

  let H: Float64Array = new Float64Array(m * m);
  for (let i = 1; i < m; i++) {
    for (let r = i - 1; r < m; r++) H[r * m + i] = w[r - i + 1] as number;
  }
  for (let r = 0; r < m; r++) H[r * m] = v[r] as number;
  for (let c = 0; c < m; c++) H[(m - 1) * m + c] = v[m - 1 - c] as number;

  let Hpwr: Float64Array = new Float64Array(m * m);
  for (let i = 0; i < m; i++) Hpwr[i * m + i] = 1;
  let nn = n;
  let expnt = 0;
  let Hexpnt = 0;
  while (nn > 0) {
    if (nn % 2) {
      Hpwr = matmul(Hpwr, H, m);
      expnt += Hexpnt;
    }
    H = matmul(H, H, m);
    Hexpnt *= 2;
    if (Math.abs(H[(k - 1) * m + (k - 1)] as number) > EP128) {
      for (let i = 0; i < H.length; i++) H[i] = (H[i] as number) / EP128;
      Hexpnt += E128;
    }
    nn = Math.floor(nn / 2);
  }

  let p = Hpwr[(k - 1) * m + (k - 1)] as number;
  for (let i = 1; i <= n; i++) {
    p = (i * p) / n;
    if (Math.abs(p) < EM128) {
      p *= EP128;
      expnt -= E128;
    }
  }
  if (expnt !== 0) p = p * 2 ** expnt;
  return select(p, 1 - p, cdf);
}

function pomeranzJ1J2(i: number, n: number, ll: number, ceilf: number, roundf: number): [number, number] {
  let j1: number;
  let j2: number;
  if (i === 0) {
    j1 = -ll - ceilf - 1;
    j2 = ll + ceilf - 1;
  } else {
    const ip1div2 = Math.floor((i + 1) / 2);
    const ip1mod2 = (i + 1) % 2;
    if (ip1mod2 === 0) {
      if (ip1div2 === n + 1) {
        j1 = n - ll - ceilf - 1;
        j2 = n + ll + ceilf - 1;
      } else {
        j1 = ip1div2 - 1 - ll - roundf - 1;
        j2 = ip1div2 + ll - 1 + ceilf - 1;
      }
    } else {
      j1 = ip1div2 - 1 - ll - 1;
      j2 = ip1div2 + ll + roundf - 1;
    }
  }
  return [Math.max(j1 + 2, 0), Math.min(j2, n)];
}

/** Pr(D_n ≤ x) by the Pomeranz recursion. */
function kolmognPomeranz(n: number, x: number, cdf: boolean): number {
  const t = n * x;
  const ll = Math.floor(t);
  const f = t - ll;
  const g = Math.min(f, 1 - f);
  const ceilf = f > 0 ? 1 : 0;
  const roundf = f > 0.5 ? 1 : 0;
  const npwrs = 2 * (ll + 1);
  const gpower = new Float64Array(npwrs);
  const twogpower = new Float64Array(npwrs);
  const onem2gpower = new Float64Array(npwrs);
  gpower[0] = 1;
  twogpower[0] = 1;
  onem2gpower[0] = 1;
  let expnt = 0;
  const gOverN = g / n;
  const twoGOverN = (2 * g) / n;
  const oneMinusTwoGOverN = (1 - 2 * g) / n;
  for (let m = 1; m < npwrs; m++) {
    gpower[m] = ((gpower[m - 1] as number) * gOverN) / m;
    twogpower[m] = ((twogpower[m - 1] as number) * twoGOverN) / m;
    onem2gpower[m] = ((onem2gpower[m - 1] as number) * oneMinusTwoGOverN) / m;
  }

  let V0 = new Float64Array(npwrs);
  let V1 = new Float64Array(npwrs);
  V1[0] = 1;
  let V0s = 0;
  let V1s = 0;
  let j1 = pomeranzJ1J2(0, n, ll, ceilf, roundf)[0];
  let j2: number;
  for (let i = 1; i < 2 * n + 2; i++) {
    const k1 = j1;
    [V0, V1] = [V1, V0];
    [V0s, V1s] = [V1s, V0s];
    V1.fill(0);
    [j1, j2] = pomeranzJ1J2(i, n, ll, ceilf, roundf);
    const pwrs = i === 1 || i === 2 * n + 1 ? gpower : i % 2 ? twogpower : onem2gpower;
    const ln2 = j2 - k1 + 1;
    if (ln2 > 0) {
      // NumPy slices clamp at the array's end.
      const aStart = k1 - V0s;
      const a = V0.subarray(aStart, Math.min(aStart + ln2, npwrs));
      const b = pwrs.subarray(0, Math.min(ln2, npwrs));
      const conv = new Float64Array(a.length + b.length - 1);
      for (let p = 0; p < a.length; p++) {
        const ap = a[p] as number;
        if (ap === 0) continue;
        for (let q = 0; q < b.length; q++) conv[p + q] = (conv[p + q] as number) + ap * (b[q] as number);
      }
      const convStart = j1 - k1;
      const convLen = j2 - j1 + 1;
      let max = Number.NEGATIVE_INFINITY;
      for (let c = 0; c < convLen; c++) {
        const value = conv[convStart + c] ?? 0;
        V1[c] = value;
      }
      for (const value of V1) if (value > max) max = value;
      if (max > 0 && max < EM128) {
        for (let c = 0; c < V1.length; c++) V1[c] = (V1[c] as number) * EP128;
        expnt -= E128;
      }
      V1s = V0s + j1 - k1;
    }
  }
  let ans = V1[n - V1s] as number;
  for (let m = 1; m <= n; m++) {
    if (Math.abs(ans) > EP128) {
      ans *= EM128;
      expnt += E128;
    }
    ans *= m;
  }
  if (expnt !== 0) ans = ans * 2 ** expnt;
  return select(ans, 1 - ans, cdf);
}

/** Pelz–Good approximation to Pr(D_n ≤ x). */
function kolmognPelzGood(n: number, x: number, cdf: boolean): number {
  if (x <= 0) return select(0, 1, cdf);
  if (x >= 1) return select(1, 0, cdf);
  const z = Math.sqrt(n) * x;
  const zsquared = z ** 2;
  const zthree = z ** 3;
  const zfour = z ** 4;
  const zsix = z ** 6;
  const qlog = -PI_SQUARED / 8 / zsquared;
  if (qlog < MIN_LOG) return select(0, 1, cdf);
  let q = Math.exp(qlog);

  const k1a = -zsquared;
  const k1b = PI_SQUARED / 4;
  const k2a = 6 * zsix + 2 * zfour;
  const k2b = ((2 * zfour - 5 * zsquared) * PI_SQUARED) / 4;
  const k2c = (PI_FOUR * (1 - 2 * zsquared)) / 16;
  const k3d = (PI_SIX * (5 - 30 * zsquared)) / 64;
  const k3c = (PI_FOUR * (-60 * zsquared + 212 * zfour)) / 16;
  const k3b = (PI_SQUARED * (135 * zfour - 96 * zsix)) / 4;
  const k3a = -30 * zsix - 90 * z ** 8;

  const K = [0, 0, 0, 0];
  const maxk = Math.ceil((16 * z) / Math.PI);
  for (let k = maxk; k > 0; k--) {
    const m = 2 * k - 1;
    const msquared = m ** 2;
    const mfour = m ** 4;
    const msix = m ** 6;
    const qpower = q ** (8 * k);
    const coeffs = [1, k1a + k1b * msquared, k2a + k2b * msquared + k2c * mfour, k3a + k3b * msquared + k3c * mfour + k3d * msix];
    for (let i = 0; i < 4; i++) K[i] = (K[i] as number) * qpower + (coeffs[i] as number);
  }
  const divisors = [z, 6 * zfour, 72 * z ** 7, 6480 * z ** 10];
  for (let i = 0; i < 4; i++) K[i] = ((K[i] as number) * q * SQRT2PI) / (divisors[i] as number);

  q = Math.exp(-PI_SQUARED / 2 / zsquared);
  const sqrt3z = SQRT3 * z;
  let k2extra = 0;
  let k3extra = 0;
  for (let k = maxk; k > 0; k--) {
    const ksquared = k * k;
    const qpwer = q ** ksquared;
    const kspi = Math.PI * k;
    k2extra += ksquared * qpwer;
    k3extra += (sqrt3z + kspi) * (sqrt3z - kspi) * ksquared * qpwer;
  }
  k2extra *= (PI_SQUARED * SQRT2PI) / (-36 * zthree);
  K[2] = (K[2] as number) + k2extra;
  k3extra *= (PI_SQUARED * SQRT2PI) / (216 * zsix);
  K[3] = (K[3] as number) + k3extra;
  for (let i = 0; i < 4; i++) K[i] = (K[i] as number) / n ** (i / 2);
  if (!cdf) {
    for (let i = 0; i < 4; i++) K[i] = -(K[i] as number);
    K[0] = (K[0] as number) + 1;
  }
  return (K[0] as number) + (K[1] as number) + (K[2] as number) + (K[3] as number);
}

/**
 * Survival function of the one-sided Smirnov statistic, Pr(D_n⁺ ≥ x) (Cephes `smirnov`), by the
 * Birnbaum–Tingey lower sum. The upper-sum variant Cephes picks for x ≤ 0.5/√n with at most three
 * terms is not reached from `kstwoSf` (which only asks for the tail) and is not ported.
 */
export function smirnov(n: number, x: number): number {
  if (!(n > 0 && x >= 0 && x <= 1)) return Number.NaN;
  if (n === 1) return 1 - x;
  if (x === 0) return 1;
  if (x === 1) return 0;
  const nx = n * x;
  let nxfl = Math.floor(nx);
  let alpha = nx - nxfl;
  if (alpha === 1) {
    nxfl += 1;
    alpha = 0;
  }
  let n1mxfl = n - nxfl - (alpha === 0 ? 0 : 1);
  if (alpha === 0) n1mxfl -= 1;
  // Exact for x ≤ 1/n. At x = fl(1/n) for n > 10⁶ SciPy differs on purpose here: its double-double n·x lands just
  // above 1 and it takes the asymptotic form below, up to 4·10⁻⁹ relative off; n·x rounds to 1 in doubles, and we keep
  // the exact value, continuous with the one at the double below (the distribution is continuous in x).
  if (nxfl === 0 || (nxfl === 1 && alpha === 0)) return clip(1 - x * (1 + x) ** (n - 1));
  if (-2 * n * x * x < CEPHES_MINLOG) return 0;
  if (nxfl >= n - 1) return clip((1 - x) ** n);
  if (n > SMIRNOV_MAX_COMPUTE_N) {
    const logp = -((6 * n * x + 1) ** 2) / 18 / n;
    return clip(logp < -Math.LN2 ? Math.exp(logp) : 1 + Math.expm1(logp));
  }
  const nTerms = n1mxfl + 1;
  const vmid = Math.floor(n / 2);
  let sum = (1 - x) ** n / x;
  let logC = 0; // log C(n, v)
  for (let v = 1; v < nTerms; v++) {
    logC += Math.log((n - v + 1) / v);
    const t1x = v / n + x;
    const t2x = (n - v) / n - x;
    const term = Math.exp(logC + (v - 1) * Math.log(t1x) + (n - v) * Math.log(t2x));
    if (Number.isFinite(term) && term !== 0) sum += term;
    if (term !== 0) {
      if (4 * (nTerms - v) * Math.abs(term) < Number.EPSILON * sum && v !== nTerms - 1) break;
    } else if (v > vmid) {
      break;
    }
  }
  return clip(x * sum);
}

/** SciPy's `_kolmogn(n, x, cdf)`: CDF or SF of the two-sided one-sample KS statistic. */
export function kolmogn(n: number, x: number, cdf: boolean): number {
  if (!Number.isInteger(n) || n <= 0) return Number.NaN;
  if (x >= 1) return select(1, 0, cdf);
  if (x <= 0) return select(0, 1, cdf);
  const t = n * x;
  if (t <= 1) {
    if (t <= 0.5) return select(0, 1, cdf);
    let prob: number;
    if (n <= 140) {
      prob = 1;
      for (let i = 1; i <= n; i++) prob *= i * (1 / n) * (2 * t - 1);
    } else {
      prob = Math.exp(logNFactorialDivNPowN(n) + n * Math.log(2 * t - 1));
    }
    return select(prob, 1 - prob, cdf);
  }
  if (t >= n - 1) {
    const prob = 2 * (1 - x) ** n;
    return select(1 - prob, prob, cdf);
  }
  if (x >= 0.5) {
    const prob = 2 * smirnov(n, x);
    return select(1 - prob, prob, cdf);
  }
  const nxsquared = t * x;
  if (n <= 140) {
    if (nxsquared <= 0.754693) {
      const prob = kolmognDMTW(n, x, true);
      return select(prob, 1 - prob, cdf);
    }
    if (nxsquared <= 4) {
      const prob = kolmognPomeranz(n, x, true);
      return select(prob, 1 - prob, cdf);
    }
    const prob = 2 * smirnov(n, x);
    return select(1 - prob, prob, cdf);
  }
  if (!cdf) {
    if (nxsquared >= 370) return 0;
    if (nxsquared >= 2.2) return clip(2 * smirnov(n, x));
  }
  let cdfProb: number;
  if (nxsquared >= 18) cdfProb = 1;
  else if (n <= 100000 && n * x ** 1.5 <= 1.4) cdfProb = kolmognDMTW(n, x, true);
  else cdfProb = kolmognPelzGood(n, x, true);
  return select(cdfProb, 1 - cdfProb, cdf);
}

/**
 * `scipy.stats.kstwo.sf(d, n)`: Pr(D_n > d) for the two-sided one-sample KS statistic of a sample
 * of size n. Outside the support (0.5/n, 1) it is 1 below and 0 above, as rv_continuous makes it.
 */
export function kstwoSf(d: number, n: number): number {
  if (!(n >= 1) || !Number.isInteger(n) || Number.isNaN(d)) return Number.NaN;
  if (d <= 0.5 / n) return 1;
  if (d >= 1) return 0;
  return kolmogn(n, d, false);
}

