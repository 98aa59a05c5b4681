/**
 * The deployment configuration as one schema: every block, its defaults and ranges. The CDK validates cdk.json's
 * `mlops` block (and a `-c configFile=` file) with it at synth; `npm run generate:config` writes the JSON Schema
 * editors check those files with, and the field table of docs/configuration.md, from it.
 */
import { apiConfig } from './api.ts';
import { batchConfig } from './batch.ts';
import { driftConfig } from './drift.ts';
import { explainConfig } from './explain.ts';
import { sageMakerServingConfig, worstCaseInvokeMs } from './gpu.ts';
import { notificationsConfig, observabilityConfig } from './observability.ts';
import { pipelineConfig } from './pipeline.ts';
import { predictConfig } from './predict.ts';
import { artifactsConfig, registryConfig } from './registry.ts';
import * as z from 'zod';
import { addIssue, oneOf, parseWith, stringMatching, strictObject } from './schema.ts';

/** Retention values accepted by CloudWatch Logs (days). */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

/** CPU architectures of the Lambda functions (and of the ONNX Runtime binary in the layer). */
export const ARCHITECTURES = ['x86_64', 'arm64'] as const;
export type LambdaArchitecture = (typeof ARCHITECTURES)[number];
/** What happens to stateful resources (bucket, table, log groups) when the stack is deleted. */
export const REMOVAL_POLICIES = ['retain', 'destroy'] as const;
export type RemovalPolicyName = (typeof REMOVAL_POLICIES)[number];

/** The whole deployment config. */
export const mlopsConfig = strictObject({
  appName: stringMatching(/^[a-z][a-z0-9-]{0,38}[a-z0-9]$/, 'lowercase letters, digits and dashes, starting with a letter (2 to 40 characters)')
    .default('serverless-mlops')
    .meta({ description: 'The serving stack\'s name and id (the data stack is `{appName}-data`), the `app` tag, the REST API name (`{appName}-inference`), the usage plan name (`{appName}-default`). Changing it creates new stacks.' }),
  architecture: oneOf(ARCHITECTURES)
    .default('x86_64')
    .meta({ description: 'The Lambda architecture and which onnxruntime binary goes into the layer.' }),
  logRetentionDays: z
    .literal(LOG_RETENTION_DAYS, { error: `must be one of ${LOG_RETENTION_DAYS.join(', ')}` })
    .default(30)
    .meta({ description: 'Retention of every log group the serving stack creates: the functions\', the API\'s access and execution logs (`API-Gateway-Execution-Logs_{restApiId}/{stage}`), the state machines\', the Firehose delivery\'s and each SageMaker endpoint\'s (`/aws/sagemaker/Endpoints/{endpoint}`). SageMaker\'s account-wide `/aws/sagemaker/TrainingJobs` and `/aws/sagemaker/TransformJobs` are not the stack\'s: set theirs once (docs/operations/README.md#log-retention).' }),
  removalPolicy: oneOf(REMOVAL_POLICIES)
    .default('retain')
    .meta({
      description:
        '`retain`: buckets and table (data stack) and log groups are kept when their stack is deleted, and DynamoDB deletion protection is on. `destroy`: they are emptied and deleted with their stack (dev stacks). The data stack has termination protection either way. The state machines\' log groups (fixed names under `/aws/vendedlogs/states/`) are deleted with the serving stack either way, so that it can be created again.',
    }),
  api: apiConfig.prefault({}).meta({ description: 'The inference API: usage plan, request limits, CORS, stage.' }),
  predict: predictConfig.prefault({}).meta({ description: 'The predict function.' }),
  explain: explainConfig.prefault({}).meta({ description: 'The `/explain` route: SHAP values of a batch of instances.' }),
  registry: registryConfig.prefault({}).meta({ description: 'The model registry.' }),
  artifacts: artifactsConfig.prefault({}).meta({ description: 'The artifact bucket.' }),
  pipeline: pipelineConfig.prefault({}).meta({ description: 'The training pipeline (also passed to the pipeline Lambda as the `PIPELINE_CONFIG` JSON).' }),
  notifications: notificationsConfig.prefault({}).meta({ description: "Where the training pipeline's notifications and the alarms go." }),
  observability: observabilityConfig.prefault({}).meta({ description: "The dashboard, the alarms and the predict function's CodeDeploy rollout." }),
  drift: driftConfig.prefault({}).meta({ description: 'Prediction capture and drift monitoring.' }),
  sagemakerServing: sageMakerServingConfig
    .prefault({})
    .meta({ description: 'The GPU path: SageMaker real-time endpoints for models too big for the Lambda or needing a GPU (docs/gpu.md).' }),
  batch: batchConfig.prefault({}).meta({ description: 'Batch scoring of S3 objects with a Distributed Map (docs/batch.md).' }),
}).superRefine((config, ctx) => {
  // The predict timeout bounds the endpoint calls' worst case.
  const worstCaseMs = worstCaseInvokeMs(config.sagemakerServing);
  const timeoutSeconds = config.predict.timeoutSeconds;
  if (worstCaseMs >= timeoutSeconds * 1000) {
    addIssue(
      ctx,
      ['sagemakerServing', 'invokeTimeoutMs'],
      `times (maxThrottleRetries + 1), plus the backoffs, must stay under predict.timeoutSeconds (${timeoutSeconds} s): the worst case is ${worstCaseMs} ms`,
      config.sagemakerServing.invokeTimeoutMs,
    );
  }
});

export type MlopsConfig = z.output<typeof mlopsConfig>;

/**
 * Validates `raw` (a partial config, or undefined for all defaults) and fills the defaults.
 * @throws ConfigError naming the first field that is unknown, of the wrong type or out of range
 */
export function parseMlopsConfig(raw: unknown): MlopsConfig {
  return parseWith(mlopsConfig, raw ?? {});
}

/** The defaults; cdk.json's `mlops` context block repeats them. */
export const DEFAULT_CONFIG: MlopsConfig = parseMlopsConfig({});
