import type { ModelRecord } from '#core/registry/records.ts';

/**
 * Traffic splitting between a model's production and canary versions. With a routing key
 * (a caller's request id or entity key) the split is deterministic: the same key always
 * lands on the same side for a given model and share, so a caller sticks to one version.
 * Without a key each request draws at random.
 */

export type Variant = 'production' | 'canary';

export interface VariantChoice {
  readonly variant: Variant;
  readonly version: number;
}

const FNV_OFFSET_BASIS = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const TWO_TO_THE_32 = 4_294_967_296;

/** FNV-1a over the UTF-16 code units of `text`, as an unsigned 32-bit integer. */
function fnv1a32(text: string): number {
  let hash = FNV_OFFSET_BASIS;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    // Both bytes of the code unit, so non-Latin-1 keys spread as well as ASCII ones.
    hash ^= unit & 0xff;
    hash = Math.imul(hash, FNV_PRIME);
    hash ^= unit >>> 8;
    hash = Math.imul(hash, FNV_PRIME);
  }
  return hash >>> 0;
}

/** A final avalanche (murmur3's fmix32) so that keys differing in their last characters spread evenly. */
function mix32(value: number): number {
  let h = value;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * A stable position in [0, 1) for a routing key within a model: the same (model, key)
 * always gives the same bucket, and different models split the same keys independently.
 */
export function routingBucket(model: string, key: string): number {
  return mix32(fnv1a32(`${model}\u0000${key}`)) / TWO_TO_THE_32;
}

/**
 * Which version answers a request: the canary when the request's bucket (or, without a
 * routing key, a random draw) falls below the canary's share, production otherwise.
 * The model must have a production version.
 */
export function chooseVariant(model: ModelRecord, routingKey: string | undefined, random: () => number): VariantChoice {
  const production = model.production_version;
  if (production === null) throw new Error(`model "${model.model}" has no production version to route to`);
  const { canary } = model;
  if (canary === null || !(canary.share > 0) || canary.version === production) {
    return { variant: 'production', version: production };
  }
  const position = routingKey === undefined || routingKey === '' ? random() : routingBucket(model.model, routingKey);
  return position < canary.share ? { variant: 'canary', version: canary.version } : { variant: 'production', version: production };
}
