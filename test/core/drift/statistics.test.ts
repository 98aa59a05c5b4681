import { describe, expect, it } from 'vitest';
import { CHI_SQUARE_SUM_RTOL, chiSquare, chiSquareContingency } from '#core/drift/chi-square.ts';
import { ksTwoSample } from '#core/drift/ks.ts';
import { PSI_EPSILON, baselineBinShares, binIndex, binShares, categoricalPsi, numericPsi, psi, quantileEdges } from '#core/drift/psi.ts';
import { chiSquareSf, logGamma, regularizedGammaP, regularizedGammaQ, roundHalfEven } from '#core/drift/special.ts';
import { normalisedWasserstein, nullWasserstein, wasserstein1 } from '#core/drift/wasserstein.ts';
import { thrown } from '../../support/thrown.ts';

/**
 * The drift statistics at their edges: what they refuse and with which message, what they return for degenerate input,
 * and the exact values of small cases worked by hand. The SciPy vectors (chi-square.test.ts, ks.test.ts,
 * psi-wasserstein.test.ts) check the ordinary cases.
 */

describe('chiSquare', () => {
  it('says what is wrong with its input', () => {
    expect(thrown(() => chiSquare([])).message).toBe('chiSquare: no categories');
    expect(thrown(() => chiSquare([1, 2], [3])).message).toBe('chiSquare: 2 observed but 1 expected counts');
    expect(thrown(() => chiSquare([10, 10], [10, 11])).message).toBe('chiSquare: observed total 20 and expected total 21 differ by 0.05 (relative)');
    expect(thrown(() => chiSquare([10, 10], [10, 11])).name).toBe('RangeError');
  });

  it('accepts totals that differ by up to 1e-8 (relative to the smaller), as SciPy does', () => {
    expect(CHI_SQUARE_SUM_RTOL).toBe(1e-8);
    expect(chiSquare([50, 50], [50, 50 + 0.5e-6]).dof).toBe(1);
    // Exactly 1e-8 apart is still accepted.
    expect(chiSquare([50_000_000, 50_000_000], [50_000_000, 50_000_001]).dof).toBe(1);
    expect(() => chiSquare([50, 50], [50, 50 + 2e-6])).toThrow(RangeError);
    // Relative to the smaller total: 1e-6 over 100 is 1e-8 of the observed, just over it of the expected.
    expect(() => chiSquare([50, 50 - 1.5e-6], [50, 50])).toThrow(RangeError);
  });

  it('expects the mean count in every category without expected counts', () => {
    // (4 − 6)² / 6 + (8 − 6)² / 6 = 4/3.
    expect(chiSquare([4, 8]).statistic).toBeCloseTo(4 / 3, 14);
    expect(chiSquare([4, 8]).pvalue).toBeCloseTo(chiSquareSf(4 / 3, 1), 14);
  });

  it('has no p-value for a single category', () => {
    const one = chiSquare([7]);
    expect(one.dof).toBe(0);
    expect(one.statistic).toBe(0);
    expect(one.pvalue).toBeNaN();
  });
});

describe('chiSquareContingency', () => {
  it('says which cell or row is wrong', () => {
    expect(thrown(() => chiSquareContingency([[1, 2], [3]])).message).toBe('chiSquareContingency: row 1 has 1 cells, row 0 has 2');
    expect(thrown(() => chiSquareContingency([[1, -1], [2, 3]])).message).toBe('chiSquareContingency: cell [0, 1] must be a finite count ≥ 0, got -1');
    expect(thrown(() => chiSquareContingency([[1, 2], [Number.NaN, 3]])).message).toBe('chiSquareContingency: cell [1, 0] must be a finite count ≥ 0, got NaN');
    expect(thrown(() => chiSquareContingency([[1, 2], [3, Number.POSITIVE_INFINITY]])).message).toBe('chiSquareContingency: cell [1, 1] must be a finite count ≥ 0, got Infinity');
    expect(thrown(() => chiSquareContingency([[0, 5], [0, 7]])).message).toBe('chiSquareContingency: the expected count at [0, 0] is zero (an empty row or column)');
    expect(thrown(() => chiSquareContingency([[1, 5], [0, 0]])).message).toBe('chiSquareContingency: the expected count at [1, 0] is zero (an empty row or column)');
    expect(thrown(() => chiSquareContingency([])).message).toBe('chiSquareContingency: the table is empty');
    expect(thrown(() => chiSquareContingency([[]])).message).toBe('chiSquareContingency: the table is empty');
  });

  it('computes the expected counts from the margins and the statistic without correction beyond 2 × 2', () => {
    // Rows 10 and 30, columns 20 and 20 and 0 + … : a 2 × 3 table worked by hand.
    const result = chiSquareContingency([
      [6, 4, 10],
      [4, 6, 10],
    ]);
    expect(result.expected).toEqual([
      [5, 5, 10],
      [5, 5, 10],
    ]);
    expect(result.dof).toBe(2);
    expect(result.statistic).toBeCloseTo(4 * (1 / 5), 14);
    expect(result.pvalue).toBeCloseTo(Math.exp(-0.4), 14);
  });

  it('applies Yates\' correction to a 2 × 2 table, never past the expected count', () => {
    // Expected 5 everywhere, |o − e| = 2 → 1.5 after the correction: 4 · 1.5² / 5.
    expect(chiSquareContingency([
      [7, 3],
      [3, 7],
    ]).statistic).toBeCloseTo((4 * 1.5 ** 2) / 5, 14);
    // |o − e| = 0.25 < 0.5: the correction stops at e.
    expect(chiSquareContingency([
      [5.25, 4.75],
      [4.75, 5.25],
    ]).statistic).toBe(0);
  });

  it('gives statistic 0 and p 1 for a single column', () => {
    expect(chiSquareContingency([[5], [9]])).toMatchObject({ statistic: 0, pvalue: 1, dof: 0 });
  });
});

describe('special functions', () => {
  it('logGamma: NaN, poles, the reflection below ½, and known values', () => {
    expect(logGamma(Number.NaN)).toBeNaN();
    expect(logGamma(0)).toBe(Number.POSITIVE_INFINITY);
    expect(logGamma(-3)).toBe(Number.POSITIVE_INFINITY);
    // Γ(¼) = 3.6256099082219083, |Γ(−½)| = 2√π, Γ(0.1) = 9.513507698668732.
    expect(logGamma(0.25)).toBeCloseTo(Math.log(3.625609908221908), 13);
    expect(logGamma(-0.5)).toBeCloseTo(Math.log(2 * Math.sqrt(Math.PI)), 13);
    expect(logGamma(0.1)).toBeCloseTo(Math.log(9.513507698668732), 13);
    expect(logGamma(0.5)).toBeCloseTo(Math.log(Math.sqrt(Math.PI)), 14);
    expect(logGamma(3)).toBeCloseTo(Math.log(2), 14);
    expect(logGamma(100)).toBeCloseTo(359.1342053695754, 9);
  });

  it('P and Q: NaN outside their domain, the ends of the line, and both methods', () => {
    for (const [a, x] of [[Number.NaN, 1], [1, Number.NaN], [0, 1], [-1, 1], [1, -0.5]] as const) {
      expect(regularizedGammaP(a, x)).toBeNaN();
      expect(regularizedGammaQ(a, x)).toBeNaN();
    }
    expect(regularizedGammaP(2, 0)).toBe(0);
    expect(regularizedGammaQ(2, 0)).toBe(1);
    expect(regularizedGammaP(2, Number.POSITIVE_INFINITY)).toBe(1);
    expect(regularizedGammaQ(2, Number.POSITIVE_INFINITY)).toBe(0);
    // a = 1: P(1, x) = 1 − e^−x, by the series (x < 2) and the continued fraction (x ≥ 2).
    for (const x of [0.01, 0.5, 1.5, 1.999, 2, 2.5, 10, 40]) {
      expect(regularizedGammaP(1, x)).toBeCloseTo(1 - Math.exp(-x), 14);
      expect(regularizedGammaQ(1, x) / Math.exp(-x)).toBeCloseTo(1, 12);
    }
    // Far above a + 1 only the continued fraction is usable: the series' terms overflow there.
    expect(regularizedGammaP(1, 800)).toBe(1);
    expect(regularizedGammaQ(1, 800)).toBeCloseTo(0, 300);
    // a = 3: Q(3, x) = e^−x (1 + x + x²/2).
    for (const x of [0.2, 3.9, 4, 4.1, 25]) {
      expect(regularizedGammaQ(3, x) / (Math.exp(-x) * (1 + x + (x * x) / 2))).toBeCloseTo(1, 12);
      expect(regularizedGammaP(3, x)).toBeCloseTo(1 - Math.exp(-x) * (1 + x + (x * x) / 2), 14);
    }
  });

  it('chi2.sf: NaN without degrees of freedom, 1 at and below 0, and the closed form for 2 degrees', () => {
    expect(chiSquareSf(Number.NaN, 2)).toBeNaN();
    expect(chiSquareSf(1, 0)).toBeNaN();
    expect(chiSquareSf(1, Number.NaN)).toBeNaN();
    expect(chiSquareSf(0, 3)).toBe(1);
    expect(chiSquareSf(-2, 3)).toBe(1);
    expect(chiSquareSf(6, 2)).toBeCloseTo(Math.exp(-3), 15);
    expect(chiSquareSf(1e-300, 4)).toBeCloseTo(1, 15);
    // Far in the tail the continued fraction keeps relative precision.
    expect(chiSquareSf(1400, 2) / Math.exp(-700)).toBeCloseTo(1, 10);
  });

  it('rounds half to even, away from halves as usual', () => {
    expect([-2.5, -0.5, 0.49, 3.5, 4.5, -3.5, 7.0000001].map(roundHalfEven)).toEqual([-2, -0, 0, 4, 4, -4, 7]);
  });
});

describe('ksTwoSample', () => {
  it('says what is wrong with its samples', () => {
    expect(thrown(() => ksTwoSample([1], [])).message).toBe('ksTwoSample: samples must not be empty');
    expect(thrown(() => ksTwoSample([1], [2, Number.NaN])).message).toBe('ksTwoSample: samples must not contain NaN');
  });

  it('gives D = 0 and p = 1 for the same sample, and D = 1 for disjoint ones', () => {
    expect(ksTwoSample([3, 1, 2], [2, 3, 1])).toEqual({ statistic: 0, pvalue: 1, method: 'exact' });
    const apart = ksTwoSample([1, 2, 3], [4, 5, 6, 7]);
    expect(apart.statistic).toBe(1);
    // Exact: 2 of the C(7, 3) = 35 orderings are as extreme.
    expect(apart.pvalue).toBeCloseTo(2 / 35, 14);
  });

  it('takes the larger of the two one-sided distances, either way round', () => {
    // F_a − F_b reaches +0.5 at 2; F_b − F_a reaches 0.25 at 6.
    expect(ksTwoSample([1, 2, 5, 7], [3, 4, 6, 8]).statistic).toBe(0.5);
    expect(ksTwoSample([3, 4, 6, 8], [1, 2, 5, 7]).statistic).toBe(0.5);
  });

  it('evaluates both CDFs at tied values', () => {
    // At 1: F_a = 2/3, F_b = 1/3.
    expect(ksTwoSample([1, 1, 2], [1, 2, 2]).statistic).toBeCloseTo(1 / 3, 15);
  });
});

describe('psi and its bins', () => {
  it('refuses share vectors of different lengths', () => {
    expect(thrown(() => psi([0.5, 0.5], [1])).message).toBe('psi: 2 expected but 1 actual shares');
  });

  it('floors shares at the epsilon given, PSI_EPSILON by default', () => {
    expect(PSI_EPSILON).toBe(1e-4);
    expect(psi([1, 0], [0, 1])).toBeCloseTo(2 * (1 - 1e-4) * Math.log(1 / 1e-4), 12);
    expect(psi([1, 0], [0, 1], 0.01)).toBeCloseTo(2 * (1 - 0.01) * Math.log(1 / 0.01), 12);
  });

  it('keeps the distinct inner quantiles as edges, in order', () => {
    expect(quantileEdges([0, 5, 5, 5, 6, 6, 7, 8, 9, 10, 11])).toEqual([5, 6, 7, 8, 9, 10]);
    expect(quantileEdges([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1])).toEqual([1]);
    // The ends (q0 and q1) are never edges.
    expect(quantileEdges([-100, 1, 2, 3, 4, 5, 6, 7, 8, 9, 100])).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('finds the right-closed bin of a value', () => {
    const edges = [1, 2, 3, 4, 5];
    expect([0, 1, 1.5, 2, 2.5, 3, 4, 4.5, 5, 5.5].map((v) => binIndex(edges, v))).toEqual([0, 0, 1, 1, 2, 2, 3, 4, 4, 5]);
    expect(binIndex([], 3)).toBe(0);
  });

  it('gives all-zero shares for no values', () => {
    expect(binShares([1, 2], [])).toEqual([0, 0, 0]);
  });

  it('estimates the baseline share of each bin from the quantile levels, half a decile more for an atom', () => {
    // Continuous: a tenth per bin.
    baselineBinShares([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]).forEach((s) => expect(s).toBeCloseTo(0.1, 15));
    // 5 is an atom over levels 0.1–0.3: F(5) ≈ 0.3 + 0.05.
    const atom = baselineBinShares([0, 5, 5, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(atom).toHaveLength(8);
    expect(atom[0]).toBeCloseTo(0.35, 15);
    expect(atom[1]).toBeCloseTo(0.05, 15);
    expect(atom.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 15);
    // A constant feature: everything at or below its one edge.
    expect(baselineBinShares([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1])).toEqual([1, 0]);
    // An atom at the maximum: F(9) = 1 + 0.05, held at 1, so (7, 9] holds 0.3 and the last bin nothing.
    const top = baselineBinShares([0, 1, 2, 3, 4, 5, 6, 7, 9, 9, 9]);
    expect(top.at(-2)).toBeCloseTo(0.3, 15);
    expect(top.at(-1)).toBe(0);
  });

  it('numeric PSI compares the window\'s bin shares with the baseline\'s', () => {
    const quantiles = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    // Everything in the first bin: 0.9 · ln(1/0.1) … plus nine bins at epsilon.
    const expected = (1 - 0.1) * Math.log(1 / 0.1) + 9 * (1e-4 - 0.1) * Math.log(1e-4 / 0.1);
    expect(numericPsi(quantiles, [0.5, 0.5, 0.2])).toBeCloseTo(expected, 12);
  });

  it('categorical PSI: 0 for no values, and the unseen categories in one bin against a share of 0', () => {
    expect(categoricalPsi({ a: 1 }, new Map())).toBe(0);
    expect(categoricalPsi({ a: 1 }, new Map([['a', 0]]))).toBe(0);
    const value = categoricalPsi({ a: 0.5, b: 0.5 }, new Map([['a', 2], ['x', 1], ['y', 1]]));
    expect(value).toBeCloseTo(psi([0.5, 0.5, 0], [0.5, 0, 0.5]), 15);
    // A category named like an Object property is an unseen category like any other.
    expect(categoricalPsi({ a: 1 }, new Map([['constructor', 1]]))).toBeCloseTo(psi([1, 0], [0, 1]), 15);
  });
});

describe('Wasserstein-1', () => {
  it('refuses empty samples', () => {
    expect(thrown(() => wasserstein1([], [1])).message).toBe('wasserstein1: samples must not be empty');
    expect(thrown(() => wasserstein1([1], [])).message).toBe('wasserstein1: samples must not be empty');
  });

  it('is the area between the two CDFs', () => {
    expect(wasserstein1([0, 1, 3], [5, 6, 8])).toBe(5);
    expect(wasserstein1([0], [0, 2])).toBe(1);
    expect(wasserstein1([2, 2, 0], [0, 2])).toBeCloseTo(1 / 3, 15);
  });

  it('normalises by a positive std, and is 0 or infinite against a constant baseline', () => {
    expect(normalisedWasserstein(3, 1.5)).toBe(2);
    expect(normalisedWasserstein(0, 0)).toBe(0);
    expect(normalisedWasserstein(0.1, 0)).toBe(Number.POSITIVE_INFINITY);
  });

  it('gives the noise level √(2/π) · √(1/n + 1/m) · ∫ √(F(1 − F)) of the reference', () => {
    // [0, 1, 2, 3]: F = ¼, ½, ¾ on the three unit gaps.
    const integral = 2 * Math.sqrt(3 / 16) + 0.5;
    expect(nullWasserstein([3, 0, 2, 1], 4, 12)).toBeCloseTo(Math.sqrt(2 / Math.PI) * Math.sqrt(1 / 4 + 1 / 12) * integral, 15);
    // Ties add nothing: [0, 0, 1] has one gap, at F = ⅔.
    expect(nullWasserstein([0, 1, 0], 5, 5)).toBeCloseTo(Math.sqrt(2 / Math.PI) * Math.sqrt(2 / 5) * Math.sqrt((2 / 3) * (1 / 3)), 15);
    // Gaps of 2 and 3: each weighs by its width.
    expect(nullWasserstein([0, 2, 5], 3, 3)).toBeCloseTo(Math.sqrt(2 / Math.PI) * Math.sqrt(2 / 3) * Math.sqrt(2 / 9) * (2 + 3), 15);
    expect(nullWasserstein([], 5, 5)).toBe(0);
    expect(nullWasserstein([0, 1], 0, 5)).toBe(0);
    expect(nullWasserstein([0, 1], 5, 0)).toBe(0);
    expect(nullWasserstein([4, 4, 4], 5, 5)).toBe(0);
  });
});
