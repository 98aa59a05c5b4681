/**
 * Chi-square tests, as SciPy computes them: goodness of fit ({@link chiSquare}) and homogeneity of a
 * contingency table ({@link chiSquareContingency}, what the drift checks use).
 *
 * Pearson's chi-square goodness-of-fit test, as `scipy.stats.chisquare(f_obs, f_exp)` computes it:
 * statistic Σ (o − e)² / e and p-value `chi2.sf(statistic, k − 1)`, k the number of categories.
 * Without `expected` every category expects the mean count. Like SciPy, the observed and expected
 * totals must agree to a relative tolerance of 1e-8.
 */
import { chiSquareSf } from './special.ts';

export interface ChiSquareResult {
  readonly statistic: number;
  readonly pvalue: number;
  /** Degrees of freedom, k − 1. */
  readonly dof: number;
}

/** SciPy's tolerance on |Σo − Σe| / min(Σo, Σe). */
export const CHI_SQUARE_SUM_RTOL = 1e-8;

/**
 * @throws RangeError when the lengths differ, a list is empty, or the totals disagree.
 */
export function chiSquare(observed: readonly number[], expected?: readonly number[]): ChiSquareResult {
  const k = observed.length;
  if (k === 0) throw new RangeError('chiSquare: no categories');
  let observedSum = 0;
  for (const o of observed) observedSum += o;
  let exp: readonly number[];
  if (expected === undefined) {
    exp = observed.map(() => observedSum / k);
  } else {
    if (expected.length !== k) throw new RangeError(`chiSquare: ${k} observed but ${expected.length} expected counts`);
    let expectedSum = 0;
    for (const e of expected) expectedSum += e;
    const relativeDiff = Math.abs(observedSum - expectedSum) / Math.min(observedSum, expectedSum);
    if (relativeDiff > CHI_SQUARE_SUM_RTOL) {
      throw new RangeError(
        `chiSquare: observed total ${observedSum} and expected total ${expectedSum} differ by ${relativeDiff} (relative)`,
      );
    }
    exp = expected;
  }
  let statistic = 0;
  for (let i = 0; i < k; i++) {
    const e = exp[i] as number;
    statistic += ((observed[i] as number) - e) ** 2 / e;
  }
  const dof = k - 1;
  return { statistic, pvalue: dof > 0 ? chiSquareSf(statistic, dof) : Number.NaN, dof };
}

/** A test of homogeneity on a contingency table, as `scipy.stats.chi2_contingency(observed)` with its defaults. */
export interface ContingencyResult extends ChiSquareResult {
  /** The expected counts under homogeneity: row total × column total / grand total. */
  readonly expected: number[][];
}

/**
 * Pearson's chi-square test of homogeneity (independence) on an r × c table of counts, as SciPy's
 * `chi2_contingency(observed)` with its defaults (`correction=True`, `lambda_=None`): expected counts from
 * the margins, dof = (r − 1)(c − 1), Yates' continuity correction only when dof = 1 (a 2 × 2 table:
 * each observed count moves half a unit towards its expected count, never past it), statistic 0 and p 1
 * when dof = 0. Unlike a goodness-of-fit test it treats both rows as samples, so it keeps its level
 * whatever the ratio of the two sample sizes.
 *
 * @throws RangeError on a ragged or empty table, a negative or non-finite count, or an expected count of
 *   zero (a row or column whose total is zero), as SciPy raises a ValueError.
 */
export function chiSquareContingency(observed: readonly (readonly number[])[]): ContingencyResult {
  const rows = observed.length;
  const columns = observed[0]?.length ?? 0;
  if (rows === 0 || columns === 0) throw new RangeError('chiSquareContingency: the table is empty');
  const rowSums = new Array<number>(rows).fill(0);
  const columnSums = new Array<number>(columns).fill(0);
  let total = 0;
  observed.forEach((row, i) => {
    if (row.length !== columns) throw new RangeError(`chiSquareContingency: row ${i} has ${row.length} cells, row 0 has ${columns}`);
    row.forEach((count, j) => {
      if (!(count >= 0) || !Number.isFinite(count)) throw new RangeError(`chiSquareContingency: cell [${i}, ${j}] must be a finite count ≥ 0, got ${count}`);
      rowSums[i] = (rowSums[i] as number) + count;
      columnSums[j] = (columnSums[j] as number) + count;
      total += count;
    });
  });
  const expected = rowSums.map((r) => columnSums.map((c) => (r * c) / total));
  expected.forEach((row, i) =>
    row.forEach((e, j) => {
      if (!(e > 0)) throw new RangeError(`chiSquareContingency: the expected count at [${i}, ${j}] is zero (an empty row or column)`);
    }),
  );
  const dof = rows * columns - rows - columns + 1;
  if (dof === 0) return { statistic: 0, pvalue: 1, dof, expected };
  const yates = dof === 1;
  let statistic = 0;
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < columns; j++) {
      const e = (expected[i] as number[])[j] as number;
      let o = (observed[i] as readonly number[])[j] as number;
      if (yates) {
        const diff = e - o;
        o += Math.sign(diff) * Math.min(0.5, Math.abs(diff));
      }
      statistic += (o - e) ** 2 / e;
    }
  }
  return { statistic, pvalue: chiSquareSf(statistic, dof), dof, expected };
}
