/**
 * What `npm start` (local/) and the CLI's `--local` mode (cli/) agree on: the file through which the CLI finds a
 * running local platform. Declared here so that neither folder imports the other for it.
 */

/** The file's name, in the platform's data directory (`<dataDir>/platform.json`). */
export const PLATFORM_FILE_NAME = 'platform.json';

/** What `local/start.ts` writes to `<dataDir>/platform.json` while the platform runs (mode 0600: it holds the API key). */
export interface LocalPlatformFile {
  readonly api_url: string;
  readonly api_key: string;
  readonly dynamodb_endpoint: string;
  readonly s3_endpoint: string;
  readonly table_name: string;
  readonly bucket_name: string;
  /** Captures, feedback and drift reports (absent in files written before drift monitoring). */
  readonly capture_bucket_name?: string;
  readonly pid?: number;
  /** The local SageMaker-runtime server (local/sagemaker-runtime.ts). */
  readonly sagemaker_runtime_endpoint?: string;
  readonly lambda_max_artifact_bytes?: number;
  /** Bucket of batch scoring inputs and outputs. @default "mlops-batch" */
  readonly batch_bucket_name?: string;
}
