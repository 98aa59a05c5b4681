import { describe, expect, it } from 'vitest';
import type { ModelRecord } from '#core/registry/records.ts';
import { chooseVariant, routingBucket } from '#core/serving/traffic.ts';

const REQUESTS = 10_000;

function model(name: string, canary: ModelRecord['canary'], production: number | null = 1): ModelRecord {
  return {
    model: name,
    description: '',
    production_version: production,
    canary,
    shadow_version: null,
    previous_production_versions: [],
    latest_version: 3,
    revision: 1,
    created_at: '2024-01-01T00:00:00.000Z',
    updated_at: '2024-01-01T00:00:00.000Z',
  };
}

/** Request ids shaped as callers send them: UUID-like, differing mostly in their last characters. */
function requestId(i: number): string {
  return `6f1c2a9e-0b3d-4c57-9e21-${i.toString(16).padStart(12, '0')}`;
}

const never = (): number => {
  throw new Error('a keyed request must not draw at random');
};

function canaryShare(record: ModelRecord, keys: (i: number) => string): number {
  let canary = 0;
  for (let i = 0; i < REQUESTS; i++) if (chooseVariant(record, keys(i), never).variant === 'canary') canary++;
  return canary / REQUESTS;
}

describe('routingBucket', () => {
  it('is in [0, 1) and the same for the same model and key', () => {
    for (let i = 0; i < 1000; i++) {
      const bucket = routingBucket('credit', requestId(i));
      expect(bucket).toBeGreaterThanOrEqual(0);
      expect(bucket).toBeLessThan(1);
      expect(routingBucket('credit', requestId(i))).toBe(bucket);
    }
  });

  it('spreads sequential keys evenly over ten deciles', () => {
    const deciles = new Array<number>(10).fill(0);
    for (let i = 0; i < REQUESTS; i++) {
      const decile = Math.floor(routingBucket('credit', String(i)) * 10);
      deciles[decile] = (deciles[decile] ?? 0) + 1;
    }
    for (const count of deciles) expect(Math.abs(count / REQUESTS - 0.1)).toBeLessThanOrEqual(0.02);
  });
});

describe('routingBucket is stable across releases', () => {
  // A caller keeps its side of a split only while a key's bucket never changes, so the hash is part of the contract:
  // FNV-1a 32 over the UTF-16LE bytes of `${model}\u0000${key}`, then murmur3's fmix32, divided by 2^32. These values
  // were computed by an independent implementation of that definition (Python, over `str.encode('utf-16-le')`).
  it.each([
    ['credit', 'customer-42', 0.5422629434615374],
    ['credit', '6f1c2a9e-0b3d-4c57-9e21-000000000001', 0.4312307278160006],
    ['fraud', '顧客-7', 0.015735410153865814],
    ['credit', 'Łódź', 0.9285202794708312],
    ['credit', '', 0.06688770232722163],
    ['', '', 0.0965376936364919],
  ])('puts model %j, key %j at %s', (name, key, bucket) => {
    expect(routingBucket(name, key)).toBe(bucket);
  });
});

describe('routingBucket outside Latin-1', () => {
  it('separates keys that differ only in the high byte of a character', () => {
    // U+0141, U+0241, … U+FF41 share their low byte 0x41 with "A": a hash of low bytes alone would put them all in one bucket.
    const keys = Array.from({ length: 255 }, (_, i) => `customer-${String.fromCharCode(((i + 1) << 8) | 0x41)}`);
    const buckets = new Set(keys.map((key) => routingBucket('credit', key)));
    expect(buckets.size).toBe(keys.length);
    expect(buckets.has(routingBucket('credit', 'customer-A'))).toBe(false);
  });

  it('spreads CJK and Cyrillic entity keys evenly over ten deciles', () => {
    // Keys built from characters whose low bytes repeat every 256 code points.
    const cjk = (i: number): string => `顧客-${String.fromCharCode(0x4e00 + (i % 5000))}${String.fromCharCode(0x4e00 + Math.floor(i / 5000) * 256)}`;
    const cyrillic = (i: number): string => `клиент-${[...i.toString(8)].map((d) => String.fromCharCode(0x0430 + Number(d) * 256)).join('')}`;
    for (const key of [cjk, cyrillic]) {
      const deciles = new Array<number>(10).fill(0);
      const distinct = new Set<string>();
      for (let i = 0; i < REQUESTS; i++) {
        distinct.add(key(i));
        const decile = Math.floor(routingBucket('credit', key(i)) * 10);
        deciles[decile] = (deciles[decile] ?? 0) + 1;
      }
      expect(distinct.size).toBe(REQUESTS);
      for (const count of deciles) expect(Math.abs(count / REQUESTS - 0.1)).toBeLessThanOrEqual(0.02);
    }
  });
});

describe('chooseVariant', () => {
  it.each([0.1, 0.3])('honours a canary share of %s within ±2 %% over 10 000 distinct request ids', (share) => {
    const observed = canaryShare(model('credit', { version: 2, share }), requestId);
    expect(Math.abs(observed - share)).toBeLessThanOrEqual(0.02);
  });

  it('honours the share for short sequential keys and for entity keys too', () => {
    expect(Math.abs(canaryShare(model('credit', { version: 2, share: 0.3 }), String) - 0.3)).toBeLessThanOrEqual(0.02);
    const entity = (i: number): string => `customer-${i}`;
    expect(Math.abs(canaryShare(model('credit', { version: 2, share: 0.1 }), entity) - 0.1)).toBeLessThanOrEqual(0.02);
  });

  it('sends the same key to the same variant every time', () => {
    const record = model('credit', { version: 2, share: 0.3 });
    for (let i = 0; i < 500; i++) {
      const first = chooseVariant(record, requestId(i), never);
      for (let repeat = 0; repeat < 3; repeat++) expect(chooseVariant(record, requestId(i), never)).toEqual(first);
      expect(first.version).toBe(first.variant === 'canary' ? 2 : 1);
    }
  });

  it('keeps a key on the canary when the share grows', () => {
    const small = model('credit', { version: 2, share: 0.1 });
    const large = model('credit', { version: 2, share: 0.3 });
    for (let i = 0; i < 2000; i++) {
      if (chooseVariant(small, requestId(i), never).variant === 'canary') {
        expect(chooseVariant(large, requestId(i), never).variant).toBe('canary');
      }
    }
  });

  it('splits different models independently', () => {
    const a = model('credit', { version: 2, share: 0.5 });
    const b = model('fraud', { version: 2, share: 0.5 });
    let both = 0;
    for (let i = 0; i < REQUESTS; i++) {
      const key = requestId(i);
      if (chooseVariant(a, key, never).variant === 'canary' && chooseVariant(b, key, never).variant === 'canary') both++;
    }
    // Independent halves overlap on a quarter of the keys; identical splits would overlap on half.
    expect(Math.abs(both / REQUESTS - 0.25)).toBeLessThanOrEqual(0.02);
  });

  it('draws at random without a routing key (or with an empty one)', () => {
    const record = model('credit', { version: 2, share: 0.3 });
    expect(chooseVariant(record, undefined, () => 0.29)).toEqual({ variant: 'canary', version: 2 });
    expect(chooseVariant(record, undefined, () => 0.3)).toEqual({ variant: 'production', version: 1 });
    expect(chooseVariant(record, '', () => 0.29)).toEqual({ variant: 'canary', version: 2 });
    expect(chooseVariant(record, '', () => 0.3)).toEqual({ variant: 'production', version: 1 });
  });

  it('routes a canary share of 1 entirely to the canary, by key and by draw', () => {
    const record = model('credit', { version: 2, share: 1 });
    for (let i = 0; i < 100; i++) expect(chooseVariant(record, requestId(i), never)).toEqual({ variant: 'canary', version: 2 });
    expect(chooseVariant(record, undefined, () => 0.999_999)).toEqual({ variant: 'canary', version: 2 });
  });

  it('answers production without a random draw when there is nothing to split: no canary, a share of 0, or the canary is production', () => {
    for (const canary of [null, { version: 2, share: 0 }, { version: 1, share: 1 }]) {
      const record = model('credit', canary);
      expect(chooseVariant(record, undefined, never)).toEqual({ variant: 'production', version: 1 });
      for (let i = 0; i < 100; i++) expect(chooseVariant(record, requestId(i), never)).toEqual({ variant: 'production', version: 1 });
    }
  });

  it('answers production when there is no canary, and refuses a model without production', () => {
    expect(chooseVariant(model('credit', null), 'k', never)).toEqual({ variant: 'production', version: 1 });
    expect(chooseVariant(model('credit', { version: 1, share: 0.5 }), 'k', never)).toEqual({ variant: 'production', version: 1 });
    expect(() => chooseVariant(model('credit', null, null), 'k', never)).toThrow(/no production version/);
  });
});
