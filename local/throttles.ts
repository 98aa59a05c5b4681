import { API_ROUTES } from '#contracts/routes.ts';
import { DEFAULT_CONSUMER_NAME, GATEWAY_LIMIT_ERRORS, type ConsumerConfig, type QuotaConfig, type QuotaPeriod, type ThrottleConfig } from '#contracts/api.ts';

/**
 * The local gateway's usage plans, applied as API Gateway applies them: a token bucket per API key (refilled at
 * `rateLimit` per second, holding at most `burstLimit`), the explain route's own bucket per key, the key's quota per
 * UTC day, week or month, and the stage-wide throttle, which API Gateway applies to each method of the stage (one
 * bucket per route for all callers together). Limits are kept per key, not per consumer: the keys of one usage plan
 * do not share them (a rotated consumer's old and new keys each have their own). A refused request takes nothing
 * from any bucket or quota. Counters live in memory: a restart refills the buckets and resets the quotas.
 */

/** A limit the request ran into: the gateway answers `429` with this code and message. */
export type LimitRefusal = (typeof GATEWAY_LIMIT_ERRORS)[keyof typeof GATEWAY_LIMIT_ERRORS];

/** What the local platform applies: the `api` block's plans (and the explain route's per-key throttle). */
export interface LocalLimitsConfig {
  /** `api.throttle`: the default key's plan, and the consumers' without a throttle of their own. */
  readonly throttle: ThrottleConfig;
  /** `api.quota`: the default key's quota (consumers have only their own). @default - none */
  readonly quota?: QuotaConfig | undefined;
  /** `api.stageThrottle`, per method over all callers. @default - none */
  readonly stageThrottle?: ThrottleConfig | undefined;
  /** `explain.throttle`, per key on the explain route, beside the key's plan throttle. @default - none */
  readonly explainThrottle?: ThrottleConfig | undefined;
  /** `api.consumers`: their usage plans. */
  readonly consumers?: readonly ConsumerConfig[];
}

/** One request as the gateway sees it after the key check. */
export interface LimitedRequest {
  /** The key id of a route that needs a key (undefined for a public route: no usage plan applies). */
  readonly keyId: string | undefined;
  readonly method: string;
  /** The route's resource (`/v1/models/{model}/predict`). */
  readonly resource: string;
}

/** A token bucket: `burst` tokens at first, refilled at `rate` per second up to `burst`; a request takes one. */
export class TokenBucket {
  private tokens: number;
  private at: number;

  public constructor(
    private readonly rate: number,
    private readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.at = now;
  }

  /** Whether a request would get a token at `now`. */
  public has(now: number): boolean {
    this.refill(now);
    return this.tokens >= 1;
  }

  public take(now: number): void {
    this.refill(now);
    this.tokens -= 1;
  }

  private refill(now: number): void {
    // A clock that goes back adds nothing.
    const elapsed = Math.max(0, now - this.at) / 1000;
    this.tokens = Math.min(this.burst, this.tokens + elapsed * this.rate);
    this.at = Math.max(this.at, now);
  }
}

/** The start (ms, UTC) of the quota period holding `now`: the day, the week from Monday, or the month. */
export function quotaPeriodStart(period: QuotaPeriod, now: number): number {
  const date = new Date(now);
  const day = Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate());
  if (period === 'DAY') return day;
  if (period === 'MONTH') return Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1);
  const sinceMonday = (date.getUTCDay() + 6) % 7;
  return day - sinceMonday * 86_400_000;
}

interface KeyPlan {
  readonly throttle: ThrottleConfig;
  readonly quota: QuotaConfig | undefined;
}

export class LocalThrottles {
  private readonly keyBuckets = new Map<string, TokenBucket>();
  private readonly explainBuckets = new Map<string, TokenBucket>();
  private readonly stageBuckets = new Map<string, TokenBucket>();
  private readonly quotaUse = new Map<string, { periodStart: number; used: number }>();
  private readonly consumers: ReadonlyMap<string, ConsumerConfig>;

  /**
   * @param consumerOf the consumer a key id belongs to (`LocalApiKeys.consumerOf`); the default key's is "default"
   * @param now the clock (tests inject one) @default Date.now
   */
  public constructor(
    private readonly config: LocalLimitsConfig,
    private readonly consumerOf: (keyId: string) => string | undefined,
    private readonly now: () => number = Date.now,
  ) {
    this.consumers = new Map((config.consumers ?? []).map((consumer) => [consumer.name, consumer]));
  }

  /**
   * Admits one request, taking a token from each bucket it goes through and one from the key's quota; or refuses it
   * at the first limit in API Gateway's order (the key's plan: explain route, throttle, quota; then the stage's
   * per-method throttle), taking nothing.
   */
  public admit(request: LimitedRequest): LimitRefusal | undefined {
    const now = this.now();
    const buckets: TokenBucket[] = [];
    let quota: { periodStart: number; used: number } | undefined;
    let quotaKey: string | undefined;
    const plan = request.keyId === undefined ? undefined : this.planOf(request.keyId);
    if (request.keyId !== undefined && plan !== undefined) {
      const keyId = request.keyId;
      const explain = this.config.explainThrottle;
      if (explain !== undefined && request.method === API_ROUTES.explain.method && request.resource === API_ROUTES.explain.resource) {
        const bucket = this.bucket(this.explainBuckets, keyId, explain, now);
        if (!bucket.has(now)) return GATEWAY_LIMIT_ERRORS.throttled;
        buckets.push(bucket);
      }
      const bucket = this.bucket(this.keyBuckets, keyId, plan.throttle, now);
      if (!bucket.has(now)) return GATEWAY_LIMIT_ERRORS.throttled;
      buckets.push(bucket);
      if (plan.quota !== undefined) {
        const periodStart = quotaPeriodStart(plan.quota.period, now);
        const current = this.quotaUse.get(keyId);
        quota = current !== undefined && current.periodStart === periodStart ? current : { periodStart, used: 0 };
        if (quota.used >= plan.quota.limit) return GATEWAY_LIMIT_ERRORS.quotaExceeded;
        quotaKey = keyId;
      }
    }
    const stage = this.config.stageThrottle;
    if (stage !== undefined) {
      const bucket = this.bucket(this.stageBuckets, `${request.method} ${request.resource}`, stage, now);
      if (!bucket.has(now)) return GATEWAY_LIMIT_ERRORS.throttled;
      buckets.push(bucket);
    }
    for (const bucket of buckets) bucket.take(now);
    if (quota !== undefined && quotaKey !== undefined) this.quotaUse.set(quotaKey, { periodStart: quota.periodStart, used: quota.used + 1 });
    return undefined;
  }

  /** Requests left in the key's quota period (undefined: no quota). */
  public quotaRemaining(keyId: string): number | undefined {
    const plan = this.planOf(keyId);
    if (plan?.quota === undefined) return undefined;
    const use = this.quotaUse.get(keyId);
    const used = use !== undefined && use.periodStart === quotaPeriodStart(plan.quota.period, this.now()) ? use.used : 0;
    return Math.max(0, plan.quota.limit - used);
  }

  /** The usage plan of a key: the default plan for the default key, the consumer's for a consumer's key. */
  private planOf(keyId: string): KeyPlan | undefined {
    const consumerName = this.consumerOf(keyId);
    if (consumerName === undefined) return undefined;
    if (consumerName === DEFAULT_CONSUMER_NAME) return { throttle: this.config.throttle, quota: this.config.quota };
    const consumer = this.consumers.get(consumerName);
    if (consumer === undefined) return undefined;
    return { throttle: consumer.throttle ?? this.config.throttle, quota: consumer.quota };
  }

  private bucket(buckets: Map<string, TokenBucket>, id: string, throttle: ThrottleConfig, now: number): TokenBucket {
    let bucket = buckets.get(id);
    if (bucket === undefined) {
      bucket = new TokenBucket(throttle.rateLimit, throttle.burstLimit, now);
      buckets.set(id, bucket);
    }
    return bucket;
  }
}
