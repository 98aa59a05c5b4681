import { describe, expect, it } from 'vitest';
import { PSI_EPSILON, baselineBinShares, binIndex, binShares, categoricalPsi, numericPsi, psi, quantileEdges } from '#core/drift/psi.ts';
import { normalisedWasserstein, wasserstein1 } from '#core/drift/wasserstein.ts';
import { STATISTIC_TOLERANCE, ksVectors } from './vectors.ts';

describe('psi', () => {
  it('is 0 for identical shares and matches a hand computation', () => {
    expect(psi([0.25, 0.25, 0.5], [0.25, 0.25, 0.5])).toBe(0);
    const expected = (0.3 - 0.2) * Math.log(0.3 / 0.2) + (0.7 - 0.8) * Math.log(0.7 / 0.8);
    expect(psi([0.2, 0.8], [0.3, 0.7])).toBeCloseTo(expected, 15);
  });

  it('floors empty bins at epsilon instead of going infinite', () => {
    const value = psi([0.5, 0.5, 0], [0.5, 0.4, 0.1]);
    expect(Number.isFinite(value)).toBe(true);
    expect(value).toBeCloseTo((0.5 - 0.4) * 0 + (0.4 - 0.5) * Math.log(0.4 / 0.5) + (0.1 - PSI_EPSILON) * Math.log(0.1 / PSI_EPSILON), 12);
  });

  it('bins right-closed on the distinct inner quantiles', () => {
    const quantiles = [0, 1, 2, 2, 2, 5, 6, 7, 8, 9, 10];
    expect(quantileEdges(quantiles)).toEqual([1, 2, 5, 6, 7, 8, 9]);
    expect(binIndex([1, 2, 5], 1)).toBe(0);
    expect(binIndex([1, 2, 5], 1.5)).toBe(1);
    expect(binIndex([1, 2, 5], 99)).toBe(3);
    expect(binShares([1, 2], [0, 1, 2, 3])).toEqual([0.5, 0.25, 0.25]);
    const shares = baselineBinShares(quantiles);
    expect(shares.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 15);
    expect(shares[0]).toBeCloseTo(0.1, 15);
  });

  it('numeric PSI of uniform data on its own deciles is ~0; a shift raises it', () => {
    const quantiles = Array.from({ length: 11 }, (_, i) => i * 10);
    const same = Array.from({ length: 1000 }, (_, i) => (i + 0.5) / 10);
    expect(numericPsi(quantiles, same)).toBeLessThan(1e-3);
    expect(numericPsi(quantiles, same.map((v) => v + 30))).toBeGreaterThan(0.25);
  });

  it('categorical PSI counts unseen categories in their own bin', () => {
    const frequencies = { a: 0.5, b: 0.5 };
    expect(categoricalPsi(frequencies, new Map([['a', 50], ['b', 50]]))).toBe(0);
    expect(categoricalPsi(frequencies, new Map([['a', 45], ['b', 45], ['c', 10]]))).toBeGreaterThan(0.1);
  });
});

describe('wasserstein1 against scipy.stats.wasserstein_distance', () => {
  it.each(ksVectors.wasserstein.map((v) => [v.name, v] as const))('%s', (_name, vector) => {
    expect(Math.abs(wasserstein1(vector.u, vector.v) - vector.distance)).toBeLessThanOrEqual(STATISTIC_TOLERANCE);
  });

  it('normalises by the baseline std', () => {
    expect(normalisedWasserstein(0.5, 2)).toBe(0.25);
    expect(normalisedWasserstein(0, 0)).toBe(0);
    expect(normalisedWasserstein(1, 0)).toBe(Number.POSITIVE_INFINITY);
  });
});
