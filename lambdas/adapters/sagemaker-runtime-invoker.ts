import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { EndpointCallError, type EndpointFailureKind, type EndpointInvoker } from '#core/serving/endpoint-scoring.ts';

/**
 * Calls SageMaker real-time endpoints with `InvokeEndpoint` (KServe v2 JSON in and out) and classifies failures
 * for the serving core. Give it a client built with `maxAttempts: 1`: the core owns retries (bounded, throttling
 * only), and the SDK's own retries would multiply them.
 */

/** Error names SageMaker (and its runtime) use for "slow down": the endpoint is healthy but at capacity. */
const THROTTLING = new Set(['ThrottlingException', 'ModelNotReadyException', 'TooManyRequestsException', 'RequestLimitExceeded']);

interface SdkErrorShape {
  readonly name?: string;
  readonly $fault?: string;
  readonly $metadata?: { readonly httpStatusCode?: number };
}

/** Maps an SDK error (or an abort) to the core's failure kinds. */
export function classifyInvokeError(error: unknown, timedOut: boolean): EndpointFailureKind {
  if (timedOut) return 'timeout';
  const shape = (typeof error === 'object' && error !== null ? error : {}) as SdkErrorShape;
  const status = shape.$metadata?.httpStatusCode;
  if ((shape.name !== undefined && THROTTLING.has(shape.name)) || status === 429) return 'throttled';
  if (shape.name === 'TimeoutError' || shape.name === 'AbortError') return 'timeout';
  // ModelError: the container answered an error; it is the endpoint failing, whatever its status.
  if (shape.name === 'ModelError' || shape.$fault === 'server' || (status !== undefined && status >= 500)) return 'server_error';
  if (shape.$fault === 'client') return 'client_error';
  // No HTTP answer at all (connection refused or reset): the endpoint is unreachable.
  return 'server_error';
}

/**
 * SageMaker runtime (`InvokeEndpoint`); `AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME` points it at the local server. One
 * attempt per call: the serving core retries throttled calls itself, within its own bound.
 */
export function createSageMakerRuntimeClient(): SageMakerRuntimeClient {
  return new SageMakerRuntimeClient({ maxAttempts: 1 });
}

export class SageMakerRuntimeInvoker implements EndpointInvoker {
  constructor(private readonly client: SageMakerRuntimeClient) {}

  async invoke(endpointName: string, body: string, timeoutMs: number): Promise<string> {
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    try {
      const response = await this.client.send(
        new InvokeEndpointCommand({
          EndpointName: endpointName,
          ContentType: 'application/json',
          Accept: 'application/json',
          Body: new TextEncoder().encode(body),
        }),
        { abortSignal: controller.signal },
      );
      if (response.Body === undefined) throw new EndpointCallError('server_error', `endpoint ${endpointName} answered no body`);
      return new TextDecoder().decode(response.Body);
    } catch (error) {
      if (error instanceof EndpointCallError) throw error;
      const kind = classifyInvokeError(error, timedOut);
      const reason = kind === 'timeout' ? `no answer within ${timeoutMs} ms` : error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      throw new EndpointCallError(kind, `InvokeEndpoint ${endpointName} failed (${kind}): ${reason}`, { cause: error });
    } finally {
      clearTimeout(timer);
    }
  }
}
