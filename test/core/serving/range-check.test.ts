import { describe, expect, it } from 'vitest';
import { RequestValidationError } from '#core/errors.ts';
import type { FeatureProfile, InputSchema, NumericProfile } from '#core/model/metadata.ts';
import { compileFeatureBounds, findOutOfRange, MAX_RANGE_WARNINGS, OUT_OF_RANGE_POLICIES, rejectOutOfRange } from '#core/serving/range-check.ts';

const schema: InputSchema = {
  schema_version: 1,
  features: [
    { name: 'Age', type: 'numeric', nullable: false },
    { name: 'Home', type: 'categorical', nullable: true, categories: ['owner', 'rent'] },
    { name: 'Income', type: 'numeric', nullable: true },
    { name: 'Debt', type: 'numeric', nullable: true },
  ],
};

function numeric(min: number, max: number, count = 100): NumericProfile {
  return { type: 'numeric', count, missing_rate: 0, min, max, mean: (min + max) / 2, std: 1, quantiles: [] };
}

/** Debt has no baseline: metadata written without one for it. */
const baseline: Record<string, FeatureProfile> = {
  Age: numeric(18, 68),
  Home: { type: 'categorical', count: 100, missing_rate: 0, frequencies: { owner: 0.5, rent: 0.5 } },
  Income: numeric(6, 959),
};

describe('compileFeatureBounds', () => {
  it('widens each numeric training range by the tolerance times its width', () => {
    expect(compileFeatureBounds(schema, baseline, 0.1)).toEqual([
      { feature: 'Age', min: 13, max: 73 },
      { feature: 'Income', min: -89.3, max: 1054.3 },
    ]);
  });

  it('keeps the training range itself with a tolerance of 0', () => {
    expect(compileFeatureBounds(schema, baseline, 0)).toEqual([
      { feature: 'Age', min: 18, max: 68 },
      { feature: 'Income', min: 6, max: 959 },
    ]);
  });

  it('skips features without a numeric baseline, with an empty one, or of categorical type', () => {
    const bounds = compileFeatureBounds(schema, { Age: numeric(0, 0, 0), Home: numeric(1, 2), Debt: { type: 'categorical', count: 1, missing_rate: 0, frequencies: {} } }, 0.1);
    expect(bounds).toEqual([]);
  });

  it('ignores baseline entries named like Object.prototype members', () => {
    const odd: InputSchema = { schema_version: 1, features: [{ name: 'constructor', type: 'numeric', nullable: false }] };
    expect(compileFeatureBounds(odd, {}, 0.1)).toEqual([]);
  });
});

describe('findOutOfRange', () => {
  const bounds = compileFeatureBounds(schema, baseline, 0.1);

  it('finds nothing for values inside the tolerated range, its ends included, and for nulls', () => {
    const rows = [
      { Age: 13, Home: 'rent', Income: null, Debt: 1e9 },
      { Age: 73, Home: null, Income: 1000, Debt: -5 },
    ];
    expect(findOutOfRange(bounds, rows)).toEqual({ count: 0, warnings: [] });
  });

  it('lists values beyond either end in instance then feature order, with the tolerated bounds', () => {
    const rows = [
      { Age: 30, Home: 'rent', Income: 500, Debt: 0 },
      { Age: 12.5, Home: 'rent', Income: 5000, Debt: 0 },
      { Age: 74, Home: 'owner', Income: null, Debt: 0 },
    ];
    expect(findOutOfRange(bounds, rows)).toEqual({
      count: 3,
      warnings: [
        { instance: 1, feature: 'Age', code: 'OUT_OF_RANGE', value: 12.5, min: 13, max: 73 },
        { instance: 1, feature: 'Income', code: 'OUT_OF_RANGE', value: 5000, min: -89.3, max: 1054.3 },
        { instance: 2, feature: 'Age', code: 'OUT_OF_RANGE', value: 74, min: 13, max: 73 },
      ],
    });
  });

  it('lists at most MAX_RANGE_WARNINGS values but counts them all', () => {
    const rows = Array.from({ length: 150 }, () => ({ Age: 200, Home: 'rent', Income: -1000, Debt: 0 }));
    const { count, warnings } = findOutOfRange(bounds, rows);
    expect(count).toBe(300);
    expect(warnings).toHaveLength(MAX_RANGE_WARNINGS);
    expect(warnings.at(-1)).toMatchObject({ instance: 49, feature: 'Income' });
  });
});

describe('rejectOutOfRange', () => {
  const bounds = compileFeatureBounds(schema, baseline, 0.1);

  it('accepts a batch whose values are all in range', () => {
    expect(() => rejectOutOfRange(bounds, [{ Age: 40, Home: 'rent', Income: null, Debt: 99 }])).not.toThrow();
  });

  it('throws OUT_OF_RANGE naming the first offending field, its value and the tolerated range', () => {
    const rows = [
      { Age: 40, Home: 'rent', Income: 100, Debt: 0 },
      { Age: 40, Home: 'rent', Income: 2000, Debt: 0 },
      { Age: 99, Home: 'rent', Income: 2000, Debt: 0 },
    ];
    let thrown: unknown;
    try {
      rejectOutOfRange(bounds, rows);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(RequestValidationError);
    const error = thrown as RequestValidationError;
    expect(error.status).toBe(400);
    expect(error.code).toBe('OUT_OF_RANGE');
    expect(error.details).toEqual({ field: 'instances[1].Income', received: 2000, min: -89.3, max: 1054.3 });
    expect(error.message).toContain('instances[1].Income is 2000');
  });

  it('names the row by its request index when the rows start at firstInstance', () => {
    const rows = [
      { Age: 40, Home: 'rent', Income: 100, Debt: 0 },
      { Age: 40, Home: 'rent', Income: 2000, Debt: 0 },
    ];
    expect(() => rejectOutOfRange(bounds, rows, 5)).toThrow(expect.objectContaining({ code: 'OUT_OF_RANGE', details: expect.objectContaining({ field: 'instances[6].Income' }) }));
  });
});

describe('rejectOutOfRange at the bounds', () => {
  const bounds = compileFeatureBounds(schema, baseline, 0.1);

  it('accepts values exactly at either bound and refuses values just beyond them', () => {
    expect(() => rejectOutOfRange(bounds, [{ Age: 13, Income: 1054.3 }, { Age: 73, Income: -89.3 }])).not.toThrow();
    for (const [row, field] of [
      [{ Age: 12.999, Income: 0 }, 'instances[0].Age'],
      [{ Age: 73.001, Income: 0 }, 'instances[0].Age'],
      [{ Age: 20, Income: -89.31 }, 'instances[0].Income'],
    ] as const) {
      expect(() => rejectOutOfRange(bounds, [row])).toThrow(expect.objectContaining({ code: 'OUT_OF_RANGE', details: expect.objectContaining({ field }) }));
    }
  });

  it('says which value is outside which range in its message', () => {
    expect(() => rejectOutOfRange(bounds, [{ Age: 9, Income: 0 }])).toThrow(
      'instances[0].Age is 9, outside the range this model version was trained on (with tolerance): 13 to 73',
    );
  });
});

describe('missing values', () => {
  it('never flags null, even for a feature whose range excludes 0', () => {
    const bounds = compileFeatureBounds(schema, baseline, 0.1);
    expect(findOutOfRange(bounds, [{ Age: null, Income: null }])).toEqual({ count: 0, warnings: [] });
    expect(() => rejectOutOfRange(bounds, [{ Age: null, Income: null }])).not.toThrow();
  });
});

describe('compileFeatureBounds without a profile', () => {
  it('skips a feature whose baseline entry is there but empty', () => {
    const sparse = { Age: undefined, Income: numeric(0, 10) } as unknown as Record<string, FeatureProfile>;
    expect(compileFeatureBounds(schema, sparse, 0)).toEqual([{ feature: 'Income', min: 0, max: 10 }]);
  });
});

describe('OUT_OF_RANGE_POLICIES', () => {
  it('offers off, warn and reject, the policies a deployment chooses from (predict.outOfRange)', () => {
    expect(OUT_OF_RANGE_POLICIES).toEqual(['off', 'warn', 'reject']);
  });
});
