import { chmodSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PLATFORM_FILE_NAME, type LocalPlatformFile } from '#contracts/local-platform.ts';
import { LOCAL_BATCH_BUCKET_NAME, LOCAL_BUCKET_NAME, LOCAL_CAPTURE_BUCKET_NAME, LOCAL_TABLE_NAME, type LocalPlatform } from './platform.ts';

/**
 * `<dataDir>/platform.json`: where `mlops --local` finds a running local platform (its endpoints, names and
 * pid). `npm start` writes it once the platform is up and removes it on a clean stop; tests that drive the CLI
 * against an in-process platform write it the same way.
 */

export { PLATFORM_FILE_NAME } from '#contracts/local-platform.ts';

export function writePlatformFile(dataDir: string, platform: LocalPlatform, pid: number = process.pid): void {
  const file: LocalPlatformFile = {
    api_url: platform.url,
    api_key: platform.apiKey,
    dynamodb_endpoint: platform.dynamoDbEndpoint,
    s3_endpoint: platform.s3Endpoint,
    table_name: LOCAL_TABLE_NAME,
    bucket_name: LOCAL_BUCKET_NAME,
    capture_bucket_name: LOCAL_CAPTURE_BUCKET_NAME,
    pid,
    sagemaker_runtime_endpoint: platform.sagemakerRuntime.endpoint,
    lambda_max_artifact_bytes: platform.lambdaMaxArtifactBytes,
    batch_bucket_name: LOCAL_BATCH_BUCKET_NAME,
  };
  // It holds the API key: readable by its owner only (mode applies on creation; chmod covers a file left by an older run).
  const path = join(dataDir, PLATFORM_FILE_NAME);
  writeFileSync(path, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
}

export function removePlatformFile(dataDir: string): void {
  rmSync(join(dataDir, PLATFORM_FILE_NAME), { force: true });
}
