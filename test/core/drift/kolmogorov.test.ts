import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { kolmogn, kstwoSf, smirnov } from '#core/drift/kolmogorov.ts';

/**
 * The distribution of the one-sample KS statistic, both tails, and the one-sided Smirnov survival function, against
 * SciPy (test/fixtures/drift/kolmogorov.json, scripts/drift-vectors/kolmogorov.py). ks.test.ts checks `kstwoSf` at the
 * points `ks_2samp` reaches; these reach every method with both `cdf` and `sf`.
 */

/** The largest double below a positive double. */
function nextBelow(x: number): number {
  const bits = new BigUint64Array(new Float64Array([x]).buffer);
  bits[0] = (bits[0] as bigint) - 1n;
  return new Float64Array(bits.buffer)[0] as number;
}

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

describe('kolmogn and smirnov at points of each branch, against SciPy 1.17.1 by hand', () => {
  // [n, x, SciPy value, relative tolerance]: scipy.stats.kstwo.sf(x, n), chosen where a slip in the Pomeranz indices,
  // a branch bound or a shortcut moves the value beyond the tolerance.
  const sf: [number, number, number, number][] = [
    [5, 0.4, 0.3087999999999995, 1e-13], // Pomeranz, t = 2 (f = 0)
    [5, 0.38987177379235854, 0.33679151053888057, 1e-13], // Pomeranz, n·x² = 0.76, f > 0.5
    [7, 0.35809270964032747, 0.2617043715538091, 1e-13], // Pomeranz, f < 0.5
    [20, 0.4472135954999579, 0.00036273969781830395, 1e-13], // Pomeranz at n·x² = 4
    [7, 0.7559289460184544, 0.00011456909085370609, 1e-13], // x ≥ 0.5: 2·smirnov
    [100, 0.2, 0.0005551927327988775, 5e-12], // n·x² = 4 exactly: Pomeranz, not smirnov
    [141, 0.12491131605836449, 0.022396359228156186, 1e-12], // n > 140, n·x² = 2.2: 2·smirnov
    [1000001, 0.01, 2.748852491618876e-87, 1e-13], // smirnov's asymptotic form, logp < −ln 2
  ];
  it.each(sf)('kstwo.sf(%f) for n=%i', (n, x, expected, rel) => {
    expect(Math.abs(kolmogn(n, x, false) / expected - 1)).toBeLessThanOrEqual(rel);
    expect(Math.abs(kstwoSf(x, n) / expected - 1)).toBeLessThanOrEqual(rel);
  });

  it('kstwo.cdf in the regions of the Ruben–Gambino formula, Durbin and Pelz–Good for n > 140', () => {
    expect(kolmogn(141, 0.003617021276595745, true) / 4.826847807659713e-300).toBeCloseTo(1, 12); // t ≤ 1, Stirling
    expect(kolmogn(100000, 0.0005528774813678875, true) / 5.3880857363412265e-17).toBeCloseTo(1, 10); // Durbin
    expect(kolmogn(1000001, 0.4, true)).toBe(1); // n·x² ≥ 18
    expect(kolmogn(1000001, 2.4999975000025e-6, true)).toBe(0); // t ≤ 0.5
    expect(kolmogn(500, 0.0016, true)).toBe(0); // t ≤ 1, n > 140: underflows, as in SciPy
    expect(kolmogn(1000001, 0.019235374443986528, false)).toBe(0); // n·x² ≥ 370
  });

  it('kstwo.sf for a sample of one is 1 − x above 1/2, as SciPy says', () => {
    expect(kstwoSf(0.8717797887081347, 1)).toBeCloseTo(0.2564404225837307, 15);
  });

  it('smirnov for n above a million, both sides of −ln 2 and below x = 1/n', () => {
    expect(smirnov(1000001, 0.0005477222836440927)).toBeCloseTo(0.548611244623532, 14); // logp > −ln 2
    expect(smirnov(1000001, 7.999992000008e-7)).toBeCloseTo(0.9999982195710317, 14); // n·x < 1
    // n = 10⁶ is still summed exactly (SciPy's asymptotic form starts above it); our sum of logarithms is 2·10⁻⁸
    // relative from SciPy's double-double one here, the asymptotic form 5·10⁻⁶.
    expect(Math.abs(smirnov(1_000_000, 0.002) / 0.0003350138551835359 - 1)).toBeLessThanOrEqual(1e-7);
  });

  it('smirnov at n = 10⁶ sums its terms until the rest is below ε·sum, not a fixed share of them', () => {
    // Exact values: the Birnbaum–Tingey sum in mpmath at 40 digits (SciPy's double-double sum agrees to 10⁻¹⁶). Our
    // sum of logarithms is 2·10⁻⁸ relative above them; stopping 4/(terms left) instead of 4·(terms left) terms early
    // drops 7·10⁻⁸ of the sum.
    for (const [x, exact] of [[0.0075, 1.3775246746425664e-49], [0.01, 1.36866522077406e-87]] as const) {
      expect(Math.abs(smirnov(1_000_000, x) / exact - 1)).toBeLessThanOrEqual(4e-8);
    }
  });

  it('smirnov above a million is continuous across x = 1/n, where SciPy is not', () => {
    // Pr(D⁺ ≥ x) is continuous in x. In doubles n·fl(1/n) is exactly 1, so we take Cephes' exact formula for
    // x ≤ 1/n, 1 − x(1 + x)^(n−1), there as at the double just below. SciPy's double-double n·x lands just above 1
    // and takes the n > 10⁶ asymptotic form, 2·10⁻⁹ relative lower at n = 2·10⁶: we keep the exact value.
    const exact = (n: number, x: number) => -Math.expm1(Math.log(x) + (n - 1) * Math.log1p(x));
    for (const n of [1_000_001, 2_000_000, 10_000_000]) {
      const x = 1 / n;
      expect(n * x).toBe(1);
      const below = nextBelow(x);
      expect(Math.abs(smirnov(n, x) / smirnov(n, below) - 1)).toBeLessThanOrEqual(1e-13);
      expect(Math.abs(smirnov(n, x) / exact(n, x) - 1)).toBeLessThanOrEqual(1e-13);
      expect(Math.abs(smirnov(n, below) / exact(n, below) - 1)).toBeLessThanOrEqual(1e-13);
    }
  });
});
