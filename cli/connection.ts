import { existsSync, readFileSync } from 'node:fs';
import { onnxArtifactVerifier } from '#adapters/onnx-artifact-inspector.ts';
import { resolve } from 'node:path';
import { APIGatewayClient, GetApiKeyCommand } from '@aws-sdk/client-api-gateway';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDbApprovals } from '#adapters/dynamodb-approvals.ts';
import { DynamoDbRegistry } from '#adapters/dynamodb-registry.ts';
import { S3ArtifactStore } from '#adapters/s3-artifacts.ts';
import { RegistryService } from '#core/registry/registry-service.ts';
import { AwsDriftClient, type DriftClient, LocalDriftClient } from './drift-client.ts';
import { parseDriftJobSettings } from '#core/drift/job-settings.ts';
import { CliError } from './errors.ts';
import type { ApiEndpoint } from './endpoint.ts';
import { PLATFORM_FILE_NAME, type LocalPlatformFile } from '#contracts/local-platform.ts';
import { LocalPipelineClient, SfnPipelineClient, type PipelineClient } from './pipeline-client.ts';
import { LocalBatchClient, SfnBatchClient, type BatchClient } from './batch-client.ts';
import { asError } from '#core/errors.ts';

/**
 * Where the CLI's commands go: the registry (DynamoDB), the artifact bucket (S3), the
 * inference API and the training pipeline (Step Functions), either of a deployed stack (found
 * through its CloudFormation outputs, with the caller's AWS credentials) or of the local
 * platform (`npm start`, found through the `platform.json` it writes).
 */

export const DEFAULT_STACK_NAME = 'serverless-mlops';
export const DEFAULT_LOCAL_DIR = '.mlops-local';
/** s3rver only accepts its own well-known key pair; dynalite accepts any. */
const LOCAL_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;
const LOCAL_REGION = 'us-east-1';

export interface ConnectionOptions {
  readonly local: boolean;
  /** Directory of the local platform's `platform.json` (relative to `cwd`). */
  readonly localDir: string;
  readonly stack: string;
  readonly region?: string;
  readonly cwd: string;
}

export type { ApiEndpoint } from './endpoint.ts';

export interface Connection {
  /** Said in messages: "the local platform at …" or "stack serverless-mlops". */
  readonly target: string;
  readonly registry: RegistryService;
  readonly artifacts: S3ArtifactStore;
  /** Whether this is the local platform (`--local`). */
  readonly local: boolean;
  /** The local platform's data directory (where `platform.json` is); undefined for a stack. */
  readonly localDataDir?: string;
  /**
   * The largest artifact the deployment's predict Lambda serves (the stack's `LambdaMaxArtifactBytes` output, the
   * local platform's `lambda_max_artifact_bytes`); undefined when the target does not say.
   */
  readonly lambdaMaxArtifactBytes?: number;
  api(): Promise<ApiEndpoint>;
  /** The training pipeline: the state machine in AWS, the local platform's runner locally. */
  pipeline(): Promise<PipelineClient>;
  /** Batch scoring: the batch state machine in AWS, the local platform's runner locally. */
  batch(): Promise<BatchClient>;
  /** The drift job on demand: the local platform's, or the job code run here against the stack. */
  drift(): Promise<DriftClient>;
  close(): void;
}

export type { LocalPlatformFile } from '#contracts/local-platform.ts';

const NOT_RUNNING = 'the local platform is not running: start it with npm start';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Reads and checks `platform.json`; a missing file or a dead pid means the platform is not running. */
export function readLocalPlatformFile(localDir: string, cwd: string): LocalPlatformFile {
  const file = resolve(cwd, localDir, PLATFORM_FILE_NAME);
  if (!existsSync(file)) throw new CliError(`${NOT_RUNNING} (no ${file})`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new CliError(`${file} is not valid JSON (${asError(error).message}): restart the local platform with npm start`);
  }
  const record = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  const fields = ['api_url', 'api_key', 'dynamodb_endpoint', 's3_endpoint', 'table_name', 'bucket_name'] as const;
  for (const field of fields) {
    if (typeof record[field] !== 'string' || record[field] === '') {
      throw new CliError(`${file} has no "${field}": restart the local platform with npm start`);
    }
  }
  const pid = record.pid;
  if (typeof pid === 'number' && Number.isInteger(pid) && pid > 0 && !isAlive(pid)) {
    throw new CliError(`${NOT_RUNNING} (${file} is left from process ${pid}, which has exited)`);
  }
  return record as unknown as LocalPlatformFile;
}

function build(dynamoConfig: DynamoDBClientConfig, s3Config: S3ClientConfig, table: string, bucket: string) {
  const dynamo = new DynamoDBClient(dynamoConfig);
  const s3 = new S3Client(s3Config);
  const documents = DynamoDBDocumentClient.from(dynamo, { marshallOptions: { removeUndefinedValues: true } });
  const artifacts = new S3ArtifactStore(s3, bucket);
  return {
    // A promotion reads the artifact back and loads it before it flips production.
    registry: new RegistryService({
      store: new DynamoDbRegistry(documents, table),
      verifyArtifact: onnxArtifactVerifier((key) => artifacts.getArtifact(key)),
    }),
    artifacts,
    approvals: new DynamoDbApprovals(documents, table),
    s3,
    close: (): void => {
      dynamo.destroy();
      s3.destroy();
    },
  };
}

function connectLocal(options: ConnectionOptions): Connection {
  const platform = readLocalPlatformFile(options.localDir, options.cwd);
  const common = { region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };
  const clients = build(
    { ...common, endpoint: platform.dynamodb_endpoint },
    { ...common, endpoint: platform.s3_endpoint, forcePathStyle: true },
    platform.table_name,
    platform.bucket_name,
  );
  const endpoint = { url: platform.api_url, apiKey: platform.api_key };
  const limit = platform.lambda_max_artifact_bytes;
  return {
    target: `the local platform at ${platform.api_url}`,
    localDataDir: resolve(options.cwd, options.localDir),
    registry: clients.registry,
    artifacts: clients.artifacts,
    local: true,
    ...(typeof limit === 'number' && Number.isSafeInteger(limit) && limit > 0 ? { lambdaMaxArtifactBytes: limit } : {}),
    close: clients.close,
    api: () => Promise.resolve(endpoint),
    pipeline: () => Promise.resolve(new LocalPipelineClient(endpoint)),
    batch: () => Promise.resolve(new LocalBatchClient(endpoint, clients.s3, platform.batch_bucket_name ?? 'mlops-batch')),
    drift: () => Promise.resolve(new LocalDriftClient(endpoint, platform.s3_endpoint, platform.capture_bucket_name ?? 'mlops-captures')),
  };
}

/** The stack's outputs, by key. */
async function stackOutputs(stack: string, region: string | undefined): Promise<Map<string, string>> {
  const client = new CloudFormationClient(region === undefined ? {} : { region });
  try {
    const { Stacks } = await client.send(new DescribeStacksCommand({ StackName: stack }));
    const outputs = new Map<string, string>();
    for (const output of Stacks?.[0]?.Outputs ?? []) {
      if (output.OutputKey !== undefined && output.OutputValue !== undefined) outputs.set(output.OutputKey, output.OutputValue);
    }
    return outputs;
  } catch (error) {
    if (error instanceof Error && error.name === 'ValidationError' && /does not exist/.test(error.message)) {
      const where = region === undefined ? '' : ` in ${region}`;
      throw new CliError(
        `stack "${stack}" does not exist${where}: deploy it (npx cdk deploy --all), pass --stack/--region, or use --local for the local platform`,
      );
    }
    throw error;
  } finally {
    client.destroy();
  }
}

function requireOutput(outputs: Map<string, string>, key: string, stack: string): string {
  const value = outputs.get(key);
  if (value === undefined) {
    // The data stack ({appName}-data) has the bucket and table outputs but none of the serving side's.
    const hint = outputs.has('BatchBucketArn') && !outputs.has('ApiUrl') ? ` (it is a data stack: pass the serving stack, --stack ${stack.replace(/-data$/, '')})` : ': is it a serverless-mlops stack, fully deployed?';
    throw new CliError(`stack "${stack}" has no output ${key}${hint}`);
  }
  return value;
}

async function connectAws(options: ConnectionOptions): Promise<Connection> {
  const outputs = await stackOutputs(options.stack, options.region);
  // The serving stack names its data stack (buckets, registry table), whose outputs complete its own. A stack deployed
  // before the split has no DataStackName and every output itself.
  const dataStack = outputs.get('DataStackName');
  if (dataStack !== undefined && dataStack !== options.stack) {
    for (const [key, value] of await stackOutputs(dataStack, options.region)) if (!outputs.has(key)) outputs.set(key, value);
  }
  const table = requireOutput(outputs, 'RegistryTableName', options.stack);
  const bucket = requireOutput(outputs, 'ArtifactBucketName', options.stack);
  const region = options.region === undefined ? {} : { region: options.region };
  const clients = build(region, region, table, bucket);
  let endpoint: Promise<ApiEndpoint> | undefined;
  let sfn: SFNClient | undefined;
  const limit = Number(outputs.get('LambdaMaxArtifactBytes'));
  return {
    target: `stack ${options.stack}`,
    registry: clients.registry,
    artifacts: clients.artifacts,
    local: false,
    ...(Number.isSafeInteger(limit) && limit > 0 ? { lambdaMaxArtifactBytes: limit } : {}),
    close: () => {
      clients.close();
      sfn?.destroy();
    },
    pipeline: async () => {
      const stateMachineArn = requireOutput(outputs, 'StateMachineArn', options.stack);
      sfn ??= new SFNClient(region);
      return new SfnPipelineClient(sfn, stateMachineArn, clients.approvals);
    },
    batch: async () => {
      const stateMachineArn = requireOutput(outputs, 'BatchStateMachineArn', options.stack);
      sfn ??= new SFNClient(region);
      return new SfnBatchClient(sfn, stateMachineArn);
    },
    drift: async () => {
      const captureBucket = requireOutput(outputs, 'CaptureBucketName', options.stack);
      const settings = parseDriftJobSettings(requireOutput(outputs, 'DriftJobConfig', options.stack), 'stack output DriftJobConfig');
      return new AwsDriftClient({ region, table, bucket: captureBucket, settings });
    },
    api: () => {
      endpoint ??= (async () => {
        const url = requireOutput(outputs, 'ApiUrl', options.stack);
        if (!outputs.has('ApiKeyId') && outputs.has('ApiUrl')) {
          throw new CliError(
            `stack "${options.stack}" has no default API key (api.defaultKey is off, as it is by default with api.consumers): the CLI calls the API with that key; set api.defaultKey: true and deploy to use these commands`,
          );
        }
        const keyId = requireOutput(outputs, 'ApiKeyId', options.stack);
        const client = new APIGatewayClient(region);
        try {
          const { value } = await client.send(new GetApiKeyCommand({ apiKey: keyId, includeValue: true }));
          if (value === undefined) throw new CliError(`API key ${keyId} of stack "${options.stack}" has no value`);
          return { url, apiKey: value };
        } finally {
          client.destroy();
        }
      })();
      return endpoint;
    },
  };
}

export async function connect(options: ConnectionOptions): Promise<Connection> {
  return options.local ? connectLocal(options) : connectAws(options);
}
