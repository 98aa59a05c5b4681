import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { API_ROUTES, LOCAL_ROUTES, routePath } from '#contracts/routes.ts';
import { defaultKeyEnabled } from '#contracts/api.ts';
import { DEFAULT_CONFIG, type MlopsConfig, parseMlopsConfig } from '#contracts/config.ts';
import { LOCAL_CAPTURE_BUCKET_NAME, startLocalPlatform } from './platform.ts';
import { removePlatformFile, writePlatformFile } from './platform-file.ts';
import { acquireStartLock, assertPortFree, portError, StartError } from './start-lock.ts';

/**
 * `npm start`: runs the whole platform on this machine with no AWS account.
 * Honours PORT (default 3000) and MLOPS_API_KEY (otherwise a key is generated once and kept
 * in .mlops-local/api-key); data lives in .mlops-local/ and survives restarts. MLOPS_CONFIG_FILE names a deployment
 * config file (the `-c configFile=` format) whose `api.consumers` get keys of their own (.mlops-local/api-keys.json);
 * the gateway applies its usage plans and stage throttle (the defaults without a file) as API Gateway does.
 */

const dataDir = resolve(process.env.MLOPS_LOCAL_DIR ?? '.mlops-local');
const port = Number(process.env.PORT ?? 3000);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`npm start: PORT must be an integer between 0 and 65535, got "${process.env.PORT}"`);
  process.exit(1);
}

/** Every failure is one line and exit status 1; `MLOPS_DEBUG` adds the stack. */
function fail(error: unknown, context: string): never {
  const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
  if (error instanceof StartError) console.error(`npm start: ${message}`);
  else console.error(`npm start: ${context}: ${message} (MLOPS_DEBUG=1 npm start prints the stack)`);
  if (process.env.MLOPS_DEBUG !== undefined) console.error(error);
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

/**
 * The `api` block of MLOPS_CONFIG_FILE (the defaults without it), validated as `cdk synth` validates it: its consumers,
 * and the usage plans and stage throttle the local gateway applies as API Gateway does.
 */
function deploymentConfig(): MlopsConfig {
  const file = process.env.MLOPS_CONFIG_FILE;
  if (file === undefined || file === '') return DEFAULT_CONFIG;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(resolve(file), 'utf8'));
  } catch (error) {
    throw new StartError(`MLOPS_CONFIG_FILE ${file} could not be read as JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  const { $schema: _schema, ...config } = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  try {
    return parseMlopsConfig(config);
  } catch (error) {
    throw new StartError(`MLOPS_CONFIG_FILE ${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** Seconds between two local drift checks (the hourly schedule, sped up so a drift shows within a minute). */
const driftIntervalSeconds = Number(process.env.MLOPS_DRIFT_INTERVAL_SECONDS ?? 60);
if (!Number.isInteger(driftIntervalSeconds) || driftIntervalSeconds < 0) {
  console.error(`npm start: MLOPS_DRIFT_INTERVAL_SECONDS must be a non-negative integer (0: no schedule), got "${process.env.MLOPS_DRIFT_INTERVAL_SECONDS}"`);
  process.exit(1);
}

async function main(): Promise<void> {
  const { api, explain } = deploymentConfig();
  mkdirSync(dataDir, { recursive: true });
  // Before anything touches the directory: a second npm start on it is refused, naming the first.
  const lock = acquireStartLock(dataDir, port);
  try {
    await assertPortFree(port);
  } catch (error) {
    lock.release();
    throw error;
  }
  const key = apiKey();
  console.log(`serverless-mlops local platform: starting (data in ${dataDir})`);
  const platform = await startLocalPlatform({
    dataDir,
    apiKey: key,
    consumers: api.consumers,
    ...(api.defaultKey === undefined ? {} : { defaultKey: api.defaultKey }),
    limits: { throttle: api.throttle, quota: api.quota, stageThrottle: api.stageThrottle, explainThrottle: explain.throttle, consumers: api.consumers },
    port,
    onRequest: ({ method, path, status, ms }) => {
      // The dashboard polls its data every 2 s: not worth a log line each time.
      if (path !== '/dashboard/data.json') console.log(`${method} ${path} ${status} ${ms.toFixed(1)} ms`);
    },
    canaryWatch: { onNotification: ({ subject, message }) => console.log(`\ncanary watch: ${subject}\n${message}\n`) },
    drift: {
      intervalSeconds: driftIntervalSeconds,
      window: process.env.MLOPS_DRIFT_WINDOW ?? '1h',
      onResult: (result) => {
        if (result instanceof Error) {
          console.log(`drift check failed: ${result.message}`);
          return;
        }
        for (const doc of result.results) {
          const drifted = doc.drifted_features.length > 0 ? ` drifted: ${doc.drifted_features.join(', ')}` : '';
          console.log(`drift ${doc.model} v${doc.model_version}: ${doc.verdict} (${doc.rows} rows, score ${doc.drift_score.toFixed(3)})${drifted}`);
          console.log(`  report ${platform.s3Endpoint}/${LOCAL_CAPTURE_BUCKET_NAME}/${doc.report_keys.html}`);
          if (doc.retrain?.requested === true) console.log(`  retraining started: run ${doc.retrain.run_id ?? ''} (npx mlops --local runs get ${doc.retrain.run_id ?? ''})`);
        }
      },
      onEvent: (event) => console.log(`event ${event['detail-type']} ${JSON.stringify(event.detail).slice(0, 160)}`),
    },
  }).catch((error: unknown) => {
    lock.release();
    // Taken between the check above and the gateway's listen.
    throw (error as NodeJS.ErrnoException).code === 'EADDRINUSE' ? portError(port, 'EADDRINUSE') : error;
  });
  lock.setPort(Number(new URL(platform.url).port));
  // Where the CLI's --local finds this platform (removed again on a clean stop).
  writePlatformFile(dataDir, platform);
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
  API key  ${platform.apiKey}${defaultKeyEnabled(api) ? '' : '   (the /local routes only: api.defaultKey is off with api.consumers; call /v1 with a consumer key)'}
  OpenAPI  ${platform.url}${API_ROUTES.openapi.resource}
  Dashboard ${platform.url}/dashboard   (live charts; canaries are watched every 15 s)
  DynamoDB ${platform.dynamoDbEndpoint}   S3 ${platform.s3Endpoint}
  SageMaker runtime ${platform.sagemakerRuntime.endpoint} (models registered with --target sagemaker; docs/gpu.md)

${platform.apiKeys
  .list()
  .map((k) => `  Consumer ${k.consumer}  key ${k.value}`)
  .join('\n')}${platform.apiKeys.list().length > 0 ? `\n  Rotate a key: npx mlops --local keys rotate --consumer NAME --overlap-seconds 300 (POST ${LOCAL_ROUTES.rotateApiKey.resource}; docs/operations/api-key-rotation.md)\n` : ''}
  Try it:
  curl -s -X POST ${platform.url}${routePath(API_ROUTES.predict, { model: 'credit' })} \\
    -H 'x-api-key: ${defaultKeyEnabled(api) ? platform.apiKey : (platform.apiKeys.list()[0]?.value ?? platform.apiKey)}' -H 'content-type: application/json' \\
    -d '${example}'

  ${driftIntervalSeconds === 0 ? 'No scheduled drift checks (MLOPS_DRIFT_INTERVAL_SECONDS=0): npx mlops --local drift run --model credit' : `Drift checks every ${driftIntervalSeconds} s (MLOPS_DRIFT_INTERVAL_SECONDS) over the last ${process.env.MLOPS_DRIFT_WINDOW ?? '1h'}`}; reports:
  ${platform.s3Endpoint}/${LOCAL_CAPTURE_BUCKET_NAME}/drift-reports/credit/latest.html

  Ctrl-C stops.`);

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping`);
    removePlatformFile(dataDir);
    platform.stop().then(
      () => {
        lock.release();
        process.exit(0);
      },
      (error: unknown) => {
        lock.release();
        fail(error, 'stop failed');
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

process.on('uncaughtException', (error) => fail(error, 'stopped by an unexpected error'));
process.on('unhandledRejection', (error) => fail(error, 'stopped by an unexpected error'));
main().catch((error: unknown) => fail(error, 'the local platform could not start'));
