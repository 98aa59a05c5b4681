/**
 * Drift-triggered retraining: at most one request per model per cooldown, idempotently.
 *
 * The ledger (a conditional write in DynamoDB, a map in tests) keeps per model the last request's
 * id and time. A claim succeeds when there is none, when the last is older than the cooldown, or
 * when it carries the same request id: a retried drift job (Lambda retries, a re-run of the same
 * window) re-sends the same request instead of losing it or sending a second one.
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
  /** Records the claim and returns true when {@link mayRetrain} allows it, atomically; else returns false and records nothing. */
  claim(model: string, claim: RetrainClaim, cooldownMs: number): Promise<{ claimed: boolean; last?: LastRetrain }>;
}

/** The rule the ledger applies atomically. */
export function mayRetrain(last: LastRetrain | undefined, claim: RetrainClaim, cooldownMs: number): boolean {
  if (last === undefined) return true;
  if (last.request_id === claim.requestId) return true;
  return claim.at.getTime() - Date.parse(last.requested_at) >= cooldownMs;
}

/** An in-memory ledger (tests, `mlops drift run` without a deployment). */
export class InMemoryRetrainLedger implements RetrainLedger {
  readonly entries = new Map<string, LastRetrain>();

  async claim(model: string, claim: RetrainClaim, cooldownMs: number): Promise<{ claimed: boolean; last?: LastRetrain }> {
    const last = this.entries.get(model);
    if (!mayRetrain(last, claim, cooldownMs)) return { claimed: false, ...(last === undefined ? {} : { last }) };
    this.entries.set(model, { request_id: claim.requestId, requested_at: claim.at.toISOString() });
    return { claimed: true, ...(last === undefined ? {} : { last }) };
  }
}
