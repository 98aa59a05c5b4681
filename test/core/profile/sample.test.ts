import { describe, expect, it } from 'vitest';
import { profileFeatures } from '#core/profile/baseline.ts';
import { type EncodedSample, MAX_SAMPLE_SIZE, SAMPLE_ENCODING, decodeSample, encodeSample, encodeSamples, reservoirSample } from '#core/profile/sample.ts';

describe('reservoirSample', () => {
  it('keeps every value of a short column, in a seeded random order', () => {
    const values = Array.from({ length: 50 }, (_, i) => i);
    const a = reservoirSample(values, 100, 7);
    expect([...a].sort((x, y) => x - y)).toEqual(values);
    expect(reservoirSample(values, 100, 7)).toEqual(a);
    expect(reservoirSample(values, 100, 8)).not.toEqual(a);
  });

  it('draws a long column uniformly: each tenth of the values holds about a tenth of the sample', () => {
    const values = Array.from({ length: 100_000 }, (_, i) => i);
    const sample = reservoirSample(values, 5000, 3);
    expect(new Set(sample).size).toBe(5000);
    const tenths = new Array<number>(10).fill(0);
    for (const v of sample) tenths[Math.floor(v / 10_000)] = (tenths[Math.floor(v / 10_000)] as number) + 1;
    // Binomial(5000, 0.1): sd 21, so ±100 is ±4.7 sd.
    for (const count of tenths) expect(Math.abs(count - 500)).toBeLessThan(100);
    // Every prefix is uniform too: the first half spans the whole range.
    const half = sample.slice(0, 2500);
    expect(Math.min(...half)).toBeLessThan(1000);
    expect(Math.max(...half)).toBeGreaterThan(99_000);
  });
});

describe('the sample encoding', () => {
  it('round-trips values exactly, ties and all, in ascending order', () => {
    const values = [3.25, -1e-300, 0, 0, 7, 7, 7, Number.MAX_VALUE, -0.5, 1 / 3];
    const encoded = encodeSample(values);
    expect(encoded.encoding).toBe(SAMPLE_ENCODING);
    expect(encoded.size).toBe(values.length);
    expect(decodeSample(encoded)).toEqual([...values].sort((a, b) => a - b));
  });

  it('costs a few bytes per distinct value for a discrete column', () => {
    const values = Array.from({ length: MAX_SAMPLE_SIZE }, (_, i) => i % 7);
    expect(encodeSample(values).data.length).toBeLessThan(200);
  });

  it('refuses bytes that do not decode to the stated size', () => {
    const encoded = encodeSample([1, 2, 3]);
    expect(() => decodeSample({ ...encoded, size: 4 })).toThrow(/decodes to 3 values, not 4/);
    expect(() => decodeSample({ ...encoded, encoding: 'raw' as typeof SAMPLE_ENCODING })).toThrow(/unknown sample encoding/);
  });

  it('halves the largest samples until all fit the budget, each still a prefix of its random order', () => {
    const random = (n: number, offset: number): number[] => Array.from({ length: n }, (_, i) => offset + Math.sin(i * 12.9898 + offset) * 43_758.5453);
    const samples = { a: random(10_000, 1), b: random(10_000, 2), c: [1, 2, 3] };
    const encoded = encodeSamples(samples, 64 * 1024);
    const total = Object.values(encoded).reduce((sum, e) => sum + e.data.length, 0);
    expect(total).toBeLessThanOrEqual(64 * 1024);
    expect(encoded.c?.size).toBe(3);
    expect(encoded.a?.size).toBeLessThan(10_000);
    const a = encoded.a as EncodedSample;
    expect(decodeSample(a)).toEqual([...samples.a.slice(0, a.size)].sort((x, y) => x - y));
  });
});

describe('the profile sample in metadata', () => {
  it('is written by profileFeatures with a seed, only for numeric features, and read back by the metadata parser', () => {
    const rows = Array.from({ length: 300 }, (_, i) => ({ x: i % 5 === 0 ? null : i / 10, c: i % 2 === 0 ? 'a' : 'b' }));
    const profile = profileFeatures(
      [
        { name: 'x', kind: 'numeric' },
        { name: 'c', kind: 'categorical' },
      ],
      rows,
      { sampleSeed: 1 },
    );
    const x = profile.x;
    expect(x?.type === 'numeric' ? x.sample?.size : undefined).toBe(240);
    expect(profile.c && 'sample' in profile.c).toBe(false);
    expect(profileFeatures([{ name: 'x', kind: 'numeric' }], rows).x).not.toHaveProperty('sample');
  });
});
