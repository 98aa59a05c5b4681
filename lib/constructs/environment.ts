/**
 * The names of the environment variables the platform's Lambda functions read, and the Powertools names: declared
 * once in `contracts/env.ts`, which the handlers read with too. Constructs set them through these constants.
 */
import { SERVICE_NAMES } from '#contracts/env.ts';

export { ENV, METRICS_NAMESPACE, type EnvName } from '#contracts/env.ts';

/** Powertools service name of the inference API function. */
export const INFERENCE_API_SERVICE_NAME = SERVICE_NAMES.inferenceApi;
/** Powertools service name of the training pipeline function. */
export const TRAINING_PIPELINE_SERVICE_NAME = SERVICE_NAMES.trainingPipeline;
/** Powertools service name of the canary-watch function. */
export const CANARY_WATCH_SERVICE_NAME = SERVICE_NAMES.canaryWatch;
/** Powertools service name of the drift job function. */
export const DRIFT_MONITOR_SERVICE_NAME = SERVICE_NAMES.driftMonitor;
/** Powertools service name of the batch scoring function. */
export const BATCH_SCORING_SERVICE_NAME = SERVICE_NAMES.batchScoring;
/** Powertools service name of the predict function's CodeDeploy pre-traffic hook. */
export const PRE_TRAFFIC_HOOK_SERVICE_NAME = SERVICE_NAMES.preTrafficHook;
/** Powertools service name of the endpoints' scaling-release custom resource function. */
export const ENDPOINT_SCALING_SERVICE_NAME = SERVICE_NAMES.endpointScaling;
