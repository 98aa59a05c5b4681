import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { EventBridgePublisher } from '#adapters/eventbridge-publisher.ts';
import type { DriftJobSettings, DriftReportDocument } from '#core/drift/job.ts';
import { runDriftJob } from '#core/drift/job.ts';
import { parseWindow, windowSince } from '#core/drift/window.ts';
import { driftJobAdapters } from '../lambdas/drift-job/adapters.ts';
import { HttpApiError } from './errors.ts';
import type { ApiEndpoint } from './endpoint.ts';
import { LOCAL_ROUTES, routePath } from '#contracts/routes.ts';

/**
 * `mlops drift run`: the drift job on demand. Locally the local platform runs it (`POST /local/v1/drift/runs`,
 * as Lambda Invoke would); in AWS the CLI runs the same job code with the caller's credentials against the
 * stack's registry table, capture bucket and default event bus, with the settings the stack's drift function has
 * (stack output `DriftJobConfig`).
 */
/** How far back a check looks: a duration (`1h`), or from a time on (`--since`) to the check's. */
export type DriftSpan = { readonly window: string } | { readonly since: string };

export interface DriftClient {
  run(model: string, span: DriftSpan): Promise<DriftReportDocument>;
  /** Where a report key can be read by a person. */
  locate(key: string): string;
}

export class LocalDriftClient implements DriftClient {
  constructor(
    private readonly endpoint: ApiEndpoint,
    private readonly s3Endpoint: string,
    private readonly bucket: string,
  ) {}

  async run(model: string, span: DriftSpan): Promise<DriftReportDocument> {
    const response = await fetch(`${this.endpoint.url.replace(/\/+$/, '')}${routePath(LOCAL_ROUTES.runDrift)}`, {
      method: LOCAL_ROUTES.runDrift.method,
      headers: { 'x-api-key': this.endpoint.apiKey, 'content-type': 'application/json' },
      body: JSON.stringify({ model, ...span, kind: 'manual' }),
    });
    const text = await response.text();
    const body = JSON.parse(text === '' ? '{}' : text) as {
      results?: DriftReportDocument[];
      failures?: { model: string; error: string }[];
      error?: { code: string; message: string };
    };
    if (!response.ok) throw new HttpApiError(response.status, body.error?.code ?? 'HTTP_ERROR', body.error?.message ?? text);
    const failure = body.failures?.[0];
    if (failure !== undefined) throw new Error(`drift check of ${failure.model} failed: ${failure.error}`);
    const result = body.results?.[0];
    if (result === undefined) throw new Error('the local platform returned no drift report');
    return result;
  }

  locate(key: string): string {
    return `${this.s3Endpoint}/${this.bucket}/${key}`;
  }
}

export class AwsDriftClient implements DriftClient {
  constructor(
    private readonly options: { region: { region?: string }; table: string; bucket: string; settings: DriftJobSettings },
  ) {}

  async run(model: string, span: DriftSpan): Promise<DriftReportDocument> {
    const now = new Date();
    const windowMs = 'since' in span ? windowSince(span.since, now) : parseWindow(span.window);
    const dynamo = new DynamoDBClient(this.options.region);
    const documents = DynamoDBDocumentClient.from(dynamo, { marshallOptions: { removeUndefinedValues: true } });
    const s3 = new S3Client(this.options.region);
    const events = new EventBridgeClient(this.options.region);
    try {
      const { document } = await runDriftJob(
        {
          ...driftJobAdapters({
            documents,
            s3,
            tableName: this.options.table,
            captureBucketName: this.options.bucket,
            events: new EventBridgePublisher(events, 'default'),
          }),
          settings: this.options.settings,
        },
        { model, windowMs, now, kind: 'manual' },
      );
      return document;
    } finally {
      dynamo.destroy();
      s3.destroy();
      events.destroy();
    }
  }

  locate(key: string): string {
    return `s3://${this.options.bucket}/${key}`;
  }
}
