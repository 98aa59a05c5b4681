import { describe, expect, it } from 'vitest';
import { encodeRows, encodedColumnCount } from '#core/model/encode.ts';
import type { Preprocessing } from '#core/model/metadata.ts';

const preprocessing: Preprocessing = {
  preprocess_version: 1,
  input_name: 'features',
  output_name: 'probability',
  columns: 6,
  encodings: [
    { feature: 'age', kind: 'numeric', impute: 36 },
    { feature: 'home', kind: 'one_hot', categories: ['owner', 'rent', 'other'], impute: 'owner' },
    { feature: 'job', kind: 'one_hot', categories: ['fixed', 'freelance'], impute: null },
  ],
};

describe('encodeRows', () => {
  it('counts one column per numeric feature and per category', () => {
    expect(encodedColumnCount(preprocessing.encodings)).toBe(6);
    expect(encodedColumnCount([])).toBe(0);
  });

  it('passes numbers through and one-hot encodes categories, row-major', () => {
    const out = encodeRows(preprocessing, [
      { age: 25.5, home: 'rent', job: 'freelance' },
      { age: 40, home: 'other', job: 'fixed' },
    ]);
    expect(out).toBeInstanceOf(Float32Array);
    expect([...out]).toEqual([25.5, 0, 1, 0, 0, 1, 40, 0, 0, 1, 1, 0]);
  });

  it('imputes missing values: the numeric impute, the impute category, or all zeros when it is null', () => {
    expect([...encodeRows(preprocessing, [{ age: null, home: null, job: null }])]).toEqual([36, 1, 0, 0, 0, 0]);
  });

  it('encodes an unknown category as all zeros', () => {
    expect([...encodeRows(preprocessing, [{ age: 1, home: 'castle', job: 'pilot' }])]).toEqual([1, 0, 0, 0, 0, 0]);
  });

  it('returns an empty array for no rows and rejects an inconsistent column count', () => {
    expect(encodeRows(preprocessing, []).length).toBe(0);
    expect(() => encodeRows({ ...preprocessing, columns: 5 }, [])).toThrow(/declares 5 columns/);
  });
});
