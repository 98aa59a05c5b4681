import { describe, expect, it } from 'vitest';
import { categoryCounts, missingCount, profileFeatures, quantile } from '#core/profile/baseline.ts';

describe('profileFeatures', () => {
  const rows = [
    { x: 1, c: 'a' },
    { x: 3, c: 'b' },
    { x: null, c: 'a' },
    { x: 2, c: null },
    { x: 4, c: 'a' },
  ];

  it('profiles numeric features with linear-interpolated quantiles', () => {
    const profile = profileFeatures([{ name: 'x', kind: 'numeric' }], rows).x;
    expect(profile).toEqual({
      type: 'numeric',
      count: 4,
      missing_rate: 0.2,
      missing: 1,
      min: 1,
      max: 4,
      mean: 2.5,
      std: Math.sqrt(1.25),
      quantiles: expect.any(Array) as unknown,
      percentiles: expect.any(Array) as unknown,
    });
    const quantiles = profile?.type === 'numeric' ? profile.quantiles : [];
    expect(quantiles).toHaveLength(11);
    [1, 1.3, 1.6, 1.9, 2.2, 2.5, 2.8, 3.1, 3.4, 3.7, 4].forEach((expected, i) => expect(quantiles[i]).toBeCloseTo(expected, 12));
  });

  it('profiles categorical features with frequencies among non-missing values', () => {
    expect(profileFeatures([{ name: 'c', kind: 'categorical' }], rows).c).toEqual({
      type: 'categorical',
      count: 4,
      missing_rate: 0.2,
      missing: 1,
      frequencies: { a: 0.75, b: 0.25 },
      counts: { a: 3, b: 1 },
    });
  });

  it('derives reference counts from older profiles that stored only frequencies and the missing rate', () => {
    const older = { type: 'categorical' as const, count: 40, missing_rate: 0.2, frequencies: { a: 0.75, b: 0.25 } };
    expect(categoryCounts(older)).toEqual({ a: 30, b: 10 });
    expect(missingCount(older)).toBe(10);
    expect(missingCount({ ...older, missing_rate: 0 })).toBe(0);
    const current = profileFeatures([{ name: 'c', kind: 'categorical' }], rows).c;
    expect(current && missingCount(current)).toBe(1);
  });

  it('handles an entirely missing feature and single values', () => {
    const empty = profileFeatures([{ name: 'z', kind: 'numeric' }], [{ z: null }]).z;
    expect(empty).toMatchObject({ count: 0, missing_rate: 1, min: 0, max: 0, mean: 0, std: 0 });
    expect(quantile([5], 0.3)).toBe(5);
  });
});
