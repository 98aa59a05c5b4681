import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { APIGatewayClient, GetApiKeyCommand } from '@aws-sdk/client-api-gateway';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, readLocalPlatformFile } from '../../cli/connection.ts';
import { runMlops, type CliResult } from '../support/mlops-cli.ts';

/** How the CLI finds the platform: a deployed stack's outputs, or the local platform's file. */

const cloudFormation = mockClient(CloudFormationClient);
const apiGateway = mockClient(APIGatewayClient);
const s3 = mockClient(S3Client);

afterEach(() => {
  cloudFormation.reset();
  apiGateway.reset();
  s3.reset();
});

const mlops = (...args: string[]): Promise<CliResult> => runMlops(args, { cwd: tmpdir() });

describe('AWS connection', () => {
  it("reads the stack's outputs and the API key value", async () => {
    cloudFormation.on(DescribeStacksCommand, { StackName: 'my-mlops' }).resolves({
      Stacks: [
        {
          StackName: 'my-mlops',
          CreationTime: new Date(0),
          StackStatus: 'CREATE_COMPLETE',
          Outputs: [
            { OutputKey: 'ApiUrl', OutputValue: 'https://abc.execute-api.eu-west-1.amazonaws.com/prod/' },
            { OutputKey: 'ApiKeyId', OutputValue: 'key-id' },
            { OutputKey: 'ArtifactBucketName', OutputValue: 'bucket' },
            { OutputKey: 'RegistryTableName', OutputValue: 'table' },
          ],
        },
      ],
    });
    apiGateway.on(GetApiKeyCommand, { apiKey: 'key-id', includeValue: true }).resolves({ id: 'key-id', value: 'secret' });
    const connection = await connect({ local: false, localDir: '.mlops-local', stack: 'my-mlops', region: 'eu-west-1', cwd: tmpdir() });
    try {
      expect(connection.target).toBe('stack my-mlops');
      expect(await connection.api()).toEqual({ url: 'https://abc.execute-api.eu-west-1.amazonaws.com/prod/', apiKey: 'secret' });
    } finally {
      connection.close();
    }
  });

  it("reads the Lambda artifact limit from the stack's LambdaMaxArtifactBytes output, and none from an older stack", async () => {
    const outputs = [
      { OutputKey: 'ArtifactBucketName', OutputValue: 'bucket' },
      { OutputKey: 'RegistryTableName', OutputValue: 'table' },
    ];
    cloudFormation.on(DescribeStacksCommand, { StackName: 'gpu' }).resolves({
      Stacks: [{ StackName: 'gpu', CreationTime: new Date(0), StackStatus: 'CREATE_COMPLETE', Outputs: [...outputs, { OutputKey: 'LambdaMaxArtifactBytes', OutputValue: '1048576' }] }],
    });
    cloudFormation.on(DescribeStacksCommand, { StackName: 'older' }).resolves({
      Stacks: [{ StackName: 'older', CreationTime: new Date(0), StackStatus: 'CREATE_COMPLETE', Outputs: outputs }],
    });
    const withLimit = await connect({ local: false, localDir: '.mlops-local', stack: 'gpu', region: 'eu-west-1', cwd: tmpdir() });
    const without = await connect({ local: false, localDir: '.mlops-local', stack: 'older', region: 'eu-west-1', cwd: tmpdir() });
    try {
      expect([withLimit.local, withLimit.lambdaMaxArtifactBytes]).toEqual([false, 1_048_576]);
      expect(without.lambdaMaxArtifactBytes).toBeUndefined();
    } finally {
      withLimit.close();
      without.close();
    }
  });

  it("reads the serving stack's outputs, then those of the data stack it names: the bucket and table of the registry", async () => {
    cloudFormation.on(DescribeStacksCommand, { StackName: 'my-mlops' }).resolves({
      Stacks: [
        {
          StackName: 'my-mlops',
          CreationTime: new Date(0),
          StackStatus: 'CREATE_COMPLETE',
          Outputs: [
            { OutputKey: 'ApiUrl', OutputValue: 'https://abc.execute-api.eu-west-1.amazonaws.com/prod/' },
            { OutputKey: 'DataStackName', OutputValue: 'my-mlops-data' },
            { OutputKey: 'LambdaMaxArtifactBytes', OutputValue: '1048576' },
          ],
        },
      ],
    });
    cloudFormation.on(DescribeStacksCommand, { StackName: 'my-mlops-data' }).resolves({
      Stacks: [
        {
          StackName: 'my-mlops-data',
          CreationTime: new Date(0),
          StackStatus: 'CREATE_COMPLETE',
          Outputs: [
            { OutputKey: 'ArtifactBucketName', OutputValue: 'data-artifacts' },
            { OutputKey: 'ArtifactBucketArn', OutputValue: 'arn:aws:s3:::data-artifacts' },
            { OutputKey: 'RegistryTableName', OutputValue: 'data-registry' },
          ],
        },
      ],
    });
    s3.on(GetObjectCommand).rejects(Object.assign(new Error('no such key'), { name: 'NoSuchKey' }));
    const connection = await connect({ local: false, localDir: '.mlops-local', stack: 'my-mlops', region: 'eu-west-1', cwd: tmpdir() });
    try {
      await connection.artifacts.getArtifact('models/credit/abc.onnx').catch(() => undefined);
      expect(s3.commandCalls(GetObjectCommand).map((call) => call.args[0].input.Bucket)).toEqual(['data-artifacts']);
      expect(cloudFormation.commandCalls(DescribeStacksCommand).map((call) => call.args[0].input.StackName)).toEqual(['my-mlops', 'my-mlops-data']);
      expect(connection.lambdaMaxArtifactBytes).toBe(1_048_576);
    } finally {
      connection.close();
    }
  });

  it('points from a data stack given as --stack to its serving stack', async () => {
    const data = [
      { OutputKey: 'ArtifactBucketName', OutputValue: 'artifacts' },
      { OutputKey: 'RegistryTableName', OutputValue: 'registry' },
      { OutputKey: 'BatchBucketArn', OutputValue: 'arn:aws:s3:::batch' },
    ];
    cloudFormation.on(DescribeStacksCommand, { StackName: 'my-mlops-data' }).resolves({
      Stacks: [{ StackName: 'my-mlops-data', CreationTime: new Date(0), StackStatus: 'CREATE_COMPLETE', Outputs: data }],
    });
    const connection = await connect({ local: false, localDir: '.mlops-local', stack: 'my-mlops-data', region: 'eu-west-1', cwd: tmpdir() });
    try {
      await expect(connection.api()).rejects.toThrow('stack "my-mlops-data" has no output ApiUrl (it is a data stack: pass the serving stack, --stack my-mlops)');
    } finally {
      connection.close();
    }
  });

  it('says when the stack does not exist', async () => {
    cloudFormation
      .on(DescribeStacksCommand)
      .rejects(Object.assign(new Error('Stack with id nope does not exist'), { name: 'ValidationError' }));
    const result = await mlops('--stack', 'nope', '--region', 'eu-west-1', 'list');
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      'mlops: stack "nope" does not exist in eu-west-1: deploy it (npx cdk deploy --all), pass --stack/--region, or use --local for the local platform\n',
    );
  });

  it('says when there are no AWS credentials', async () => {
    cloudFormation
      .on(DescribeStacksCommand)
      .rejects(Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }));
    const result = await mlops('--region', 'eu-west-1', 'list');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^mlops: no valid AWS credentials \(Could not load credentials from any providers\): configure them .*--local[^\n]*\n$/);
  });
});

describe('local connection', () => {
  it('refuses a platform.json left by a process that has exited', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mlops-cli-stale-'));
    try {
      const exited = spawnSync(process.execPath, ['-e', '']);
      const file = {
        api_url: 'http://127.0.0.1:1',
        api_key: 'k',
        dynamodb_endpoint: 'http://127.0.0.1:2',
        s3_endpoint: 'http://127.0.0.1:3',
        table_name: 't',
        bucket_name: 'b',
        pid: exited.pid,
      };
      writeFileSync(join(dir, 'platform.json'), JSON.stringify(file));
      expect(() => readLocalPlatformFile(dir, tmpdir())).toThrow(/the local platform is not running: start it with npm start \(.* which has exited\)/);
      writeFileSync(join(dir, 'platform.json'), JSON.stringify({ ...file, pid: process.pid }));
      expect(readLocalPlatformFile(dir, tmpdir()).api_url).toBe('http://127.0.0.1:1');
      writeFileSync(join(dir, 'platform.json'), JSON.stringify({ ...file, api_key: undefined }));
      expect(() => readLocalPlatformFile(dir, tmpdir())).toThrow(/has no "api_key"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
