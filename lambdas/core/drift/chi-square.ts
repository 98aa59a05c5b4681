/**
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
