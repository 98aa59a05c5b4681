import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';

/**
 * SDK clients as the platform builds them. Endpoints come from the SDK's own
 * `AWS_ENDPOINT_URL_DYNAMODB` / `AWS_ENDPOINT_URL_S3` variables, which is all that
 * differs between Lambda and the local platform.
 */

export function createDocumentClient(): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(new DynamoDBClient({}), {
    marshallOptions: { removeUndefinedValues: true },
  });
}

export function createS3Client(): S3Client {
  // Local S3 servers are addressed by IP and port, where bucket subdomains cannot work.
  return new S3Client({ forcePathStyle: process.env.AWS_ENDPOINT_URL_S3 !== undefined });
}

/**
 * SageMaker runtime (`InvokeEndpoint`); `AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME` points it at the local server. One
 * attempt per call: the serving core retries throttled calls itself, within its own bound.
 */
export function createSageMakerRuntimeClient(): SageMakerRuntimeClient {
  return new SageMakerRuntimeClient({ maxAttempts: 1 });
}
