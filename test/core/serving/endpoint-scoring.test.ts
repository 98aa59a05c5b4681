import { describe, expect, it } from 'vitest';
import { ApiError } from '#core/errors.ts';
import type { Preprocessing } from '#core/model/metadata.ts';
import { EndpointCallError, EndpointScoringEngine, type EndpointFailureKind, type EndpointObserver } from '#core/serving/endpoint-scoring.ts';

const PREPROCESSING: Preprocessing = {
  preprocess_version: 1,
  input_name: 'features',
  output_name: 'probability',
  columns: 2,
  encodings: [
    { feature: 'a', kind: 'numeric', impute: 0 },
    { feature: 'b', kind: 'numeric', impute: 0 },
  ],
};

type Step = { kind: EndpointFailureKind } | { body: string };

/** An invoker answering a script, one step per call (the last step repeats), recording the bodies it got. */
class ScriptedInvoker {
  readonly calls: { endpoint: string; body: unknown; timeoutMs: number }[] = [];
  constructor(private readonly steps: Step[]) {}

  async invoke(endpoint: string, body: string, timeoutMs: number): Promise<string> {
    this.calls.push({ endpoint, body: JSON.parse(body), timeoutMs });
    const step = this.steps[Math.min(this.calls.length - 1, this.steps.length - 1)];
    if (step === undefined) throw new Error('no step');
    if ('kind' in step) throw new EndpointCallError(step.kind, `scripted ${step.kind}`);
    return step.body;
  }
}

const ANSWER = JSON.stringify({ model_name: 'm', outputs: [{ name: 'probability', datatype: 'FP32', shape: [2, 1], data: [0.25, 0.75] }] });

function engine(steps: Step[], overrides: { failureThreshold?: number; maxThrottleRetries?: number } = {}) {
  const invoker = new ScriptedInvoker(steps);
  const clock = { now: 0 };
  const sleeps: number[] = [];
  const events: string[] = [];
  const observer: EndpointObserver = {
    endpointRetried: ({ attempt, delayMs }) => events.push(`retry ${attempt} after ${delayMs}`),
    endpointFailed: ({ code, kind, attempts }) => events.push(`failed ${code} ${kind} ${attempts}`),
    circuitChanged: ({ from, to }) => events.push(`circuit ${from}->${to}`),
  };
  const scoring = new EndpointScoringEngine({
    invoker,
    timeoutMs: 750,
    maxThrottleRetries: overrides.maxThrottleRetries ?? 2,
    retryBaseDelayMs: 50,
    failureThreshold: overrides.failureThreshold ?? 2,
    openMs: 30_000,
    observer,
    now: () => clock.now,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
  });
  const session = scoring.createRemoteSession('ep', PREPROCESSING);
  const score = () => session.score(new Float32Array([1, 2, 3, 4]), 2);
  return { scoring, invoker, clock, sleeps, events, score };
}

async function failure(promise: Promise<unknown>): Promise<ApiError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ApiError) return error;
    throw error;
  }
  throw new Error('expected an ApiError');
}

describe('EndpointScoringEngine', () => {
  it('sends one KServe v2 request with the encoded rows and reads the probabilities back', async () => {
    const { score, invoker } = engine([{ body: ANSWER }]);
    expect(Array.from(await score())).toEqual([0.25, 0.75]);
    expect(invoker.calls).toEqual([
      {
        endpoint: 'ep',
        timeoutMs: 750,
        body: { inputs: [{ name: 'features', shape: [2, 2], datatype: 'FP32', data: [1, 2, 3, 4] }], outputs: [{ name: 'probability' }] },
      },
    ]);
  });

  it('retries a throttled call with exponential backoff and succeeds', async () => {
    const { score, invoker, sleeps, events } = engine([{ kind: 'throttled' }, { kind: 'throttled' }, { body: ANSWER }]);
    expect(Array.from(await score())).toEqual([0.25, 0.75]);
    expect(invoker.calls).toHaveLength(3);
    expect(sleeps).toEqual([50, 100]);
    expect(events).toEqual(['retry 1 after 50', 'retry 2 after 100']);
  });

  it('answers 429 ENDPOINT_THROTTLED after the bounded retries, without opening the circuit', async () => {
    const { score, invoker, scoring, events } = engine([{ kind: 'throttled' }], { failureThreshold: 1 });
    const error = await failure(score());
    expect([error.status, error.code, error.details]).toEqual([429, 'ENDPOINT_THROTTLED', { attempts: 3 }]);
    expect(invoker.calls).toHaveLength(3);
    expect(scoring.circuitState('ep')).toBe('closed');
    expect(events.at(-1)).toBe('failed ENDPOINT_THROTTLED throttled 3');
  });

  it('answers 504 ENDPOINT_TIMEOUT on a timeout, without retrying', async () => {
    const { score, invoker } = engine([{ kind: 'timeout' }]);
    const error = await failure(score());
    expect([error.status, error.code, error.details]).toEqual([504, 'ENDPOINT_TIMEOUT', { timeout_ms: 750 }]);
    expect(invoker.calls).toHaveLength(1);
  });

  it.each(['server_error', 'client_error'] as const)('answers 503 ENDPOINT_FAILED on a %s, without retrying', async (kind) => {
    const { score, invoker } = engine([{ kind }]);
    const error = await failure(score());
    expect([error.status, error.code, error.details]).toEqual([503, 'ENDPOINT_FAILED', {}]);
    expect(invoker.calls).toHaveLength(1);
  });

  it.each([
    ['not JSON', 'oops'],
    ['no outputs', '{}'],
    ['another output', JSON.stringify({ outputs: [{ name: 'label', datatype: 'FP32', shape: [2, 1], data: [0, 1] }] })],
    ['too few values', JSON.stringify({ outputs: [{ name: 'probability', datatype: 'FP32', shape: [1, 1], data: [0.5] }] })],
    ['a non-number', JSON.stringify({ outputs: [{ name: 'probability', datatype: 'FP32', shape: [2, 1], data: [0.5, 'x'] }] })],
    ['strings', JSON.stringify({ outputs: [{ name: 'probability', datatype: 'BYTES', shape: [2, 1], data: [1, 2] }] })],
  ])('answers 503 ENDPOINT_INVALID_RESPONSE for an answer with %s', async (_what, body) => {
    const { score } = engine([{ body }]);
    const error = await failure(score());
    expect([error.status, error.code]).toEqual([503, 'ENDPOINT_INVALID_RESPONSE']);
  });

  it('accepts nested output data', async () => {
    const nested = JSON.stringify({ outputs: [{ name: 'probability', datatype: 'FP32', shape: [2, 1], data: [[0.25], [0.75]] }] });
    const { score } = engine([{ body: nested }]);
    expect(Array.from(await score())).toEqual([0.25, 0.75]);
  });

  it('opens the circuit after repeated failures, answers 503 ENDPOINT_CIRCUIT_OPEN without calling, and closes after a good trial', async () => {
    const { score, invoker, clock, scoring, events } = engine([{ kind: 'server_error' }, { kind: 'timeout' }, { body: ANSWER }], { failureThreshold: 2 });
    await failure(score());
    await failure(score());
    expect(scoring.circuitState('ep')).toBe('open');

    clock.now = 12_000;
    const open = await failure(score());
    expect([open.status, open.code, open.details]).toEqual([503, 'ENDPOINT_CIRCUIT_OPEN', { retry_after_seconds: 18 }]);
    expect(open.message).toBe("the model's inference endpoint is failing; calls are paused, retry in 18 s");
    expect(invoker.calls).toHaveLength(2);

    clock.now = 30_000;
    expect(Array.from(await score())).toEqual([0.25, 0.75]);
    expect(scoring.circuitState('ep')).toBe('closed');
    expect(events.filter((e) => e.startsWith('circuit'))).toEqual(['circuit closed->open', 'circuit open->half_open', 'circuit half_open->closed']);
  });

  it('keeps one circuit per endpoint', async () => {
    const invoker = new ScriptedInvoker([{ kind: 'server_error' }]);
    const scoring = new EndpointScoringEngine({ invoker, timeoutMs: 1, maxThrottleRetries: 0, retryBaseDelayMs: 0, failureThreshold: 1, openMs: 1000, now: () => 0 });
    await failure(scoring.createRemoteSession('a', PREPROCESSING).score(new Float32Array(2), 1));
    expect(scoring.circuitState('a')).toBe('open');
    expect(scoring.circuitState('b')).toBe('closed');
  });
  it('says in each error what happened and keeps what caused it', async () => {
    const throttled = await failure(engine([{ kind: 'throttled' }], { maxThrottleRetries: 1 }).score());
    expect(throttled.message).toBe("the model's inference endpoint is at capacity (throttled 2 times); retry with backoff");
    expect(throttled.cause).toMatchObject({ name: 'EndpointCallError', kind: 'throttled', message: 'scripted throttled' });
    const timeout = await failure(engine([{ kind: 'timeout' }]).score());
    expect(timeout.message).toBe("the model's inference endpoint did not answer within 750 ms");
    expect(timeout.cause).toBeInstanceOf(EndpointCallError);
    const failed = await failure(engine([{ kind: 'server_error' }]).score());
    expect(failed.message).toBe("the model's inference endpoint failed to score the request");
    expect(failed.cause).toMatchObject({ kind: 'server_error' });
    const invalid = await failure(engine([{ body: '{}' }]).score());
    expect([invalid.message, invalid.details]).toEqual(["the model's inference endpoint answered something that is not a prediction", {}]);
    expect(invalid.cause).toMatchObject({ name: 'KServeFormatError', message: 'the response has no "outputs" array' });
  });

  it('treats any other error of the invoker as a server error', async () => {
    const invoker = { invoke: async (): Promise<string> => Promise.reject(new TypeError('fetch failed')) };
    const events: string[] = [];
    const scoring = new EndpointScoringEngine({
      invoker,
      timeoutMs: 10,
      maxThrottleRetries: 3,
      retryBaseDelayMs: 1,
      failureThreshold: 1,
      openMs: 1000,
      now: () => 0,
      observer: { endpointRetried: () => undefined, endpointFailed: ({ code, kind, attempts }) => events.push(`${code} ${kind} ${attempts}`), circuitChanged: () => undefined },
    });
    const error = await failure(scoring.createRemoteSession('ep', PREPROCESSING).score(new Float32Array(2), 1));
    expect([error.status, error.code, error.cause]).toEqual([503, 'ENDPOINT_FAILED', new TypeError('fetch failed')]);
    expect(events).toEqual(['ENDPOINT_FAILED server_error 1']);
    expect(scoring.circuitState('ep')).toBe('open');
  });

  it('counts an answer that is not a prediction against the circuit, with the attempts it took', async () => {
    const { score, scoring, events, invoker } = engine([{ kind: 'throttled' }, { body: 'oops' }], { failureThreshold: 1 });
    await failure(score());
    expect(events).toEqual(['retry 1 after 50', 'circuit closed->open', 'failed ENDPOINT_INVALID_RESPONSE invalid_response 2']);
    expect(scoring.circuitState('ep')).toBe('open');
    expect((await failure(score())).code).toBe('ENDPOINT_CIRCUIT_OPEN');
    expect(invoker.calls).toHaveLength(2);
  });

  it('gives a throttled half-open trial back, so the next call may try instead of being refused', async () => {
    const { score, clock, invoker } = engine([{ kind: 'server_error' }, { kind: 'throttled' }, { body: ANSWER }], { failureThreshold: 1, maxThrottleRetries: 0 });
    await failure(score());
    clock.now = 30_000;
    expect((await failure(score())).code).toBe('ENDPOINT_THROTTLED');
    expect(Array.from(await score())).toEqual([0.25, 0.75]);
    expect(invoker.calls).toHaveLength(3);
  });

  it('waits between throttled attempts with a real timer when given no sleep', async () => {
    const invoker = new ScriptedInvoker([{ kind: 'throttled' }, { body: ANSWER }]);
    const scoring = new EndpointScoringEngine({ invoker, timeoutMs: 10, maxThrottleRetries: 1, retryBaseDelayMs: 1, failureThreshold: 1, openMs: 1000 });
    const session = scoring.createRemoteSession('ep', PREPROCESSING);
    expect(Array.from(await session.score(new Float32Array(4), 2))).toEqual([0.25, 0.75]);
    expect(invoker.calls).toHaveLength(2);
    await expect(session.release()).resolves.toBeUndefined();
  });
});
