import { readdirSync, readFileSync, statSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { DescribeExecutionCommand, StartExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { CliError, HttpApiError } from './errors.ts';
import type { ApiEndpoint } from './endpoint.ts';
import { LOCAL_ROUTES, routePath, type RouteSpec } from '#contracts/routes.ts';

/**
 * Batch scoring as the CLI sees it: start a job, read where it stands. In AWS that is the batch state machine
 * (StartExecution, DescribeExecution); locally the local platform's `/local/v1/batch/jobs` routes. With `--local`,
 * files and folders are uploaded to the local batch bucket and the output is downloaded back.
 */

export interface BatchJobInput {
  readonly job_id: string;
  readonly model: string;
  readonly version?: number;
  readonly input: string;
  readonly output: string;
  readonly requested_by: string;
}

export interface BatchJobSnapshot {
  readonly status: 'running' | 'succeeded' | 'failed';
  readonly output?: unknown;
  readonly error?: { readonly name: string; readonly message: string };
  /** The summary the job's event carried (also for a failed job). */
  readonly summary?: unknown;
}

export interface BatchClient {
  readonly local: boolean;
  readonly pollMs: number;
  start(input: BatchJobInput): Promise<string>;
  get(id: string): Promise<BatchJobSnapshot>;
  /** Locally: a file or folder put under `s3://{bucket}/{prefix}`; returns the URI. */
  upload?(path: string, prefix: string): Promise<string>;
  /** Locally: every object under the URI written into `dir`; returns the paths. */
  download?(uri: string, dir: string): Promise<string[]>;
}

export class LocalBatchClient implements BatchClient {
  readonly local = true;
  readonly pollMs = 300;

  constructor(
    private readonly endpoint: ApiEndpoint,
    private readonly s3: S3Client,
    readonly bucket: string,
  ) {}

  async start(input: BatchJobInput): Promise<string> {
    const answer = await this.call<{ job_id: string }>(LOCAL_ROUTES.startBatchJob, {}, input);
    return answer.job_id;
  }

  async get(id: string): Promise<BatchJobSnapshot> {
    const job = await this.call<{ status: BatchJobSnapshot['status']; output?: unknown; error?: { name: string; message: string }; events?: { kind: string; body: unknown }[] }>(
      LOCAL_ROUTES.describeBatchJob,
      { id },
    );
    const event = (job.events ?? []).find((e) => e.kind === 'event');
    return {
      status: job.status,
      ...(job.output === undefined ? {} : { output: job.output }),
      ...(job.error === undefined ? {} : { error: job.error }),
      ...(event === undefined ? {} : { summary: event.body }),
    };
  }

  async upload(path: string, prefix: string): Promise<string> {
    let stat;
    try {
      stat = statSync(path);
    } catch {
      throw new CliError(`--input ${path} does not exist`, 2);
    }
    const files = stat.isDirectory() ? readdirSync(path, { recursive: true, encoding: 'utf8' }).map((f) => join(path, f)).filter((f) => statSync(f).isFile()) : [path];
    for (const file of files) {
      const key = `${prefix}${stat.isDirectory() ? relative(path, file).split('\\').join('/') : basename(file)}`;
      await this.s3.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: readFileSync(file) }));
    }
    return `s3://${this.bucket}/${prefix}`;
  }

  async download(uri: string, dir: string): Promise<string[]> {
    const match = /^s3:\/\/([^/]+)\/(.*)$/.exec(uri);
    if (match === null) throw new CliError(`not an s3 URI: ${uri}`);
    const [, bucket, prefix] = match as unknown as [string, string, string];
    const written: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
      for (const object of page.Contents ?? []) {
        if (object.Key === undefined || object.Key.includes('/_parts/') || object.Key.includes('/_map-runs/')) continue;
        const { Body } = await this.s3.send(new GetObjectCommand({ Bucket: bucket, Key: object.Key }));
        const target = resolve(dir, object.Key.slice(prefix.length));
        mkdirSync(dirname(target), { recursive: true });
        writeFileSync(target, (await Body?.transformToByteArray()) ?? new Uint8Array());
        written.push(target);
      }
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    return written.sort();
  }

  private async call<T>(route: RouteSpec, parameters: Readonly<Record<string, string>>, body?: unknown): Promise<T> {
    const response = await fetch(`${this.endpoint.url.replace(/\/+$/, '')}${routePath(route, parameters)}`, {
      method: route.method,
      headers: { 'x-api-key': this.endpoint.apiKey, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const parsed = (await response.json().catch(() => undefined)) as { error?: { code?: string; message?: string } } | undefined;
    if (!response.ok) {
      throw new HttpApiError(response.status, parsed?.error?.code ?? 'HTTP_ERROR', parsed?.error?.message ?? `the local platform answered ${response.status}`);
    }
    return parsed as T;
  }
}

export class SfnBatchClient implements BatchClient {
  readonly local = false;
  readonly pollMs = 5000;

  constructor(
    private readonly sfn: SFNClient,
    private readonly stateMachineArn: string,
  ) {}

  async start(input: BatchJobInput): Promise<string> {
    const { executionArn } = await this.sfn.send(new StartExecutionCommand({ stateMachineArn: this.stateMachineArn, name: input.job_id, input: JSON.stringify(input) }));
    return executionArn ?? input.job_id;
  }

  async get(id: string): Promise<BatchJobSnapshot> {
    const executionArn = id.startsWith('arn:') ? id : `${this.stateMachineArn.replace(':stateMachine:', ':execution:')}:${id}`;
    const execution = await this.sfn.send(new DescribeExecutionCommand({ executionArn }));
    const status = execution.status === 'RUNNING' || execution.status === 'PENDING_REDRIVE' ? 'running' : execution.status === 'SUCCEEDED' ? 'succeeded' : 'failed';
    return {
      status,
      ...(execution.output === undefined ? {} : { output: JSON.parse(execution.output) as unknown }),
      ...(status === 'failed' ? { error: { name: execution.error ?? execution.status ?? 'Failed', message: execution.cause ?? '' } } : {}),
    };
  }
}
