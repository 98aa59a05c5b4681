import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { LOCAL_BUCKET_NAME, LOCAL_TABLE_NAME, startLocalPlatform } from './platform.ts';

/**
 * `npm start`: runs the whole platform on this machine with no AWS account.
 * Honours PORT (default 3000) and MLOPS_API_KEY (otherwise a key is generated once and kept
 * in .mlops-local/api-key); data lives in .mlops-local/ and survives restarts.
 */

const dataDir = resolve(process.env.MLOPS_LOCAL_DIR ?? '.mlops-local');
const port = Number(process.env.PORT ?? 3000);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`PORT must be an integer between 0 and 65535, got "${process.env.PORT}"`);
  process.exit(1);
}

function apiKey(): string {
  const fromEnv = process.env.MLOPS_API_KEY;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  const file = join(dataDir, 'api-key');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const generated = randomBytes(24).toString('base64url');
  writeFileSync(file, `${generated}\n`, { mode: 0o600 });
  return generated;
}

async function main(): Promise<void> {
  mkdirSync(dataDir, { recursive: true });
  const key = apiKey();
  console.log(`serverless-mlops local platform: starting (data in ${dataDir})`);
  const platform = await startLocalPlatform({
    dataDir,
    apiKey: key,
    port,
    onRequest: ({ method, path, status, ms }) => console.log(`${method} ${path} ${status} ${ms.toFixed(1)} ms`),
  });
  // Where the CLI's --local finds this platform (removed again on a clean stop).
  writeFileSync(
    join(dataDir, 'platform.json'),
    `${JSON.stringify(
      {
        api_url: platform.url,
        api_key: platform.apiKey,
        dynamodb_endpoint: platform.dynamoDbEndpoint,
        s3_endpoint: platform.s3Endpoint,
        table_name: LOCAL_TABLE_NAME,
        bucket_name: LOCAL_BUCKET_NAME,
        pid: process.pid,
        sagemaker_runtime_endpoint: platform.sagemakerRuntime.endpoint,
        lambda_max_artifact_bytes: platform.lambdaMaxArtifactBytes,
      },
      null,
      2,
    )}\n`,
  );
  if (platform.seeded) console.log('registry was empty: trained and registered the reference model "credit" (version 1)');
  const example = JSON.stringify({
    instances: [
      {
        Seniority: 9, Home: 'rent', Time: 60, Age: 30, Marital: 'married', Records: 'no', Job: 'freelance',
        Expenses: 73, Income: 129, Assets: 0, Debt: 0, Amount: 800, Price: 846,
      },
    ],
  });
  console.log(`
  API      ${platform.url}/v1
  API key  ${platform.apiKey}
  OpenAPI  ${platform.url}/v1/openapi.json
  DynamoDB ${platform.dynamoDbEndpoint}   S3 ${platform.s3Endpoint}
  SageMaker runtime ${platform.sagemakerRuntime.endpoint} (models registered with --target sagemaker; docs/gpu.md)

  Try it:
  curl -s -X POST ${platform.url}/v1/models/credit/predict \\
    -H 'x-api-key: ${platform.apiKey}' -H 'content-type: application/json' \\
    -d '${example}'

  Ctrl-C stops.`);

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping`);
    rmSync(join(dataDir, 'platform.json'), { force: true });
    platform.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error('stop failed', error);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((error: unknown) => {
  console.error('the local platform could not start:', error instanceof Error ? error.message : error);
  if (process.env.MLOPS_DEBUG !== undefined) console.error(error);
  process.exit(1);
});
