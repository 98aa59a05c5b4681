import { ModelUnavailableError, TooManyRequestsError, UpstreamTimeoutError } from '#core/errors.ts';
import type { Preprocessing } from '#core/model/metadata.ts';
import { CircuitBreaker, type CircuitState } from './circuit-breaker.ts';
import { kserveRequest, probabilitiesFromResponse } from './kserve-v2.ts';
import type { RemoteScoringEngine, ScoringSession } from './ports.ts';

/**
 * Scoring on a remote inference endpoint (a SageMaker real-time endpoint in AWS, the local SageMaker-runtime
 * server with `npm start`): one KServe v2 JSON call per batch with a timeout, bounded retries with exponential
 * backoff when the endpoint throttles, and a circuit breaker per endpoint that answers at once while the endpoint
 * keeps failing. Every outcome maps to one documented API error (docs/gpu.md#errors).
 */

/** How an endpoint call failed, as the adapter classifies the SDK's error. */
export type EndpointFailureKind = 'throttled' | 'timeout' | 'server_error' | 'client_error';

/** Thrown by an {@link EndpointInvoker} when the call did not return a body. */
export class EndpointCallError extends Error {
  constructor(
    readonly kind: EndpointFailureKind,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'EndpointCallError';
  }
}

/** Sends one JSON body to an endpoint and returns its JSON answer; throws {@link EndpointCallError}. */
export interface EndpointInvoker {
  invoke(endpointName: string, body: string, timeoutMs: number): Promise<string>;
}

/** What the engine reports, for logs and metrics. */
export interface EndpointObserver {
  /** A throttled call is retried after `delayMs`. */
  endpointRetried(event: { endpoint: string; attempt: number; delayMs: number }): void;
  /** A call failed for good (after any retries). */
  endpointFailed(event: { endpoint: string; code: string; kind: EndpointFailureKind | 'invalid_response'; attempts: number; cause: unknown }): void;
  circuitChanged(event: { endpoint: string; from: CircuitState; to: CircuitState }): void;
}

export interface EndpointScoringOptions {
  readonly invoker: EndpointInvoker;
  /** Longest wait for one endpoint call, in milliseconds. */
  readonly timeoutMs: number;
  /** Retries of a throttled call (0: none). */
  readonly maxThrottleRetries: number;
  /** Backoff before retry n (0-based) is `retryBaseDelayMs * 2^n`. */
  readonly retryBaseDelayMs: number;
  /** Consecutive failures (5xx, timeouts, invalid answers) that open an endpoint's circuit. */
  readonly failureThreshold: number;
  /** How long an open circuit answers `ENDPOINT_CIRCUIT_OPEN` before it lets a trial call through, in milliseconds. */
  readonly openMs: number;
  readonly observer?: EndpointObserver;
  /** @default Date.now */
  readonly now?: () => number;
  /** @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
}

const silentObserver: EndpointObserver = {
  endpointRetried: () => undefined,
  endpointFailed: () => undefined,
  circuitChanged: () => undefined,
};

export class EndpointScoringEngine implements RemoteScoringEngine {
  private readonly breakers = new Map<string, CircuitBreaker>();
  private readonly observer: EndpointObserver;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly options: EndpointScoringOptions) {
    this.observer = options.observer ?? silentObserver;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  createRemoteSession(endpointName: string, preprocessing: Preprocessing): ScoringSession {
    return {
      score: (input, rows) => this.score(endpointName, preprocessing, input, rows),
      release: () => Promise.resolve(),
    };
  }

  /** The state of an endpoint's circuit (closed for an endpoint never called). */
  circuitState(endpointName: string): CircuitState {
    return this.breakers.get(endpointName)?.state ?? 'closed';
  }

  private breaker(endpoint: string): CircuitBreaker {
    let breaker = this.breakers.get(endpoint);
    if (breaker === undefined) {
      breaker = new CircuitBreaker({
        failureThreshold: this.options.failureThreshold,
        openMs: this.options.openMs,
        ...(this.options.now === undefined ? {} : { now: this.options.now }),
        onStateChange: (from, to) => this.observer.circuitChanged({ endpoint, from, to }),
      });
      this.breakers.set(endpoint, breaker);
    }
    return breaker;
  }

  private async score(endpoint: string, preprocessing: Preprocessing, input: Float32Array, rows: number): Promise<Float32Array> {
    // Details name no endpoint: a consumer never needs to know where a model is served (the logs say).
    const breaker = this.breaker(endpoint);
    const permit = breaker.tryAcquire();
    if (!permit.allowed) {
      const retryAfterSeconds = Math.max(1, Math.ceil(permit.retryAfterMs / 1000));
      throw new ModelUnavailableError(
        'ENDPOINT_CIRCUIT_OPEN',
        `the model's inference endpoint is failing; calls are paused, retry in ${retryAfterSeconds} s`,
        { retry_after_seconds: retryAfterSeconds },
      );
    }
    const body = JSON.stringify(kserveRequest(preprocessing.input_name, input, rows, preprocessing.columns, preprocessing.output_name));

    for (let attempt = 0; ; attempt++) {
      let text: string;
      try {
        text = await this.options.invoker.invoke(endpoint, body, this.options.timeoutMs);
      } catch (cause) {
        const kind = cause instanceof EndpointCallError ? cause.kind : 'server_error';
        if (kind === 'throttled' && attempt < this.options.maxThrottleRetries) {
          const delayMs = this.options.retryBaseDelayMs * 2 ** attempt;
          this.observer.endpointRetried({ endpoint, attempt: attempt + 1, delayMs });
          await this.sleep(delayMs);
          continue;
        }
        throw this.failure(breaker, endpoint, kind, attempt + 1, cause);
      }
      let probabilities: Float32Array;
      try {
        probabilities = probabilitiesFromResponse(JSON.parse(text), preprocessing.output_name, rows);
      } catch (cause) {
        breaker.recordFailure();
        this.observer.endpointFailed({ endpoint, code: 'ENDPOINT_INVALID_RESPONSE', kind: 'invalid_response', attempts: attempt + 1, cause });
        throw new ModelUnavailableError('ENDPOINT_INVALID_RESPONSE', "the model's inference endpoint answered something that is not a prediction", {}, {
          cause,
        });
      }
      breaker.recordSuccess();
      return probabilities;
    }
  }

  /** Records the failure with the breaker and the observer and returns the API error it answers. */
  private failure(breaker: CircuitBreaker, endpoint: string, kind: EndpointFailureKind, attempts: number, cause: unknown): Error {
    let error: Error & { code: string };
    if (kind === 'throttled') {
      // Healthy but at capacity: auto scaling reacts; the breaker is for endpoints that fail.
      breaker.recordNeutral();
      error = new TooManyRequestsError(
        'ENDPOINT_THROTTLED',
        `the model's inference endpoint is at capacity (throttled ${attempts} times); retry with backoff`,
        { attempts },
        { cause },
      );
    } else if (kind === 'timeout') {
      breaker.recordFailure();
      error = new UpstreamTimeoutError(
        'ENDPOINT_TIMEOUT',
        `the model's inference endpoint did not answer within ${this.options.timeoutMs} ms`,
        { timeout_ms: this.options.timeoutMs },
        { cause },
      );
    } else {
      breaker.recordFailure();
      error = new ModelUnavailableError('ENDPOINT_FAILED', "the model's inference endpoint failed to score the request", {}, { cause });
    }
    this.observer.endpointFailed({ endpoint, code: error.code, kind, attempts, cause });
    return error;
  }
}
