/**
 * Drift-triggered retraining: at most one request per model per cooldown, idempotently.
 *
 * The ledger (a conditional write in DynamoDB: `DynamoDbRetrainLedger`) keeps per model the last request's id and
 * time. A claim succeeds when there is none, when the last is older than the cooldown, or when it carries the same
 * request id: a retried drift job (Lambda retries, a re-run of the same window) re-sends the same request instead of
 * losing it or sending a second one.
 */

export interface RetrainClaim {
  readonly requestId: string;
  readonly at: Date;
}

export interface LastRetrain {
  readonly request_id: string;
  readonly requested_at: string;
}

/** Per-model memory of drift-triggered retrain requests. */
export interface RetrainLedger {
  /** Records the claim and returns true when the rule above allows it, atomically; else returns false and records nothing. */
  claim(model: string, claim: RetrainClaim, cooldownMs: number): Promise<{ claimed: boolean; last?: LastRetrain }>;
}

/** The single-flight lease of the drift job (adapters: DynamoDbDriftLease). */
export interface DriftLease {
  /** Takes the lease unless another holder's lease is still running; answers who holds it otherwise. */
  acquire(holder: string, now: Date, durationMs: number): Promise<{ readonly acquired: boolean; readonly holder?: string; readonly expiresAt?: string }>;
  /** Gives the lease back (only if `holder` still holds it). */
  release(holder: string): Promise<void>;
}
