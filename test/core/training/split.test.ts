import { describe, expect, it } from 'vitest';
import { stratifiedSplit } from '#core/training/split.ts';

describe('stratifiedSplit', () => {
  const labels = Uint8Array.from({ length: 1003 }, (_, i) => (i % 7 < 2 ? 1 : 0));

  it('partitions the rows and keeps each class ratio within one row', () => {
    const { train, holdout } = stratifiedSplit(labels, 0.25, 42);
    expect([...train, ...holdout].sort((a, b) => a - b)).toEqual(Array.from({ length: labels.length }, (_, i) => i));

    for (const label of [0, 1]) {
      const total = labels.filter((l) => l === label).length;
      const inHoldout = holdout.filter((i) => labels[i] === label).length;
      expect(Math.abs(inHoldout - total * 0.25)).toBeLessThanOrEqual(1);
    }
    const positiveShare = (rows: readonly number[]) => rows.filter((i) => labels[i] === 1).length / rows.length;
    const overall = labels.filter((l) => l === 1).length / labels.length;
    expect(Math.abs(positiveShare(holdout) - overall) * holdout.length).toBeLessThanOrEqual(1);
    expect(Math.abs(positiveShare(train) - overall) * train.length).toBeLessThanOrEqual(1);
  });

  it('is reproducible for a seed and changes with it', () => {
    expect(stratifiedSplit(labels, 0.25, 42)).toEqual(stratifiedSplit(labels, 0.25, 42));
    expect(stratifiedSplit(labels, 0.25, 43).holdout).not.toEqual(stratifiedSplit(labels, 0.25, 42).holdout);
  });

  it('rejects a fraction outside (0, 1)', () => {
    expect(() => stratifiedSplit(labels, 0, 1)).toThrow(RangeError);
    expect(() => stratifiedSplit(labels, 1, 1)).toThrow(RangeError);
  });
});
