import { HttpApiError } from './errors.ts';
import type { ApiEndpoint } from './endpoint.ts';
import { API_ROUTES, routePath } from '#contracts/routes.ts';

/** Calls `POST /v1/models/{model}/predict` of the inference API, as any client would. */

export interface PredictAnswer {
  readonly model: string;
  readonly model_version: number;
  readonly variant: string;
  readonly predictions: readonly { readonly label: string; readonly probability: number }[];
}

export function predictUrl(endpoint: ApiEndpoint, model: string): string {
  return `${endpoint.url.replace(/\/+$/, '')}${routePath(API_ROUTES.predict, { model })}`;
}

export async function callPredict(
  endpoint: ApiEndpoint,
  model: string,
  instances: readonly unknown[],
  options: { readonly requestId?: string } = {},
): Promise<PredictAnswer> {
  const response = await fetch(predictUrl(endpoint, model), {
    method: API_ROUTES.predict.method,
    headers: {
      'content-type': 'application/json',
      'x-api-key': endpoint.apiKey,
      ...(options.requestId === undefined ? {} : { 'x-request-id': options.requestId }),
    },
    body: JSON.stringify({ instances }),
  });
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (!response.ok) {
    const error = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
    const message = typeof error?.message === 'string' ? error.message : (body as { message?: unknown } | undefined)?.message;
    throw new HttpApiError(
      response.status,
      typeof error?.code === 'string' ? error.code : 'HTTP_ERROR',
      typeof message === 'string' ? message : `the API answered ${response.status} ${response.statusText}`,
    );
  }
  if (typeof body !== 'object' || body === null || !Array.isArray((body as { predictions?: unknown }).predictions)) {
    throw new HttpApiError(response.status, 'UNEXPECTED_ANSWER', 'the API answered without predictions');
  }
  return body as PredictAnswer;
}
