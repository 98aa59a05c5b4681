import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { kolmogn, kstwoSf, smirnov } from '#core/drift/kolmogorov.ts';

/**
 * The distribution of the one-sample KS statistic, both tails, and the one-sided Smirnov survival function, against
 * SciPy (test/fixtures/drift/kolmogorov.json, scripts/drift-vectors/kolmogorov.py). ks.test.ts checks `kstwoSf` at the
 * points `ks_2samp` reaches; these reach every method with both `cdf` and `sf`.
 */

const vectors = JSON.parse(readFileSync(new URL('../../fixtures/drift/kolmogorov.json', import.meta.url), 'utf8')) as {
  meta: { scipy: string };
  kolmogn: [number, number, number, number][];
  smirnov: [number, number, number][];
};

describe('kolmogn against scipy.stats.kstwo', () => {
  it('has vectors from SciPy', () => {
    expect(vectors.meta.scipy).toMatch(/^\d+\.\d+/);
    expect(vectors.kolmogn.length).toBeGreaterThan(100);
  });

  it.each(vectors.kolmogn)('n=%i x=%f: cdf %f, sf %f', (n, x, cdf, sf) => {
    expect(Math.abs(kolmogn(n, x, true) - cdf)).toBeLessThanOrEqual(1e-9);
    expect(Math.abs(kolmogn(n, x, false) - sf)).toBeLessThanOrEqual(1e-9);
    // Relative precision in the far tail, where the absolute bound says nothing.
    if (sf > 0 && sf < 1e-6) expect(kolmogn(n, x, false) / sf).toBeCloseTo(1, 6);
    if (cdf > 0 && cdf < 1e-6) expect(kolmogn(n, x, true) / cdf).toBeCloseTo(1, 6);
  });

  it('is NaN for a size that is not a positive integer, and 0 or 1 outside (0, 1)', () => {
    for (const n of [0, -3, 2.5, Number.NaN]) expect(kolmogn(n, 0.3, true)).toBeNaN();
    expect(kolmogn(10, 1, true)).toBe(1);
    expect(kolmogn(10, 1.5, false)).toBe(0);
    expect(kolmogn(10, 0, true)).toBe(0);
    expect(kolmogn(10, -1, false)).toBe(1);
    // At or below 0.5/n the statistic cannot be.
    expect(kolmogn(10, 0.05, true)).toBe(0);
    expect(kolmogn(10, 0.05, false)).toBe(1);
  });
});

describe('kstwoSf', () => {
  it('is NaN for a bad size or d, 1 at and below 0.5/n, 0 at and above 1', () => {
    expect(kstwoSf(Number.NaN, 5)).toBeNaN();
    expect(kstwoSf(0.3, 0)).toBeNaN();
    expect(kstwoSf(0.3, 1.5)).toBeNaN();
    expect(kstwoSf(0.1, 5)).toBe(1);
    expect(kstwoSf(0.15, 5)).toBeLessThan(1);
    expect(kstwoSf(1, 5)).toBe(0);
    expect(kstwoSf(0.999999, 5)).toBeGreaterThan(0);
  });
});

describe('smirnov against scipy.special.smirnov', () => {
  it.each(vectors.smirnov)('n=%i x=%f: %f', (n, x, expected) => {
    const value = smirnov(n, x);
    expect(Math.abs(value - expected)).toBeLessThanOrEqual(1e-12);
    if (expected > 0 && expected < 1e-6) expect(value / expected).toBeCloseTo(1, 9);
  });

  it('is NaN outside n > 0 and 0 ≤ x ≤ 1', () => {
    for (const [n, x] of [[0, 0.5], [-1, 0.5], [5, -0.1], [5, 1.1], [Number.NaN, 0.5], [5, Number.NaN]] as const) expect(smirnov(n, x)).toBeNaN();
  });
});
