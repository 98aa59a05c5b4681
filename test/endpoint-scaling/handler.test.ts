import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import {
  ApplicationAutoScalingClient,
  DeregisterScalableTargetCommand,
  DescribeScalableTargetsCommand,
  ObjectNotFoundException,
} from '@aws-sdk/client-application-auto-scaling';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { ApplicationAutoScalingTargets } from '#adapters/application-autoscaling-targets.ts';
import { type VariantScalableTargets, variantOfResourceId } from '#core/serving/scaling-release.ts';
import {
  createScalingReleaseHandler,
  CustomResourceEventError,
  type CustomResourceResponse,
  fetchRespond,
} from '../../lambdas/endpoint-scaling/scaling-release-handler.ts';

/** Application Auto Scaling as SageMaker sees it: the registered variants of each endpoint. */
class FakeTargets implements VariantScalableTargets {
  public readonly calls: string[] = [];
  public failWith: Error | undefined;
  public constructor(public readonly registered: Map<string, Set<string>>) {}

  public async registeredVariants(endpointName: string): Promise<string[]> {
    return [...(this.registered.get(endpointName) ?? [])];
  }

  public async deregister(endpointName: string, variantName: string): Promise<void> {
    this.calls.push(`deregister ${endpointName}/${variantName}`);
    if (this.failWith !== undefined) throw this.failWith;
    this.registered.get(endpointName)?.delete(variantName);
  }

  /** SageMaker's rule: an update may not remove (or change the instance type of) an autoscaled variant. */
  public updateEndpoint(endpointName: string, from: string, to: string): void {
    if (from !== to && this.registered.get(endpointName)?.has(from) === true) {
      throw new Error(`ValidationException: variant ${from} of ${endpointName} is registered with Application Auto Scaling`);
    }
  }
}

function request(type: 'Create' | 'Update' | 'Delete', variant: string, extra: Record<string, unknown> = {}) {
  return {
    RequestType: type,
    ResponseURL: 'https://cloudformation-custom-resource-response.example/presigned',
    StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/mlops/1',
    RequestId: `req-${type}`,
    LogicalResourceId: 'GpuEndpointfraudgpuScalingRelease',
    ResourceType: 'Custom::EndpointScalingRelease',
    ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:release',
    ResourceProperties: { ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:release', EndpointName: 'fraud-gpu', VariantName: variant },
    ...extra,
  };
}

function release(targets: VariantScalableTargets, respond?: (url: string, response: CustomResourceResponse) => Promise<void>) {
  const responses: [string, CustomResourceResponse][] = [];
  const handler = createScalingReleaseHandler({
    targets,
    respond:
      respond ??
      (async (url, response) => {
        responses.push([url, response]);
      }),
    logger: new Logger({ logLevel: 'SILENT' }),
    metrics: new Metrics({ namespace: 'test', serviceName: 'endpoint-scaling' }),
  });
  return { handler, responses };
}

describe('endpoint scaling release', () => {
  it('deregisters the replaced variant before an instance type change, so that the endpoint update SageMaker would refuse goes through', async () => {
    // Prepare: fraud-gpu serves ml-g5-xlarge, autoscaled; another endpoint has a target of its own.
    const targets = new FakeTargets(new Map([['fraud-gpu', new Set(['ml-g5-xlarge'])], ['other', new Set(['ml-g5-xlarge'])]]));
    expect(() => targets.updateEndpoint('fraud-gpu', 'ml-g5-xlarge', 'ml-g6-xlarge')).toThrow(/registered with Application Auto Scaling/);
    const { handler, responses } = release(targets);
    // Act: CloudFormation updates the release (VariantName changed) before the endpoint.
    const result = await handler(request('Update', 'ml-g6-xlarge', { PhysicalResourceId: 'fraud-gpu-scaling-release', OldResourceProperties: { EndpointName: 'fraud-gpu', VariantName: 'ml-g5-xlarge' } }));
    // Assess
    expect(result).toEqual({
      Status: 'SUCCESS',
      PhysicalResourceId: 'fraud-gpu-scaling-release',
      StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/mlops/1',
      RequestId: 'req-Update',
      LogicalResourceId: 'GpuEndpointfraudgpuScalingRelease',
      Data: { Released: 'ml-g5-xlarge' },
    });
    expect(responses).toEqual([['https://cloudformation-custom-resource-response.example/presigned', result]]);
    expect(() => targets.updateEndpoint('fraud-gpu', 'ml-g5-xlarge', 'ml-g6-xlarge')).not.toThrow();
    expect([...(targets.registered.get('other') ?? [])]).toEqual(['ml-g5-xlarge']);
  });

  it('keeps the variant the endpoint goes on serving (a model change never reaches it; a re-run leaves it registered)', async () => {
    const targets = new FakeTargets(new Map([['fraud-gpu', new Set(['ml-g5-xlarge'])]]));
    const { handler } = release(targets);
    const result = await handler(request('Update', 'ml-g5-xlarge', { PhysicalResourceId: 'fraud-gpu-scaling-release' }));
    expect(result.Status).toBe('SUCCESS');
    expect(result.Data).toEqual({ Released: '' });
    expect(targets.calls).toEqual([]);
    expect([...(targets.registered.get('fraud-gpu') ?? [])]).toEqual(['ml-g5-xlarge']);
  });

  it('releases the new variant when CloudFormation rolls back to the old name, before the endpoint goes back', async () => {
    // The update went as far as registering ml-g6-xlarge, then failed: the rollback updates the release first.
    const targets = new FakeTargets(new Map([['fraud-gpu', new Set(['ml-g6-xlarge'])]]));
    const { handler } = release(targets);
    await handler(request('Update', 'ml-g5-xlarge', { PhysicalResourceId: 'fraud-gpu-scaling-release', OldResourceProperties: { EndpointName: 'fraud-gpu', VariantName: 'ml-g6-xlarge' } }));
    expect(targets.calls).toEqual(['deregister fraud-gpu/ml-g6-xlarge']);
    expect(() => targets.updateEndpoint('fraud-gpu', 'ml-g6-xlarge', 'ml-g5-xlarge')).not.toThrow();
  });

  it('releases the variants of an endpoint that predates the release on its Create (the AllTraffic variant of earlier stacks)', async () => {
    const targets = new FakeTargets(new Map([['fraud-gpu', new Set(['AllTraffic'])]]));
    const { handler } = release(targets);
    const result = await handler(request('Create', 'ml-g5-xlarge'));
    expect(result).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: 'fraud-gpu-scaling-release', Data: { Released: 'AllTraffic' } });
  });

  it('does nothing on Delete (deleting the endpoint deregisters its variants) and answers with the same physical id', async () => {
    const targets = new FakeTargets(new Map([['fraud-gpu', new Set(['ml-g5-xlarge'])]]));
    const { handler } = release(targets);
    const result = await handler(request('Delete', 'ml-g5-xlarge', { PhysicalResourceId: 'fraud-gpu-scaling-release', ResourceProperties: {} }));
    expect(result).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: 'fraud-gpu-scaling-release' });
    expect(targets.calls).toEqual([]);
  });

  it('answers FAILED with the reason when a deregistration fails, so that CloudFormation stops before the endpoint update', async () => {
    const targets = new FakeTargets(new Map([['fraud-gpu', new Set(['ml-g5-xlarge'])]]));
    targets.failWith = Object.assign(new Error('User: arn:aws:sts::1:assumed-role/x is not authorized to perform: application-autoscaling:DeregisterScalableTarget'), { name: 'AccessDeniedException' });
    const { handler, responses } = release(targets);
    const result = await handler(request('Update', 'ml-g6-xlarge', { PhysicalResourceId: 'fraud-gpu-scaling-release' }));
    expect(result).toMatchObject({ Status: 'FAILED', PhysicalResourceId: 'fraud-gpu-scaling-release', Reason: expect.stringContaining('not authorized to perform: application-autoscaling:DeregisterScalableTarget') });
    expect(responses).toHaveLength(1);
  });

  it('answers FAILED for properties that name no endpoint or an invalid variant', async () => {
    const { handler } = release(new FakeTargets(new Map()));
    const result = await handler(request('Create', 'ml.g5.xlarge'));
    expect(result.Status).toBe('FAILED');
    expect(result.Reason).toMatch(/^invalid properties: VariantName: /);
    const missing = await handler({ ...request('Create', 'x'), ResourceProperties: { VariantName: 'x' } });
    expect(missing.Reason).toMatch(/EndpointName/);
  });

  it('refuses an event that is not a custom resource request, answering nowhere', async () => {
    const { handler, responses } = release(new FakeTargets(new Map()));
    await expect(handler({ RequestType: 'Create' })).rejects.toThrow(CustomResourceEventError);
    await expect(handler({ ...request('Create', 'x'), RequestType: 'Upsert' })).rejects.toThrow(/RequestType \(Create, Update or Delete\)/);
    await expect(handler(null)).rejects.toThrow(/not a cloudformation custom resource request/);
    expect(responses).toEqual([]);
  });

  it('throws when the answer cannot be delivered, so that Lambda retries the invocation', async () => {
    const { handler } = release(new FakeTargets(new Map()), async () => {
      throw new Error('cloudformation response was refused: 403');
    });
    await expect(handler(request('Create', 'ml-g5-xlarge'))).rejects.toThrow('403');
  });
});

describe('fetchRespond', () => {
  async function withServer(status: number, run: (url: string, seen: { method?: string; type?: string; body: string }[]) => Promise<void>): Promise<void> {
    const seen: { method?: string; type?: string; body: string }[] = [];
    const server = createServer((req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        seen.push({ method: req.method, type: req.headers['content-type'], body: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(status);
        res.end(status === 200 ? '' : '<Error><Code>SignatureDoesNotMatch</Code></Error>');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      await run(`http://127.0.0.1:${(server.address() as AddressInfo).port}/presigned?X-Amz-Signature=abc`, seen);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }
  const response: CustomResourceResponse = { Status: 'SUCCESS', PhysicalResourceId: 'p', StackId: 's', RequestId: 'r', LogicalResourceId: 'l' };

  it('PUTs the JSON response with an empty content type (what the pre-signed URL was signed for)', async () => {
    await withServer(200, async (url, seen) => {
      await fetchRespond(url, response);
      expect(seen).toEqual([{ method: 'PUT', type: '', body: JSON.stringify(response) }]);
    });
  });

  it('throws with the status when the URL refuses the answer', async () => {
    await withServer(403, async (url) => {
      await expect(fetchRespond(url, response)).rejects.toThrow(/refused: 403 .*SignatureDoesNotMatch/);
    });
  });
});

describe('ApplicationAutoScalingTargets', () => {
  it("lists this endpoint's SageMaker variants across pages, and no other endpoint's", async () => {
    const client = mockClient(ApplicationAutoScalingClient);
    client
      .on(DescribeScalableTargetsCommand, { NextToken: undefined })
      .resolves({ ScalableTargets: [{ ResourceId: 'endpoint/fraud-gpu/variant/ml-g5-xlarge' } as never, { ResourceId: 'endpoint/fraud-gpu-2/variant/ml-g5-xlarge' } as never], NextToken: 't2' })
      .on(DescribeScalableTargetsCommand, { NextToken: 't2' })
      .resolves({ ScalableTargets: [{ ResourceId: 'endpoint/FRAUD-GPU/variant/x' } as never, { ResourceId: 'endpoint/fraud-gpu/variant/AllTraffic' } as never] });
    const targets = new ApplicationAutoScalingTargets(client as unknown as ApplicationAutoScalingClient);
    expect(await targets.registeredVariants('fraud-gpu')).toEqual(['ml-g5-xlarge', 'AllTraffic']);
    const inputs = client.commandCalls(DescribeScalableTargetsCommand).map((call) => call.args[0].input);
    expect(inputs).toEqual([
      { ServiceNamespace: 'sagemaker', ScalableDimension: 'sagemaker:variant:DesiredInstanceCount' },
      { ServiceNamespace: 'sagemaker', ScalableDimension: 'sagemaker:variant:DesiredInstanceCount', NextToken: 't2' },
    ]);
  });

  it('deregisters one variant, a target already gone being no error, any other error thrown', async () => {
    const client = mockClient(ApplicationAutoScalingClient);
    client
      .on(DeregisterScalableTargetCommand)
      .resolves({})
      .on(DeregisterScalableTargetCommand, { ResourceId: 'endpoint/fraud-gpu/variant/gone' })
      .rejects(new ObjectNotFoundException({ message: 'No scalable target registered', $metadata: {} }))
      .on(DeregisterScalableTargetCommand, { ResourceId: 'endpoint/fraud-gpu/variant/denied' })
      .rejects(Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' }));
    const targets = new ApplicationAutoScalingTargets(client as unknown as ApplicationAutoScalingClient);
    await targets.deregister('fraud-gpu', 'ml-g5-xlarge');
    await targets.deregister('fraud-gpu', 'gone');
    await expect(targets.deregister('fraud-gpu', 'denied')).rejects.toThrow('not authorized');
    expect(client.commandCalls(DeregisterScalableTargetCommand)[0]?.args[0].input).toEqual({
      ServiceNamespace: 'sagemaker',
      ScalableDimension: 'sagemaker:variant:DesiredInstanceCount',
      ResourceId: 'endpoint/fraud-gpu/variant/ml-g5-xlarge',
    });
  });

  it('reads only resource ids of the endpoint with one variant segment', () => {
    expect(variantOfResourceId('fraud-gpu', 'endpoint/fraud-gpu/variant/ml-g5-xlarge')).toBe('ml-g5-xlarge');
    expect(variantOfResourceId('fraud-gpu', 'endpoint/fraud-gpu/variant/')).toBeUndefined();
    expect(variantOfResourceId('fraud-gpu', 'endpoint/fraud-gpu/variant/a/b')).toBeUndefined();
    expect(variantOfResourceId('fraud-gpu', 'inference-component/fraud-gpu')).toBeUndefined();
  });
});
