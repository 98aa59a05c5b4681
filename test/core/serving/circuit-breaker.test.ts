import { describe, expect, it } from 'vitest';
import { CircuitBreaker, type CircuitState } from '#core/serving/circuit-breaker.ts';

/** A breaker on a hand-driven clock, recording its state changes. */
function breaker(failureThreshold = 3, openMs = 10_000): { breaker: CircuitBreaker; clock: { now: number }; changes: string[] } {
  const clock = { now: 0 };
  const changes: string[] = [];
  const instance = new CircuitBreaker({
    failureThreshold,
    openMs,
    now: () => clock.now,
    onStateChange: (from: CircuitState, to: CircuitState) => changes.push(`${from}->${to}`),
  });
  return { breaker: instance, clock, changes };
}

describe('CircuitBreaker', () => {
  it('stays closed below the threshold, and a success resets the count', () => {
    const { breaker: b, changes } = breaker(3);
    b.recordFailure();
    b.recordFailure();
    b.recordSuccess();
    b.recordFailure();
    b.recordFailure();
    expect(b.state).toBe('closed');
    expect(b.tryAcquire()).toEqual({ allowed: true });
    expect(changes).toEqual([]);
  });

  it('opens after the threshold of consecutive failures and refuses calls with the time left', () => {
    const { breaker: b, clock, changes } = breaker(3, 10_000);
    for (let i = 0; i < 3; i++) b.recordFailure();
    expect(b.state).toBe('open');
    expect(changes).toEqual(['closed->open']);
    clock.now = 4000;
    expect(b.tryAcquire()).toEqual({ allowed: false, retryAfterMs: 6000 });
  });

  it('lets one trial through once the open time is over, and closes on its success', () => {
    const { breaker: b, clock, changes } = breaker(2, 10_000);
    b.recordFailure();
    b.recordFailure();
    clock.now = 10_000;
    expect(b.state).toBe('half_open');
    expect(b.tryAcquire()).toEqual({ allowed: true });
    // A second caller while the trial is in flight is refused.
    expect(b.tryAcquire().allowed).toBe(false);
    b.recordSuccess();
    expect(b.state).toBe('closed');
    expect(b.tryAcquire()).toEqual({ allowed: true });
    expect(changes).toEqual(['closed->open', 'open->half_open', 'half_open->closed']);
  });

  it('opens again for a full period when the trial fails', () => {
    const { breaker: b, clock, changes } = breaker(2, 10_000);
    b.recordFailure();
    b.recordFailure();
    clock.now = 12_000;
    expect(b.tryAcquire().allowed).toBe(true);
    b.recordFailure();
    expect(b.state).toBe('open');
    clock.now = 15_000;
    expect(b.tryAcquire()).toEqual({ allowed: false, retryAfterMs: 7000 });
    expect(changes).toEqual(['closed->open', 'open->half_open', 'half_open->open']);
  });

  it('gives a neutral outcome (throttled) back without counting it either way', () => {
    const { breaker: b, clock } = breaker(1, 1000);
    b.recordFailure();
    clock.now = 1000;
    expect(b.tryAcquire().allowed).toBe(true);
    b.recordNeutral();
    expect(b.state).toBe('half_open');
    expect(b.tryAcquire().allowed).toBe(true); // the trial slot is free again
  });

  it('refuses a threshold below 1 or not an integer, and takes 1', () => {
    expect(() => new CircuitBreaker({ failureThreshold: 0, openMs: 1 })).toThrow(new RangeError('failureThreshold must be a positive integer, got 0'));
    expect(() => new CircuitBreaker({ failureThreshold: 1.5, openMs: 1 })).toThrow(new RangeError('failureThreshold must be a positive integer, got 1.5'));
    const { breaker: b } = breaker(1);
    b.recordFailure();
    expect(b.state).toBe('open');
  });

  it('lets any number of calls through at once while closed', () => {
    const { breaker: b } = breaker(3);
    for (let i = 0; i < 5; i++) expect(b.tryAcquire()).toEqual({ allowed: true });
  });

  it('refuses a second caller during the trial with the full open time, and lets one through after the trial ends', () => {
    const { breaker: b, clock } = breaker(1, 10_000);
    b.recordFailure();
    clock.now = 10_000;
    expect(b.tryAcquire()).toEqual({ allowed: true });
    expect(b.tryAcquire()).toEqual({ allowed: false, retryAfterMs: 10_000 });
  });

  it('reports no change when a call that started before the circuit opened fails late, but restarts the open time', () => {
    const { breaker: b, clock, changes } = breaker(2, 10_000);
    b.recordFailure();
    b.recordFailure();
    clock.now = 6000;
    b.recordFailure();
    expect(changes).toEqual(['closed->open']);
    expect(b.tryAcquire()).toEqual({ allowed: false, retryAfterMs: 10_000 });
    clock.now = 15_999;
    expect(b.state).toBe('open');
    clock.now = 16_000;
    expect(b.state).toBe('half_open');
  });

  it('works without a state-change listener, on the real clock by default', () => {
    const b = new CircuitBreaker({ failureThreshold: 1, openMs: 3_600_000 });
    b.recordFailure();
    expect(b.state).toBe('open');
    const permit = b.tryAcquire();
    expect(permit.allowed).toBe(false);
    expect(permit.allowed ? 0 : permit.retryAfterMs).toBeGreaterThan(3_500_000);
    const quick = new CircuitBreaker({ failureThreshold: 1, openMs: 0 });
    quick.recordFailure();
    expect(quick.tryAcquire()).toEqual({ allowed: true });
    quick.recordSuccess();
    expect(quick.state).toBe('closed');
  });
});
