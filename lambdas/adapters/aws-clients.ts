import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';

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

// The SageMaker runtime client is built in sagemaker-runtime-invoker.ts, loaded only when a version served by an
// endpoint is first called (a cold start skips that SDK client).
