import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { StepCacheInput } from '#core/pipeline/step-cache.ts';
import { canonicalJson, stepCacheKey } from '#core/pipeline/step-cache.ts';

const base: StepCacheInput = {
  dataSha256: 'a'.repeat(64),
  parameters: { l2: 1, test_fraction: 0.25, seeds: [1, 2, 3], features: { drop: ['Age'], bin: { Income: 10 } } },
  trainer: 'builtin-logreg',
  trainerVersion: '1.0.0',
};

describe('canonicalJson', () => {
  it('sorts object keys at every depth and keeps array order', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: null } })).toBe('{"a":{"c":null,"d":[3,{"y":2,"z":1}]},"b":1}');
    expect(canonicalJson([2, 1])).not.toBe(canonicalJson([1, 2]));
  });

  it('writes strings and numbers as JSON does, and leaves out undefined object values', () => {
    expect(canonicalJson({ s: 'a"b\n', n: 1e-7, t: true, u: undefined })).toBe('{"n":1e-7,"s":"a\\"b\\n","t":true}');
  });

  it('rejects values JSON cannot represent faithfully', () => {
    expect(() => canonicalJson({ a: Number.NaN })).toThrow('$.a is not a finite number (NaN)');
    expect(() => canonicalJson([1n])).toThrow(TypeError);
    expect(() => canonicalJson({ d: new Date(0) })).toThrow('$.d is not a plain object');
    expect(() => canonicalJson(undefined)).toThrow(TypeError);
  });
});

describe('stepCacheKey', () => {

  it('is the sha256 hex of the canonical JSON', () => {
    const key = stepCacheKey(base);
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    const document = canonicalJson({
      cache_key_version: 1,
      data_sha256: base.dataSha256,
      parameters: base.parameters,
      trainer: base.trainer,
      trainer_version: base.trainerVersion,
    });
    expect(key).toBe(createHash('sha256').update(document).digest('hex'));
  });

  it('does not depend on the key order of the parameters or of the input', () => {
    const key = stepCacheKey(base);
    const reordered: StepCacheInput = {
      trainerVersion: '1.0.0',
      parameters: { features: { bin: { Income: 10 }, drop: ['Age'] }, seeds: [1, 2, 3], test_fraction: 0.25, l2: 1 },
      trainer: 'builtin-logreg',
      dataSha256: 'a'.repeat(64),
    };
    expect(stepCacheKey(reordered)).toBe(key);
    expect(stepCacheKey({ ...base })).toBe(key);
  });

  it('changes when anything changes', () => {
    const key = stepCacheKey(base);
    const variants: StepCacheInput[] = [
      { ...base, dataSha256: 'b'.repeat(64) },
      { ...base, trainer: 'other-trainer' },
      { ...base, trainerVersion: '1.0.1' },
      { ...base, step: 'train' },
      { ...base, parameters: { ...base.parameters, l2: 2 } },
      { ...base, parameters: { ...base.parameters, l2: '1' } },
      { ...base, parameters: { ...base.parameters, seeds: [3, 2, 1] } },
      { ...base, parameters: { ...base.parameters, max_iterations: 100 } },
      { ...base, parameters: { ...base.parameters, features: { drop: ['Age'], bin: { Income: 11 } } } },
    ];
    const keys = variants.map(stepCacheKey);
    expect(new Set([key, ...keys]).size).toBe(variants.length + 1);
  });

  it('rejects empty identifiers', () => {
    expect(() => stepCacheKey({ ...base, dataSha256: '' })).toThrow('dataSha256 must be a non-empty string');
    expect(() => stepCacheKey({ ...base, trainerVersion: '' })).toThrow(RangeError);
  });
});

describe('canonical JSON, exactly', () => {
  it('names the path of what it refuses, inside arrays and objects', () => {
    expect(() => canonicalJson({ a: [1, { b: Number.POSITIVE_INFINITY }] })).toThrow('$.a[1].b is not a finite number (Infinity)');
    expect(() => canonicalJson({ f: () => 1 })).toThrow('$.f is a function, which JSON cannot represent');
    expect(() => canonicalJson([Symbol('s')])).toThrow('$[0] is a symbol, which JSON cannot represent');
    expect(() => canonicalJson(new Map())).toThrow('$ is not a plain object');
  });

  it('accepts objects without a prototype, and sorts keys by code unit, equal prefixes shorter first', () => {
    const bare = Object.assign(Object.create(null) as Record<string, unknown>, { b: 1, a: 2 });
    expect(canonicalJson(bare)).toBe('{"a":2,"b":1}');
    expect(canonicalJson({ b: 1, a: 2, ab: 3, B: 4, aa: 5 })).toBe('{"B":4,"a":2,"aa":5,"ab":3,"b":1}');
    expect(canonicalJson([])).toBe('[]');
    expect(canonicalJson({})).toBe('{}');
  });

  it('refuses a missing or non-string trainer or trainer version', () => {
    const base2 = { dataSha256: 'a'.repeat(64), parameters: {}, trainer: 't', trainerVersion: '1' };
    expect(() => stepCacheKey({ ...base2, trainer: undefined as never })).toThrow('trainer must be a non-empty string');
    expect(() => stepCacheKey({ ...base2, trainerVersion: 1 as never })).toThrow('trainerVersion must be a non-empty string');
    expect(stepCacheKey(base2)).toBe(createHash('sha256').update(canonicalJson({ cache_key_version: 1, data_sha256: 'a'.repeat(64), parameters: {}, trainer: 't', trainer_version: '1' }), 'utf8').digest('hex'));
  });
});
