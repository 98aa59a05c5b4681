import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import { scalingReleaseProperties } from '#contracts/gpu.ts';
import { ENDPOINT_SCALING_METRICS } from '#contracts/metrics.ts';
import { releaseOtherVariants, type VariantScalableTargets } from '#core/serving/scaling-release.ts';

/** The fields of a CloudFormation custom resource request this handler reads. */
export interface CustomResourceRequest {
  readonly RequestType: 'Create' | 'Update' | 'Delete';
  readonly ResponseURL: string;
  readonly StackId: string;
  readonly RequestId: string;
  readonly LogicalResourceId: string;
  readonly PhysicalResourceId?: string;
  readonly ResourceProperties: unknown;
}

/** What CloudFormation expects at the request's pre-signed `ResponseURL`. */
export interface CustomResourceResponse {
  readonly Status: 'SUCCESS' | 'FAILED';
  readonly Reason?: string;
  readonly PhysicalResourceId: string;
  readonly StackId: string;
  readonly RequestId: string;
  readonly LogicalResourceId: string;
  readonly Data?: Record<string, string>;
}

/** Sends the response to CloudFormation (a PUT of the JSON to the pre-signed URL). */
export type Respond = (responseUrl: string, response: CustomResourceResponse) => Promise<void>;

export interface ScalingReleaseOptions {
  readonly targets: VariantScalableTargets;
  readonly respond: Respond;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

/** Thrown for an event that is not a CloudFormation custom resource request: there is nowhere to answer. */
export class CustomResourceEventError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CustomResourceEventError';
  }
}

const REQUEST_TYPES: readonly string[] = ['Create', 'Update', 'Delete'];

function parseRequest(event: unknown): CustomResourceRequest {
  const raw = (typeof event === 'object' && event !== null ? event : {}) as Record<string, unknown>;
  const strings = ['ResponseURL', 'StackId', 'RequestId', 'LogicalResourceId'] as const;
  const missing = strings.filter((key) => typeof raw[key] !== 'string' || raw[key] === '');
  if (!REQUEST_TYPES.includes(String(raw['RequestType'])) || missing.length > 0) {
    throw new CustomResourceEventError(
      `not a cloudformation custom resource request: RequestType (Create, Update or Delete), ${strings.join(', ')} are required, got ${JSON.stringify(event).slice(0, 200)}`,
    );
  }
  return raw as unknown as CustomResourceRequest;
}

/** PUTs the response with the empty content type the pre-signed URL was signed for. */
export const fetchRespond: Respond = async (responseUrl, response) => {
  const body = JSON.stringify(response);
  const answer = await fetch(responseUrl, { method: 'PUT', body, headers: { 'content-type': '', 'content-length': String(Buffer.byteLength(body)) } });
  if (!answer.ok) throw new Error(`cloudformation response was refused: ${answer.status} ${await answer.text().catch(() => '')}`.slice(0, 500));
};

/**
 * The `Custom::EndpointScalingRelease` handler. On Create and Update (CloudFormation runs it before the endpoint's
 * update, and again, with the old properties, before the endpoint's rollback) it deregisters the scalable targets of
 * the endpoint's variants other than `VariantName`; on Delete it does nothing (deleting an endpoint deregisters its
 * variants). It always answers CloudFormation, FAILED with the reason when the release failed, so that the endpoint
 * update does not start; only an answer that cannot be delivered throws (Lambda retries the invocation).
 */
export function createScalingReleaseHandler(options: ScalingReleaseOptions) {
  return async (event: unknown): Promise<CustomResourceResponse> => {
    const request = parseRequest(event);
    const base = { StackId: request.StackId, RequestId: request.RequestId, LogicalResourceId: request.LogicalResourceId };
    let response: CustomResourceResponse;
    if (request.RequestType === 'Delete') {
      response = { ...base, Status: 'SUCCESS', PhysicalResourceId: request.PhysicalResourceId ?? request.LogicalResourceId };
    } else {
      const parsed = scalingReleaseProperties.safeParse(request.ResourceProperties);
      const physicalId = parsed.success ? `${parsed.data.EndpointName}-scaling-release` : (request.PhysicalResourceId ?? request.LogicalResourceId);
      try {
        if (!parsed.success) throw new Error(`invalid properties: ${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`);
        const { EndpointName, VariantName } = parsed.data;
        const released = await releaseOtherVariants(options.targets, EndpointName, VariantName);
        options.logger.info('released the scaling of the endpoint variants the update replaces', {
          request_type: request.RequestType,
          endpoint: EndpointName,
          variant: VariantName,
          released,
        });
        if (released.length > 0) options.metrics.addMetric(ENDPOINT_SCALING_METRICS.released, MetricUnit.Count, released.length);
        response = { ...base, Status: 'SUCCESS', PhysicalResourceId: physicalId, Data: { Released: released.join(',') } };
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        options.logger.error('could not release the scaling of the endpoint variants: the endpoint update does not start', { request_type: request.RequestType, error });
        response = { ...base, Status: 'FAILED', PhysicalResourceId: physicalId, Reason: reason.slice(0, 1000) };
      }
    }
    await options.respond(request.ResponseURL, response);
    return response;
  };
}
