import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { MODEL_SORT_KEY, modelPartitionKey, versionSortKey } from '#adapters/dynamodb-registry.ts';
import { runMlops } from '../support/mlops-cli.ts';
import { LOCAL_BUCKET_NAME, LOCAL_TABLE_NAME, startLocalPlatform, type LocalPlatform } from '../../local/platform.ts';
import { writePlatformFile } from '../../local/platform-file.ts';

/** `mlops doctor` against the local platform: healthy as seeded, then each invariant broken by hand and named. */

let dataDir: string;
let workDir: string;
let platform: LocalPlatform;
const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

const doctor = (...extra: string[]) => runMlops(['--local', '--local-dir', dataDir, 'doctor', ...extra], { cwd: workDir });

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'mlops-doctor-'));
  workDir = mkdtempSync(join(tmpdir(), 'mlops-doctor-work-'));
  platform = await startLocalPlatform({ dataDir, apiKey: 'doctor-key-0123456789', port: 0 });
  writePlatformFile(dataDir, platform);
});

afterAll(async () => {
  await platform?.stop();
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(workDir, { recursive: true, force: true });
});

describe('mlops doctor', () => {
  it('reports the seeded registry healthy, then names each invariant broken by hand', async () => {
    const healthy = await doctor();
    expect([healthy.code, healthy.stdout]).toEqual([0, expect.stringContaining('healthy')]);

    // Break them: a second version at stage production, an audit entry removed (the revision stays), the artifact
    // rewritten in S3.
    const documents = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: platform.dynamoDbEndpoint, region: 'us-east-1', credentials }));
    const s3 = new S3Client({ endpoint: platform.s3Endpoint, region: 'us-east-1', credentials, forcePathStyle: true });
    try {
      const version = await platform.registryService.getVersion('credit', 1);
      const { metadata, ...rest } = version;
      await documents.send(
        new PutCommand({
          TableName: LOCAL_TABLE_NAME,
          Item: { pk: modelPartitionKey('credit'), sk: versionSortKey(2), ...rest, version: 2, stage: 'production', metadata_json: JSON.stringify(metadata) },
        }),
      );
      await documents.send(new UpdateCommand({ TableName: LOCAL_TABLE_NAME, Key: { pk: modelPartitionKey('credit'), sk: MODEL_SORT_KEY }, UpdateExpression: 'SET revision = revision + :one', ExpressionAttributeValues: { ':one': 1 } }));
      await s3.send(new PutObjectCommand({ Bucket: LOCAL_BUCKET_NAME, Key: version.artifact.key, Body: 'not the model' }));

      const broken = await doctor('--json');
      expect(broken.code).toBe(1);
      const report = JSON.parse(broken.stdout) as { healthy: boolean; findings: { invariant: string; model?: string }[] };
      expect(report.healthy).toBe(false);
      const named = new Set(report.findings.map((f) => f.invariant));
      expect([...named].sort()).toEqual(['artifact-intact', 'one-audit-per-revision', 'one-production-version', 'stages-match-pointers']);
      expect(broken.stderr).toMatch(/broken invariants/);
    } finally {
      documents.destroy();
      s3.destroy();
    }
  });
});
