/**
 * Population Stability Index: PSI = Σ (aᵢ − eᵢ) · ln(aᵢ / eᵢ) over bins, eᵢ the baseline
 * (expected) share and aᵢ the current (actual) share of bin i.
 *
 * Empty bins: a share below {@link PSI_EPSILON} (1e-4) is raised to it before the logarithm, so a
 * bin that is empty on one side adds a large but finite term instead of infinity. With that
 * floor a bin's term is at most about 0.92 (share 1 against 1e-4).
 *
 * Numeric features use the baseline's decile bins: the distinct inner quantiles q0.1 … q0.9 of the
 * profile cut the line into right-closed bins (−∞, e₁], (e₁, e₂], …, (e_k, ∞), so values beyond
 * the training range fall in the end bins. The baseline share of each bin comes from the
 * quantile levels (see {@link baselineBinShares}); categorical features use the categories'
 * frequencies, plus one bin for categories the baseline never saw.
 */

/** The floor for a bin share before taking logarithms. */
export const PSI_EPSILON = 1e-4;

/** PSI between two share vectors of equal length (each should sum to 1). */
export function psi(expected: readonly number[], actual: readonly number[], epsilon: number = PSI_EPSILON): number {
  if (expected.length !== actual.length) throw new RangeError(`psi: ${expected.length} expected but ${actual.length} actual shares`);
  let total = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = Math.max(expected[i] as number, epsilon);
    const a = Math.max(actual[i] as number, epsilon);
    total += (a - e) * Math.log(a / e);
  }
  return total;
}

/** The distinct inner cut points of a profile's 11 quantiles (q0.1 … q0.9), ascending. */
export function quantileEdges(quantiles: readonly number[]): number[] {
  const edges: number[] = [];
  for (let i = 1; i < quantiles.length - 1; i++) {
    const q = quantiles[i] as number;
    if (edges.length === 0 || q > (edges[edges.length - 1] as number)) edges.push(q);
  }
  return edges;
}

/** Index of the right-closed bin of `value` among `edges`: 0 for value ≤ e₁, …, edges.length above the last. */
export function binIndex(edges: readonly number[], value: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (value <= (edges[mid] as number)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Shares of `values` in the bins of `edges` (all zeros when `values` is empty). */
export function binShares(edges: readonly number[], values: readonly number[]): number[] {
  const counts = new Array<number>(edges.length + 1).fill(0);
  for (const v of values) {
    const i = binIndex(edges, v);
    counts[i] = (counts[i] as number) + 1;
  }
  return values.length === 0 ? counts : counts.map((c) => c / values.length);
}

/**
 * The baseline share of each bin of {@link quantileEdges}, estimated from the quantile levels
 * 0, 0.1, …, 1: F(e) is taken as the highest level whose quantile equals e, plus half a decile
 * when e is an atom (repeated over several levels), since F then lies somewhere in
 * [that level, that level + 0.1). Exact for continuous data; off by at most 0.05 per edge for
 * discrete data.
 */
export function baselineBinShares(quantiles: readonly number[]): number[] {
  const edges = quantileEdges(quantiles);
  const step = 1 / (quantiles.length - 1);
  const cdf = edges.map((edge) => {
    let last = -1;
    let repeats = 0;
    quantiles.forEach((q, j) => {
      if (q === edge) {
        last = j;
        repeats++;
      }
    });
    return Math.min(1, last * step + (repeats > 1 ? step / 2 : 0));
  });
  const shares: number[] = [];
  let previous = 0;
  for (const f of cdf) {
    shares.push(Math.max(f - previous, 0));
    previous = Math.max(previous, f);
  }
  shares.push(Math.max(1 - previous, 0));
  return shares;
}

/** PSI of current numeric `values` against a numeric profile's decile bins. */
export function numericPsi(quantiles: readonly number[], values: readonly number[]): number {
  return psi(baselineBinShares(quantiles), binShares(quantileEdges(quantiles), values));
}

/**
 * PSI of current category counts against baseline frequencies. Categories missing from the
 * baseline share one extra "unseen" bin whose baseline share is 0 (floored to epsilon).
 */
export function categoricalPsi(frequencies: Readonly<Record<string, number>>, counts: ReadonlyMap<string, number>): number {
  let total = 0;
  for (const c of counts.values()) total += c;
  if (total === 0) return 0;
  const expected: number[] = [];
  const actual: number[] = [];
  for (const [category, share] of Object.entries(frequencies)) {
    expected.push(share);
    actual.push((counts.get(category) ?? 0) / total);
  }
  let unseen = 0;
  for (const [category, c] of counts) if (!Object.hasOwn(frequencies, category)) unseen += c;
  expected.push(0);
  actual.push(unseen / total);
  return psi(expected, actual);
}
