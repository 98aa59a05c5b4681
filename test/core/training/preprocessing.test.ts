import { describe, expect, it } from 'vitest';
import { fitPreprocessing, median } from '#core/training/preprocessing.ts';

describe('fitPreprocessing', () => {
  const rows = [
    { n: 1, c: 'b', k: 7 },
    { n: 10, c: 'a', k: 7 },
    { n: null, c: 'b', k: 7 },
    { n: 3, c: null, k: 7 },
  ];
  const fitted = fitPreprocessing(
    [
      { name: 'n', kind: 'numeric' },
      { name: 'c', kind: 'categorical' },
      { name: 'k', kind: 'numeric' },
    ],
    rows,
  );

  it('imputes numbers with the median and categories with the most frequent one, categories sorted', () => {
    expect(fitted.preprocessing).toEqual({
      preprocess_version: 1,
      input_name: 'features',
      output_name: 'probability',
      columns: 4,
      encodings: [
        { feature: 'n', kind: 'numeric', impute: 3 },
        { feature: 'c', kind: 'one_hot', categories: ['a', 'b'], impute: 'b' },
        { feature: 'k', kind: 'numeric', impute: 7 },
      ],
    });
  });

  it('marks features with missing values as nullable', () => {
    expect(fitted.inputSchema).toEqual({
      schema_version: 1,
      features: [
        { name: 'n', type: 'numeric', nullable: true },
        { name: 'c', type: 'categorical', nullable: true, categories: ['a', 'b'] },
        { name: 'k', type: 'numeric', nullable: false },
      ],
    });
  });

  it('scales numeric columns by their imputed mean/std, leaves one-hot columns alone, and turns std 0 into 1', () => {
    // n after imputation: 1, 10, 3, 3 → mean 4.25, population std sqrt(11.6875).
    expect(fitted.scaling.mean[0]).toBeCloseTo(4.25, 12);
    expect(fitted.scaling.std[0]).toBeCloseTo(Math.sqrt(11.6875), 12);
    expect([...fitted.scaling.mean.slice(1)]).toEqual([0, 0, 7]);
    expect([...fitted.scaling.std.slice(1)]).toEqual([1, 1, 1]);
  });

  it('computes medians of odd and even lengths', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBe(0);
  });
});
