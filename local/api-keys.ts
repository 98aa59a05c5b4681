import { randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import * as z from 'zod';
import { CONSUMER_NAME, DEFAULT_CONSUMER_NAME, type ConsumerConfig, type ConsumerDirectory } from '#contracts/api.ts';

/**
 * The local platform's API keys: the default key and one per API consumer (`api.consumers`), each with an id the
 * gateway puts on the event (`requestContext.identity.apiKeyId`) as API Gateway does. Rotation issues a new key and
 * keeps the old one valid for an overlap window, after which the gateway refuses it (`403 FORBIDDEN`, as API Gateway
 * answers an unknown key). Kept in `<dataDir>/api-keys.json` (mode 0600), so a restart keeps keys and overlaps.
 */

/** The id of the default key (`npm start`'s `MLOPS_API_KEY` or `.mlops-local/api-key`): no consumer, every model. */
export const DEFAULT_KEY_ID = DEFAULT_CONSUMER_NAME;

const storedKey = z.object({
  id: z.string(),
  consumer: z.string(),
  value: z.string(),
  created_at: z.string(),
  /** Set when a rotation replaced the key: it stays valid until then. */
  expires_at: z.string().optional(),
});
const storedKeys = z.object({ keys: z.array(storedKey) });

export type LocalApiKey = z.output<typeof storedKey>;

export interface RotatedKey {
  readonly consumer: string;
  /** The new key (its value is shown once here and by `keys list`). */
  readonly key: LocalApiKey;
  /** The keys it replaces, valid until their `expires_at`. */
  readonly previous: readonly LocalApiKey[];
}

export class UnknownConsumerError extends Error {}

function sameSecret(presented: string, expected: string): boolean {
  const a = Buffer.from(presented);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export interface LocalApiKeysOptions {
  /** Where the keys are kept; undefined: in memory only. */
  readonly file?: string;
  readonly defaultKey: string;
  /**
   * Whether the default key calls the API (`api.defaultKey`, resolved by `defaultKeyEnabled`): when off, the gateway
   * refuses it on the `/v1` routes as API Gateway refuses a key that no usage plan has (it still opens the local
   * platform's own `/local` routes). @default true
   */
  readonly defaultKeyEnabled?: boolean;
  readonly consumers: readonly ConsumerConfig[];
  /** @default Date.now */
  readonly now?: () => number;
}

export class LocalApiKeys {
  private keys: LocalApiKey[];
  private readonly now: () => number;
  private readonly consumers: ReadonlyMap<string, ConsumerConfig>;

  constructor(private readonly options: LocalApiKeysOptions) {
    this.now = options.now ?? Date.now;
    this.consumers = new Map(options.consumers.map((consumer) => [consumer.name, consumer]));
    this.keys = options.file !== undefined && existsSync(options.file) ? storedKeys.parse(JSON.parse(readFileSync(options.file, 'utf8'))).keys : [];
    // A consumer new in the config gets its first key; keys of consumers no longer configured stop working.
    let changed = false;
    for (const name of this.consumers.keys()) {
      if (!this.keys.some((key) => key.consumer === name && key.expires_at === undefined)) {
        this.keys.push(this.newKey(name));
        changed = true;
      }
    }
    if (changed) this.save();
  }

  /** The key id of a presented key, or undefined when it is no valid key (unknown, expired, or of a removed consumer). */
  authenticate(presented: string | undefined): string | undefined {
    if (presented === undefined || presented === '') return undefined;
    if (sameSecret(presented, this.options.defaultKey)) return this.options.defaultKeyEnabled === false ? undefined : DEFAULT_KEY_ID;
    const now = this.now();
    let match: string | undefined;
    // Every key compared (no early exit), so the time taken does not tell how far the search got.
    for (const key of this.keys) {
      if (sameSecret(presented, key.value) && this.isValid(key, now)) match = key.id;
    }
    return match;
  }

  /** The consumer of a key id while the key is valid (`default` for the default key); undefined otherwise. */
  consumerOf(keyId: string): string | undefined {
    if (keyId === DEFAULT_KEY_ID) return this.options.defaultKeyEnabled === false ? undefined : DEFAULT_CONSUMER_NAME;
    const now = this.now();
    return this.keys.find((key) => key.id === keyId && this.isValid(key, now))?.consumer;
  }

  /** What the predict function learns from `API_CONSUMERS` in AWS: key id to consumer, for every key still valid. */
  directory(): ConsumerDirectory {
    const now = this.now();
    const directory: ConsumerDirectory = {};
    for (const key of this.keys) {
      const consumer = this.consumers.get(key.consumer);
      if (consumer === undefined || !this.isValid(key, now)) continue;
      directory[key.id] = consumer.models === undefined ? { name: consumer.name } : { name: consumer.name, models: consumer.models };
    }
    return directory;
  }

  /** The consumers' keys still valid (values included: this is the operator's local machine). */
  list(): LocalApiKey[] {
    const now = this.now();
    return this.keys.filter((key) => this.isValid(key, now));
  }

  /**
   * Issues a new key for `consumer`; its current keys stay valid for `overlapSeconds` more (0: they stop at once).
   * @throws UnknownConsumerError when no consumer of that name is configured
   */
  rotate(consumer: string, overlapSeconds: number): RotatedKey {
    if (!this.consumers.has(consumer)) {
      throw new UnknownConsumerError(`no consumer "${consumer}" in api.consumers (configured: ${[...this.consumers.keys()].join(', ') || 'none'})`);
    }
    const now = this.now();
    const expiresAt = new Date(now + overlapSeconds * 1000).toISOString();
    const previous: LocalApiKey[] = [];
    this.keys = this.keys.map((key) => {
      if (key.consumer !== consumer || !this.isValid(key, now)) return key;
      // A key already winding down keeps its earlier end.
      const replaced = key.expires_at !== undefined && Date.parse(key.expires_at) < Date.parse(expiresAt) ? key : { ...key, expires_at: expiresAt };
      previous.push(replaced);
      return replaced;
    });
    const key = this.newKey(consumer);
    // Expired keys are dropped from the file: nothing can bring them back.
    this.keys = [...this.keys.filter((k) => this.isValid(k, now)), key];
    this.save();
    return { consumer, key, previous };
  }

  private isValid(key: LocalApiKey, now: number): boolean {
    return this.consumers.has(key.consumer) && (key.expires_at === undefined || now < Date.parse(key.expires_at));
  }

  private newKey(consumer: string): LocalApiKey {
    if (!CONSUMER_NAME.test(consumer)) throw new UnknownConsumerError(`"${consumer}" is not a consumer name`);
    return {
      id: `${consumer}-${randomBytes(6).toString('hex')}`,
      consumer,
      value: randomBytes(24).toString('base64url'),
      created_at: new Date(this.now()).toISOString(),
    };
  }

  private save(): void {
    if (this.options.file === undefined) return;
    const temporary = `${this.options.file}.tmp`;
    writeFileSync(temporary, `${JSON.stringify({ keys: this.keys }, null, 2)}\n`, { mode: 0o600 });
    renameSync(temporary, this.options.file);
  }
}
