import { describe, expect, it } from 'vitest';
import { chiSquare, chiSquareContingency } from '#core/drift/chi-square.ts';
import { chiSquareSf, logGamma, regularizedGammaP, regularizedGammaQ, roundHalfEven } from '#core/drift/special.ts';
import { PVALUE_TOLERANCE, STATISTIC_TOLERANCE, chiSquareVectors, contingencyVectors } from './vectors.ts';

describe('chiSquare against scipy.stats.chisquare', () => {
  it('has ~20 vectors', () => {
    expect(chiSquareVectors.chisquare.length).toBeGreaterThanOrEqual(20);
  });

  it.each(chiSquareVectors.chisquare.map((v) => [v.name, v] as const))('%s', (_name, vector) => {
    const result = chiSquare(vector.observed, vector.expected);
    expect(result.dof).toBe(vector.dof);
    expect(Math.abs(result.statistic - vector.statistic)).toBeLessThanOrEqual(STATISTIC_TOLERANCE * Math.max(1, Math.abs(vector.statistic)));
    expect(Math.abs(result.pvalue - vector.pvalue)).toBeLessThanOrEqual(PVALUE_TOLERANCE);
  });

  it('rejects totals that disagree, like SciPy', () => {
    expect(() => chiSquare([10, 10], [10, 11])).toThrow(RangeError);
    expect(() => chiSquare([10, 10], [10])).toThrow(RangeError);
  });
});

describe('chiSquareContingency against scipy.stats.chi2_contingency (its defaults)', () => {
  it.each(contingencyVectors.chi2_contingency.map((v) => [v.name, v] as const))('%s', (_name, vector) => {
    const result = chiSquareContingency(vector.observed);
    expect(result.dof).toBe(vector.dof);
    expect(Math.abs(result.statistic - vector.statistic)).toBeLessThanOrEqual(STATISTIC_TOLERANCE * Math.max(1, Math.abs(vector.statistic)));
    expect(Math.abs(result.pvalue - vector.pvalue)).toBeLessThanOrEqual(PVALUE_TOLERANCE);
    result.expected.forEach((row, i) => row.forEach((e, j) => expect(e).toBeCloseTo(vector.expected[i]?.[j] ?? Number.NaN, 9)));
  });

  it('refuses what SciPy refuses: an empty row or column, a negative count, a ragged table', () => {
    expect(() => chiSquareContingency([[0, 5], [0, 7]])).toThrow(/zero/);
    expect(() => chiSquareContingency([[1, -1], [2, 3]])).toThrow(RangeError);
    expect(() => chiSquareContingency([[1, 2], [3]])).toThrow(RangeError);
    expect(() => chiSquareContingency([])).toThrow(RangeError);
  });
});

describe('special functions', () => {
  it('logGamma matches known values', () => {
    expect(logGamma(1)).toBeCloseTo(0, 14);
    expect(logGamma(0.5)).toBeCloseTo(Math.log(Math.sqrt(Math.PI)), 14);
    expect(logGamma(10)).toBeCloseTo(Math.log(362880), 12);
  });

  it('P + Q = 1 and chi2.sf(x, 2) = exp(-x/2)', () => {
    for (const [a, x] of [[0.5, 0.2], [3, 2], [10, 15], [50, 40]] as const) {
      expect(regularizedGammaP(a, x) + regularizedGammaQ(a, x)).toBeCloseTo(1, 14);
    }
    for (const x of [0.1, 1, 5, 30]) expect(chiSquareSf(x, 2)).toBeCloseTo(Math.exp(-x / 2), 14);
  });

  it('rounds half to even like NumPy', () => {
    expect([0.5, 1.5, 2.5, 5000.5, 2.4, 2.6, -1.5].map(roundHalfEven)).toEqual([0, 2, 2, 5000, 2, 3, -2]);
  });
});
