import { describe, expect, it } from 'vitest';
import { parseMlopsConfig } from '../../../contracts/config.ts';
import { consumerDirectory, defaultKeyEnabled } from '../../../contracts/api.ts';
import { configEnv, ENV } from '../../../contracts/env.ts';
import { assertModelAllowed, consumerOf, DEFAULT_CONSUMER } from '../../../lambdas/core/api/consumers.ts';
import { ForbiddenError } from '../../../lambdas/core/errors.ts';

const DIRECTORY = { 'key-a': { name: 'bank-a', models: ['credit'] }, 'key-b': { name: 'bank-b' } };

describe('consumerOf', () => {
  it('finds the consumer of a key id, and the default consumer for any other or no key id', () => {
    expect(consumerOf(DIRECTORY, 'key-a')).toEqual({ name: 'bank-a', models: ['credit'] });
    for (const id of ['key-c', null, undefined, '', 'toString', '__proto__', 'constructor']) expect(consumerOf(DIRECTORY, id)).toBe(DEFAULT_CONSUMER);
  });
});

describe('consumerOf when the deployment has no default key (api.defaultKey off)', () => {
  it('refuses a key id outside the directory with 403 FORBIDDEN instead of serving it unrestricted', () => {
    for (const id of ['key-c', '', 'toString', '__proto__', 'constructor', 'default']) {
      let thrown: unknown;
      try {
        consumerOf(DIRECTORY, id, false);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(ForbiddenError);
      expect(thrown).toMatchObject({ status: 403, code: 'FORBIDDEN', details: {} });
    }
  });

  it("still finds a consumer's key, and a request without a key id (a public route) is the default consumer", () => {
    expect(consumerOf(DIRECTORY, 'key-b', false)).toEqual({ name: 'bank-b' });
    expect(consumerOf(DIRECTORY, null, false)).toBe(DEFAULT_CONSUMER);
    expect(consumerOf(DIRECTORY, undefined, false)).toBe(DEFAULT_CONSUMER);
  });
});

describe('api.defaultKey', () => {
  it('is on without consumers and off with them, unless the config says', () => {
    expect(defaultKeyEnabled(parseMlopsConfig({}).api)).toBe(true);
    expect(defaultKeyEnabled(parseMlopsConfig({ api: { consumers: [{ name: 'bank-a', models: ['credit'] }] } }).api)).toBe(false);
    expect(defaultKeyEnabled(parseMlopsConfig({ api: { consumers: [{ name: 'bank-a' }], defaultKey: true } }).api)).toBe(true);
    expect(defaultKeyEnabled(parseMlopsConfig({ api: { defaultKey: false } }).api)).toBe(false);
    expect(() => parseMlopsConfig({ api: { defaultKey: 'yes' } })).toThrow(/api\.defaultKey.*must be true or false, got "yes"/);
  });
});

describe('consumerOf without a key id', () => {
  it('answers the default consumer for a missing key id even where a directory entry is named like one', () => {
    const odd = { null: { name: 'bank-null' }, undefined: { name: 'bank-undefined' } };
    expect(consumerOf(odd, null)).toBe(DEFAULT_CONSUMER);
    expect(consumerOf(odd, undefined)).toBe(DEFAULT_CONSUMER);
    expect(consumerOf(odd, 'null')).toEqual({ name: 'bank-null' });
    expect(DEFAULT_CONSUMER).toEqual({ name: 'default' });
  });
});

describe('assertModelAllowed', () => {
  it('says which consumer may not call which model', () => {
    expect(() => assertModelAllowed({ name: 'bank-a', models: ['credit', 'fraud'] }, 'churn')).toThrow('consumer bank-a may not call model churn');
    expect(() => assertModelAllowed({ name: 'bank-a', models: [] }, 'credit')).toThrow(ForbiddenError);
  });
});

describe('assertModelAllowed for listed consumers', () => {
  it('lets a consumer without a list call every model and one with a list only its models', () => {
    expect(() => assertModelAllowed({ name: 'bank-b' }, 'anything')).not.toThrow();
    expect(() => assertModelAllowed(DIRECTORY['key-a'], 'credit')).not.toThrow();
    let thrown: unknown;
    try {
      assertModelAllowed(DIRECTORY['key-a'], 'credit2');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ForbiddenError);
    expect(thrown).toMatchObject({ status: 403, code: 'MODEL_NOT_ALLOWED', details: { consumer: 'bank-a', model: 'credit2', allowed: ['credit'] } });
  });
});

describe('api.consumers', () => {
  const consumers = (list: unknown) => () => parseMlopsConfig({ api: { consumers: list } });

  it('defaults to none, and fills a consumer key version 1 without retired versions', () => {
    expect(parseMlopsConfig({}).api.consumers).toEqual([]);
    expect(parseMlopsConfig({ api: { consumers: [{ name: 'bank-a' }] } }).api.consumers).toEqual([{ name: 'bank-a', keyVersion: 1, retiredKeyVersions: [] }]);
  });

  it('refuses duplicate or reserved names, bad model names, an empty model list and retired versions not below the current one', () => {
    expect(consumers([{ name: 'bank-a' }, { name: 'bank-a' }])).toThrow(/api\.consumers\[1\]\.name.*must be unique/);
    expect(consumers([{ name: 'default' }])).toThrow(/must not be "default"/);
    expect(consumers([{ name: 'Bank A' }])).toThrow(/api\.consumers\[0\]\.name/);
    expect(consumers([{ name: 'bank-a', models: [] }])).toThrow(/at least one model/);
    expect(consumers([{ name: 'bank-a', models: ['Credit!'] }])).toThrow(/api\.consumers\[0\]\.models/);
    expect(consumers([{ name: 'bank-a', keyVersion: 2, retiredKeyVersions: [2] }])).toThrow(/must be below keyVersion \(2\)/);
    expect(consumers([{ name: 'bank-a', apiKey: 'secret' }])).toThrow(/apiKey/);
    // What fits the predict function's 4 KB environment.
    const many = (count: number) => Array.from({ length: count }, (_, i) => ({ name: `tenant-${i}`, models: ['credit', 'fraud'], keyVersion: 2, retiredKeyVersions: [1] }));
    expect(() => parseMlopsConfig({ api: { consumers: many(20) } })).not.toThrow();
    expect(consumers(many(40))).toThrow(/api\.consumers.*bytes of the predict function's environment \(API_CONSUMERS\), more than 2048/);
  });

  it('reads the directory from API_CONSUMERS and refuses a malformed one at cold start', () => {
    const read = (value: string | undefined) => configEnv(ENV.API_CONSUMERS, consumerDirectory.optional(), 'api.consumers', { env: { [ENV.API_CONSUMERS]: value } });
    expect(read(undefined)).toBeUndefined();
    const list = [
      { name: 'bank-a', models: ['credit'], keyIds: ['key-a'] },
      { name: 'bank-b', keyIds: ['key-b'] },
    ];
    expect(read(JSON.stringify(list))).toEqual(DIRECTORY);
    expect(read('[{"name":"bank-a","keyIds":["new","old"]}]')).toEqual({ new: { name: 'bank-a' }, old: { name: 'bank-a' } });
    expect(() => read('[{"keyIds":["k"],"name":"Bad Name"}]')).toThrow(/API_CONSUMERS/);
    expect(() => read('[{"keyIds":[],"name":"bank-a"}]')).toThrow(/API_CONSUMERS/);
    expect(() => read('{"k":{"name":"bank-a"}}')).toThrow(/API_CONSUMERS/);
  });
});
