import { describe, expect, it } from 'vitest';
import { RequestValidationError } from '#core/errors.ts';
import { compileSchema, FLOAT32_MAX, parseJsonBody, validateInstance, validatePredictRequest } from '#core/api/predict-request.ts';
import type { InputSchema } from '#core/model/metadata.ts';

const schema: InputSchema = {
  schema_version: 1,
  features: [
    { name: 'age', type: 'numeric', nullable: false },
    { name: 'income', type: 'numeric', nullable: true },
    { name: 'home', type: 'categorical', nullable: true, categories: ['owner', 'rent'] },
    { name: 'job', type: 'categorical', nullable: false, categories: ['fixed', 'freelance'] },
  ],
};

const compiled = compileSchema(schema);
const MAX_BATCH = 3;
const VALID = { age: 30, income: 1200.5, home: 'rent', job: 'fixed' } as const;

/** Runs `action` and returns the RequestValidationError it throws. */
function validationError(action: () => unknown): RequestValidationError {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(RequestValidationError);
    return error as RequestValidationError;
  }
  throw new Error('expected a RequestValidationError, but nothing was thrown');
}

/** Parses and validates a raw body as the API does. */
function parseAndValidate(body: string): unknown {
  return validatePredictRequest(compiled, parseJsonBody(body), MAX_BATCH);
}

function validateBody(body: unknown): unknown {
  return validatePredictRequest(compiled, body, MAX_BATCH);
}

function withInstance(instance: Record<string, unknown>): unknown {
  return { instances: [instance] };
}

describe('parseJsonBody', () => {
  it('parses a JSON object', () => {
    expect(parseJsonBody('{"instances":[{"a":1}]}')).toEqual({ instances: [{ a: 1 }] });
  });

  it.each([
    ['an empty string', ''],
    ['whitespace only', ' \n\t '],
    ['null', null],
    ['undefined', undefined],
  ])('refuses %s as MALFORMED_JSON', (_label, body) => {
    const error = validationError(() => parseJsonBody(body));
    expect(error.code).toBe('MALFORMED_JSON');
    expect(error.status).toBe(400);
  });

  it('says a body of whitespace is empty, not broken', () => {
    expect(validationError(() => parseJsonBody(' \n\t '))).toMatchObject({ code: 'MALFORMED_JSON', message: 'the request body is empty; send a JSON object', details: {} });
  });

  it('refuses broken JSON as MALFORMED_JSON with the parser reason', () => {
    const error = validationError(() => parseJsonBody('{"instances": ['));
    expect(error.code).toBe('MALFORMED_JSON');
    expect(error.details.reason).toEqual(expect.any(String));
  });

  it('keeps a broken body MALFORMED_JSON even when it also holds a bare NaN', () => {
    const error = validationError(() => parseJsonBody('{"instances": [{"age": NaN'));
    expect(error.code).toBe('MALFORMED_JSON');
  });

  it('leaves NaN and Infinity inside string values alone', () => {
    const body = '{"note": "NaN and Infinity and -Infinity", "escaped": "a \\" NaN"}';
    expect(parseJsonBody(body)).toEqual({ note: 'NaN and Infinity and -Infinity', escaped: 'a " NaN' });
  });
});

describe('validatePredictRequest', () => {
  it('returns valid rows in order, preserving explicit nulls', () => {
    const rows = validateBody({
      instances: [VALID, { age: 41, income: null, home: null, job: 'freelance' }],
    });
    expect(rows).toEqual([
      { age: 30, income: 1200.5, home: 'rent', job: 'fixed' },
      { age: 41, income: null, home: null, job: 'freelance' },
    ]);
  });

  it('accepts a batch at the limit', () => {
    expect(validateBody({ instances: [VALID, VALID, VALID] })).toHaveLength(MAX_BATCH);
  });

  describe('INVALID_BODY', () => {
    it.each([
      ['an array', [VALID], 'array'],
      ['a string', 'instances', 'string'],
      ['a number', 42, 'number'],
      ['null', null, 'null'],
    ])('refuses %s as the body', (_label, body, received) => {
      const error = validationError(() => validateBody(body));
      expect(error.code).toBe('INVALID_BODY');
      expect(error.details.received).toBe(received);
    });

    it('refuses an unknown top-level key and names it', () => {
      const error = validationError(() => validateBody({ instances: [VALID], model: 'credit' }));
      expect(error.code).toBe('INVALID_BODY');
      expect(error.details.field).toBe('model');
    });

    it('refuses a body without instances', () => {
      const error = validationError(() => validateBody({}));
      expect(error).toMatchObject({ code: 'INVALID_BODY', details: { field: 'instances', received: 'undefined' } });
    });

    it.each([
      ['an object', { 0: VALID }, 'object'],
      ['a string', 'rows', 'string'],
      ['null', null, 'null'],
    ])('refuses instances that is %s', (_label, instances, received) => {
      const error = validationError(() => validateBody({ instances }));
      expect(error).toMatchObject({ code: 'INVALID_BODY', details: { field: 'instances', received } });
    });
  });

  it('refuses an empty batch as EMPTY_BATCH', () => {
    const error = validationError(() => validateBody({ instances: [] }));
    expect(error).toMatchObject({ code: 'EMPTY_BATCH', details: { field: 'instances' } });
  });

  it('refuses a batch over the limit as BATCH_TOO_LARGE with the size and the limit', () => {
    const error = validationError(() => validateBody({ instances: [VALID, VALID, VALID, VALID] }));
    expect(error).toMatchObject({ code: 'BATCH_TOO_LARGE', details: { field: 'instances', received: 4, limit: MAX_BATCH } });
  });

  it.each([
    ['an array', [1, 2], 'array'],
    ['a number', 7, 'number'],
    ['null', null, 'null'],
    ['a string', 'row', 'string'],
  ])('refuses an instance that is %s as INVALID_INSTANCE', (_label, instance, received) => {
    const error = validationError(() => validateBody({ instances: [VALID, instance] }));
    expect(error).toMatchObject({ code: 'INVALID_INSTANCE', details: { field: 'instances[1]', received } });
  });

  it('refuses an omitted feature as MISSING_FEATURE, even a nullable one', () => {
    const { income: _omitted, ...withoutIncome } = VALID;
    const error = validationError(() => validateBody(withInstance(withoutIncome)));
    expect(error).toMatchObject({ code: 'MISSING_FEATURE', details: { field: 'instances[0].income', nullable: true } });
  });

  it('refuses an omitted feature named like an Object.prototype property as MISSING_FEATURE', () => {
    const prototypeSchema = compileSchema({
      schema_version: 1,
      features: [
        { name: 'constructor', type: 'numeric', nullable: false },
        { name: 'toString', type: 'categorical', nullable: false, categories: ['a'] },
      ],
    });
    const missingConstructor = validationError(() =>
      validatePredictRequest(prototypeSchema, { instances: [{ toString: 'a' }] }, MAX_BATCH),
    );
    expect(missingConstructor).toMatchObject({ code: 'MISSING_FEATURE', details: { field: 'instances[0].constructor' } });
    const missingToString = validationError(() =>
      validatePredictRequest(prototypeSchema, parseJsonBody('{"instances":[{"constructor":1}]}'), MAX_BATCH),
    );
    expect(missingToString).toMatchObject({ code: 'MISSING_FEATURE', details: { field: 'instances[0].toString' } });
    expect(validatePredictRequest(prototypeSchema, parseJsonBody('{"instances":[{"constructor":1,"toString":"a"}]}'), 1)).toEqual([
      { constructor: 1, toString: 'a' },
    ]);
  });

  it('refuses an unknown feature as UNKNOWN_FEATURE and lists the expected ones', () => {
    const error = validationError(() => validateBody(withInstance({ ...VALID, shoe: 42 })));
    expect(error).toMatchObject({
      code: 'UNKNOWN_FEATURE',
      details: { field: 'instances[0].shoe', expected_features: ['age', 'income', 'home', 'job'] },
    });
  });

  it('names the unknown feature, not the missing one, when an instance has a feature renamed (as many keys as features)', () => {
    const { job: _job, ...withoutJob } = VALID;
    const error = validationError(() => validateBody(withInstance({ ...withoutJob, jobb: 'fixed' })));
    expect(error).toMatchObject({ code: 'UNKNOWN_FEATURE', details: { field: 'instances[0].jobb' } });
  });

  it('names the missing feature when there is no unknown one (fewer keys than features)', () => {
    const { income: _income, ...withoutIncome } = VALID;
    const error = validationError(() => validateBody(withInstance(withoutIncome)));
    expect(error).toMatchObject({ code: 'MISSING_FEATURE', details: { field: 'instances[0].income' } });
  });

  describe('INVALID_TYPE', () => {
    it('refuses a string for a number', () => {
      const error = validationError(() => validateBody(withInstance({ ...VALID, age: '30' })));
      expect(error).toMatchObject({
        code: 'INVALID_TYPE',
        details: { field: 'instances[0].age', expected: 'number', received: 'string' },
      });
    });

    it('refuses a number for a category', () => {
      const error = validationError(() => validateBody(withInstance({ ...VALID, job: 1 })));
      expect(error).toMatchObject({
        code: 'INVALID_TYPE',
        details: { field: 'instances[0].job', expected: 'string', received: 'number' },
      });
    });

    it.each([
      ['a boolean for a number', 'age', true, 'boolean'],
      ['a boolean for a category', 'home', false, 'boolean'],
      ['an object for a number', 'income', { value: 1 }, 'object'],
      ['an array for a category', 'job', ['fixed'], 'array'],
    ])('refuses %s', (_label, feature, value, received) => {
      const error = validationError(() => validateBody(withInstance({ ...VALID, [feature]: value })));
      expect(error).toMatchObject({ code: 'INVALID_TYPE', details: { field: `instances[0].${feature}`, received } });
    });

    it('refuses the string "NaN" for a number as INVALID_TYPE, not NON_FINITE_VALUE', () => {
      const error = validationError(() => parseAndValidate('{"instances":[{"age":"NaN","income":1,"home":"rent","job":"fixed"}]}'));
      expect(error).toMatchObject({ code: 'INVALID_TYPE', details: { field: 'instances[0].age', received: 'string' } });
    });
  });

  describe('NON_FINITE_VALUE', () => {
    it.each(['NaN', 'Infinity', '-Infinity'])('names the field holding a bare %s token', (token) => {
      const error = validationError(() =>
        parseAndValidate(`{"instances":[${JSON.stringify(VALID)},{"age":1,"income":${token},"home":"rent","job":"fixed"}]}`),
      );
      expect(error).toMatchObject({ code: 'NON_FINITE_VALUE', details: { field: 'instances[1].income', received: token } });
    });

    it('names the field holding a number too large for a double', () => {
      const error = validationError(() => parseAndValidate('{"instances":[{"age":1e999,"income":1,"home":"rent","job":"fixed"}]}'));
      expect(error).toMatchObject({ code: 'NON_FINITE_VALUE', details: { field: 'instances[0].age', received: 'Infinity' } });
    });

    it('refuses non-finite numbers passed as already-parsed values', () => {
      const error = validationError(() => validateBody(withInstance({ ...VALID, income: Number.NEGATIVE_INFINITY })));
      expect(error).toMatchObject({ code: 'NON_FINITE_VALUE', details: { field: 'instances[0].income' } });
    });

    it('validates a body whose strings mention NaN while a later value is a bare NaN', () => {
      const error = validationError(() =>
        parseAndValidate('{"instances":[{"age":1,"income":NaN,"home":"NaN","job":"fixed"}]}'),
      );
      expect(error).toMatchObject({ code: 'NON_FINITE_VALUE', details: { field: 'instances[0].income' } });
    });
  });

  it('refuses null for a non-nullable feature as NULL_NOT_ALLOWED', () => {
    const numeric = validationError(() => validateBody(withInstance({ ...VALID, age: null })));
    expect(numeric).toMatchObject({ code: 'NULL_NOT_ALLOWED', details: { field: 'instances[0].age' } });
    const categorical = validationError(() => validateBody(withInstance({ ...VALID, job: null })));
    expect(categorical).toMatchObject({ code: 'NULL_NOT_ALLOWED', details: { field: 'instances[0].job' } });
  });

  it('refuses a category the model does not know as UNKNOWN_CATEGORY with the allowed ones', () => {
    const error = validationError(() => validateBody(withInstance({ ...VALID, home: 'castle' })));
    expect(error).toMatchObject({
      code: 'UNKNOWN_CATEGORY',
      details: { field: 'instances[0].home', received: 'castle', allowed: ['owner', 'rent'] },
    });
  });

  it('treats categories case-sensitively and does not match Object.prototype names', () => {
    expect(validationError(() => validateBody(withInstance({ ...VALID, home: 'Rent' }))).code).toBe('UNKNOWN_CATEGORY');
    expect(validationError(() => validateBody(withInstance({ ...VALID, home: 'constructor' }))).code).toBe('UNKNOWN_CATEGORY');
  });
});

/** The largest double below `x` and the smallest above it (x > 0). */
function neighbours(x: number): [number, number] {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  view.setBigUint64(0, bits - 1n);
  const below = view.getFloat64(0);
  view.setBigUint64(0, bits + 1n);
  return [below, view.getFloat64(0)];
}

describe('the float32 range', () => {
  it('accepts the largest float32 of either sign, and refuses the next double beyond it as VALUE_BEYOND_FLOAT32', () => {
    const [below, above] = neighbours(FLOAT32_MAX);
    expect(FLOAT32_MAX).toBe(new Float32Array([3.4028234663852886e38])[0]);
    expect(validateBody(withInstance({ ...VALID, age: FLOAT32_MAX, income: -FLOAT32_MAX }))).toEqual([{ ...VALID, age: FLOAT32_MAX, income: -FLOAT32_MAX }]);
    expect(validateBody(withInstance({ ...VALID, age: below, income: -below }))).toEqual([{ ...VALID, age: below, income: -below }]);
    for (const value of [above, -above, 1e39, -1e308]) {
      const error = validationError(() => validateBody(withInstance({ ...VALID, income: value })));
      expect(error).toMatchObject({
        code: 'VALUE_BEYOND_FLOAT32',
        message: `instances[0].income is beyond the range of a float32 (±${FLOAT32_MAX})`,
        details: { field: 'instances[0].income', received: String(value), limit: FLOAT32_MAX },
      });
    }
  });
});

describe('what each refusal says', () => {
  it.each([
    ['an empty body', () => parseJsonBody(''), 'MALFORMED_JSON', 'the request body is empty; send a JSON object', {}],
    ['a body that is not an object', () => validateBody([]), 'INVALID_BODY', 'the request body must be a JSON object with "instances"', { received: 'array' }],
    ['an unknown top-level field', () => validateBody({ instances: [VALID], model: 1 }), 'INVALID_BODY', 'unknown top-level field "model"; only "instances" is accepted', { field: 'model' }],
    ['instances that are not an array', () => validateBody({ instances: {} }), 'INVALID_BODY', '"instances" must be an array of objects', { field: 'instances', received: 'object' }],
    ['an empty batch', () => validateBody({ instances: [] }), 'EMPTY_BATCH', '"instances" must hold at least one instance', { field: 'instances' }],
    ['a batch over the limit', () => validateBody({ instances: [VALID, VALID, VALID, VALID, VALID] }), 'BATCH_TOO_LARGE', '"instances" holds 5 instances; the limit is 3', { field: 'instances', received: 5, limit: 3 }],
    ['an instance that is not an object', () => validateBody({ instances: [VALID, VALID, 'x'] }), 'INVALID_INSTANCE', 'instances[2] must be an object of feature values', { field: 'instances[2]', received: 'string' }],
    ['a missing nullable feature', () => validateBody(withInstance({ age: 1, home: null, job: 'fixed' })), 'MISSING_FEATURE', 'instances[0].income is missing; send null for a missing value', { field: 'instances[0].income', nullable: true }],
    ['a missing feature that is not nullable', () => validateBody(withInstance({ income: 1, home: null, job: 'fixed' })), 'MISSING_FEATURE', 'instances[0].age is missing; send null for a missing value (this feature does not accept one)', { field: 'instances[0].age', nullable: false }],
    ['an unknown feature', () => validateBody(withInstance({ ...VALID, shoe: 1 })), 'UNKNOWN_FEATURE', 'instances[0].shoe is not a feature of this model', { field: 'instances[0].shoe', expected_features: ['age', 'income', 'home', 'job'] }],
    ['a null that is not allowed', () => validateBody(withInstance({ ...VALID, job: null })), 'NULL_NOT_ALLOWED', 'instances[0].job cannot be null for this model', { field: 'instances[0].job' }],
    ['a string for a number', () => validateBody(withInstance({ ...VALID, age: '1' })), 'INVALID_TYPE', 'instances[0].age must be a number', { field: 'instances[0].age', expected: 'number', received: 'string' }],
    ['a number for a category', () => validateBody(withInstance({ ...VALID, home: 1 })), 'INVALID_TYPE', 'instances[0].home must be a string category', { field: 'instances[0].home', expected: 'string', received: 'number' }],
    ['an unknown category', () => validateBody(withInstance({ ...VALID, job: 'none' })), 'UNKNOWN_CATEGORY', 'instances[0].job has a category the model does not know', { field: 'instances[0].job', received: 'none', allowed: ['fixed', 'freelance'] }],
    ['a non-finite number', () => validateBody(withInstance({ ...VALID, age: Number.NaN })), 'NON_FINITE_VALUE', 'instances[0].age must be a finite number', { field: 'instances[0].age', received: 'NaN' }],
    ['a bare NaN for a number', () => parseAndValidate('{"instances":[{"age":NaN,"income":1,"home":"rent","job":"fixed"}]}'), 'NON_FINITE_VALUE', 'instances[0].age must be a finite number', { field: 'instances[0].age', received: 'NaN' }],
    ['a bare Infinity for a category', () => parseAndValidate('{"instances":[{"age":1,"income":1,"home":"rent","job":Infinity}]}'), 'NON_FINITE_VALUE', 'instances[0].job must be a category, not a non-finite number', { field: 'instances[0].job', received: 'Infinity' }],
    ['a bare -Infinity for a nullable category', () => parseAndValidate('{"instances":[{"age":1,"income":1,"home":-Infinity,"job":"fixed"}]}'), 'NON_FINITE_VALUE', 'instances[0].home must be a category, not a non-finite number', { field: 'instances[0].home', received: '-Infinity' }],
  ] as const)('refuses %s with its code, message and details', (_what, action, code, message, details) => {
    const error = validationError(action);
    expect({ code: error.code, message: error.message, details: error.details, status: error.status }).toEqual({ code, message, details, status: 400 });
  });
});

describe('bare non-finite tokens', () => {
  const errorOfParse = (body: string): string => {
    try {
      JSON.parse(body);
    } catch (error) {
      return (error as Error).message;
    }
    throw new Error('the body parses');
  };

  it('gives the parser\'s own reason for a broken body, even one that also holds a bare token', () => {
    for (const body of ['{"instances": [', '{"instances": [{"age": NaN', '{"age": NaN,}']) {
      const error = validationError(() => parseJsonBody(body));
      expect(error).toMatchObject({ code: 'MALFORMED_JSON', message: 'the request body is not valid JSON', details: { reason: errorOfParse(body) } });
    }
  });

  it('skips escaped quotes inside strings when it looks for the tokens', () => {
    // After `\"` the string goes on: "NaN" inside it is text, and the bare NaN after it is still found.
    const body = '{"instances":[{"age":1,"home":"a \\" NaN \\\\","income":NaN,"job":"fixed"}]}';
    expect(JSON.parse(body.replace('NaN,', '1,'))).toMatchObject({ instances: [{ home: 'a " NaN \\' }] });
    const error = validationError(() => parseAndValidate(body));
    expect(error).toMatchObject({ code: 'NON_FINITE_VALUE', details: { field: 'instances[0].income', received: 'NaN' } });
  });

  it('finds every token of a body, each at its own field, in any order and next to any punctuation', () => {
    const parsed = parseJsonBody('{"a":[NaN,-Infinity,Infinity],"b":{"c":-Infinity},"d":"Infinity"}') as { a: string[]; b: { c: string }; d: string };
    const compiledList = compileSchema({ schema_version: 1, features: [{ name: 'x', type: 'numeric', nullable: false }] });
    const received = [...parsed.a, parsed.b.c].map((value) => validationError(() => validateInstance(compiledList, { x: value }, 0)).details.received);
    expect(received).toEqual(['NaN', '-Infinity', 'Infinity', '-Infinity']);
    expect(parsed.d).toBe('Infinity');
  });

  it('keeps a string that only looks like a marker a plain string', () => {
    const error = validationError(() => validateBody(withInstance({ ...VALID, age: 'non-finite:NaN' })));
    expect(error).toMatchObject({ code: 'INVALID_TYPE', details: { received: 'string' } });
  });
});

describe('validateInstance', () => {
  it('validates one row on its own, naming it by the index it is given', () => {
    expect(validateInstance(compiled, VALID, 41)).toEqual(VALID);
    expect(validationError(() => validateInstance(compiled, { ...VALID, age: 'x' }, 41))).toMatchObject({ code: 'INVALID_TYPE', details: { field: 'instances[41].age' } });
    expect(validationError(() => validateInstance(compiled, [VALID], 7))).toMatchObject({ code: 'INVALID_INSTANCE', details: { field: 'instances[7]', received: 'array' } });
  });

  it('returns only the schema\'s features, in schema order', () => {
    const row = validateInstance(compiled, { job: 'freelance', home: null, income: 2, age: 3 }, 0);
    expect(Object.keys(row)).toEqual(['age', 'income', 'home', 'job']);
  });

  it('reports the first problem in schema order, the unknown key before any missing one', () => {
    expect(validationError(() => validateInstance(compiled, { age: 'x', income: 'y', home: 'castle', job: 1 }, 0)).details.field).toBe('instances[0].age');
    expect(validationError(() => validateInstance(compiled, { age: 1, income: 'y', home: 'castle', job: 1 }, 0)).details.field).toBe('instances[0].income');
    expect(validationError(() => validateInstance(compiled, { zzz: 1 }, 0))).toMatchObject({ code: 'UNKNOWN_FEATURE', details: { field: 'instances[0].zzz' } });
  });

  it('keeps only categorical features\' categories: a numeric feature has none to match', () => {
    const mixed = compileSchema({ schema_version: 1, features: [{ name: 'n', type: 'numeric', nullable: false }, { name: 'c', type: 'categorical', nullable: false, categories: ['1'] }] });
    expect([...mixed.categories.keys()]).toEqual(['c']);
    expect([...mixed.names]).toEqual(['n', 'c']);
    expect(validateInstance(mixed, { n: 1, c: '1' }, 0)).toEqual({ n: 1, c: '1' });
  });
});
