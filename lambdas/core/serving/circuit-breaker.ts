/**
 * A circuit breaker for calls to one remote endpoint: after `failureThreshold` consecutive failures it opens and
 * refuses calls for `openMs`, then lets one trial call through (half open); the trial's success closes it, its
 * failure opens it again. Pure: time comes from the injected clock, so tests drive it without waiting.
 */

export type CircuitState = 'closed' | 'open' | 'half_open';

export interface CircuitBreakerOptions {
  /** Consecutive failures that open the circuit (at least 1). */
  readonly failureThreshold: number;
  /** How long an open circuit refuses calls before it lets a trial through, in milliseconds. */
  readonly openMs: number;
  /** @default Date.now */
  readonly now?: () => number;
  /** Told of every state change (for logs and metrics). */
  readonly onStateChange?: (from: CircuitState, to: CircuitState) => void;
}

/** Whether a call may go ahead; when not, how long until the circuit lets a trial through. */
export type Permit = { readonly allowed: true } | { readonly allowed: false; readonly retryAfterMs: number };

export class CircuitBreaker {
  private current: CircuitState = 'closed';
  private consecutiveFailures = 0;
  private openedAt = 0;
  private trialInFlight = false;
  private readonly now: () => number;

  constructor(private readonly options: CircuitBreakerOptions) {
    if (!Number.isInteger(options.failureThreshold) || options.failureThreshold < 1) {
      throw new RangeError(`failureThreshold must be a positive integer, got ${options.failureThreshold}`);
    }
    this.now = options.now ?? Date.now;
  }

  /** The state as of now (an open circuit whose time is up reads as half open). */
  get state(): CircuitState {
    if (this.current === 'open' && this.now() - this.openedAt >= this.options.openMs) return 'half_open';
    return this.current;
  }

  /** Asks to make a call. In half open, only one trial call is allowed at a time. */
  tryAcquire(): Permit {
    if (this.current === 'closed') return { allowed: true };
    if (this.current === 'open') {
      const remaining = this.openedAt + this.options.openMs - this.now();
      if (remaining > 0) return { allowed: false, retryAfterMs: remaining };
      this.transition('half_open');
    }
    if (this.trialInFlight) return { allowed: false, retryAfterMs: this.options.openMs };
    this.trialInFlight = true;
    return { allowed: true };
  }

  /** The call succeeded: the circuit closes (or stays closed) and the failure count starts again. */
  recordSuccess(): void {
    this.trialInFlight = false;
    this.consecutiveFailures = 0;
    if (this.current !== 'closed') this.transition('closed');
  }

  /** The call failed in a way that says the endpoint is unhealthy. */
  recordFailure(): void {
    this.trialInFlight = false;
    this.consecutiveFailures++;
    if (this.current === 'half_open' || this.consecutiveFailures >= this.options.failureThreshold) {
      this.openedAt = this.now();
      if (this.current !== 'open') this.transition('open');
    }
  }

  /**
   * The call ended in a way that says nothing about the endpoint's health (it was throttled: healthy but at
   * capacity). Counts neither way; a half-open trial is given back so another call can try.
   */
  recordNeutral(): void {
    this.trialInFlight = false;
  }

  private transition(to: CircuitState): void {
    const from = this.current;
    this.current = to;
    this.options.onStateChange?.(from, to);
  }
}
