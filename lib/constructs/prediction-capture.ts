import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { Effect, type IGrantable, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { CfnDeliveryStream } from 'aws-cdk-lib/aws-kinesisfirehose';
import { LogGroup, LogStream } from 'aws-cdk-lib/aws-logs';
import { Bucket, type IBucket } from 'aws-cdk-lib/aws-s3';
import { Construct, type IConstruct } from 'constructs';
import { ENV } from './environment.ts';
import type { MlopsFunction } from './mlops-function.ts';
import { retentionDays } from './mlops-function.ts';
import { nagArnOf } from './logical-id.ts';
import { privateBucketProps } from './model-store.ts';

/** Where Firehose writes captures: one prefix per model, version, UTC date and hour (dynamic partitioning). */
export const CAPTURE_S3_PREFIX =
  'captures/model=!{partitionKeyFromQuery:model}/version=!{partitionKeyFromQuery:model_version}/date=!{timestamp:yyyy-MM-dd}/hour=!{timestamp:HH}/';
/** Records Firehose could not deliver or partition, with the reason in the path. */
export const CAPTURE_ERROR_PREFIX = 'capture-errors/!{firehose:error-output-type}/date=!{timestamp:yyyy-MM-dd}/';
/** The jq query dynamic partitioning reads the partition keys with. */
export const CAPTURE_PARTITION_QUERY = '{model:.model,model_version:.model_version}';

export interface CaptureStoreProps {
  /** Days captures, feedback and drift reports are kept. */
  readonly retentionDays: number;
  /** Destination of the capture bucket's server access logs (the model store's access log bucket). */
  readonly accessLogsBucket: IBucket;
  /**
   * Whether the bucket and its objects go with the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * Where captured predictions stay: the capture bucket (captures, feedback labels, drift reports; SSE-S3, TLS only,
 * expiring after `retentionDays`). It lives in the data stack; the delivery stream that fills it does not.
 */
export class CaptureStore extends Construct {
  public readonly bucket: Bucket;

  public constructor(scope: Construct, id: string, props: CaptureStoreProps) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.bucket = new Bucket(this, 'CaptureBucket', {
      ...privateBucketProps(removalPolicy),
      serverAccessLogsBucket: props.accessLogsBucket,
      serverAccessLogsPrefix: 'capture-bucket/',
      lifecycleRules: [
        { id: 'expire-captures', expiration: Duration.days(props.retentionDays), abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
    });
  }
}

export interface PredictionCaptureProps {
  /** The capture bucket (the data stack's {@link CaptureStore}): Firehose writes under `captures/` and `capture-errors/`. */
  readonly bucket: IBucket;
  /** Log group retention of the delivery stream's error log, in days. */
  readonly logRetentionDays: number;
  /**
   * Whether the delivery stream's error log goes with the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Seconds Firehose buffers records before writing an object (60 to 900).
   * @default 60
   */
  readonly bufferIntervalSeconds?: number;
}

/**
 * Prediction capture into the capture bucket of the data stack: a Firehose delivery stream that writes the predict function's records as JSON lines under
 * `captures/model=…/version=…/date=…/hour=…/`. Firehose retries delivery to S3 and writes what it cannot deliver
 * under `capture-errors/`; the predict function retries records PutRecordBatch reports as failed.
 */
export class PredictionCapture extends Construct {
  public readonly bucket: IBucket;
  public readonly deliveryStream: CfnDeliveryStream;
  /** ARN of the delivery stream. */
  public readonly deliveryStreamArn: string;

  public constructor(scope: Construct, id: string, props: PredictionCaptureProps) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.bucket = props.bucket;

    const logGroup = new LogGroup(this, 'DeliveryLogs', { retention: retentionDays(props.logRetentionDays), removalPolicy });
    const logStream = new LogStream(this, 'DeliveryErrors', { logGroup, removalPolicy });
    const role = new Role(this, 'DeliveryRole', {
      assumedBy: new ServicePrincipal('firehose.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
      description: 'Firehose delivery of captured predictions to the capture bucket',
    });
    // What the S3 destination needs (the Firehose documentation's list), on this bucket only.
    role.addToPolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['s3:AbortMultipartUpload', 's3:GetBucketLocation', 's3:ListBucket', 's3:ListBucketMultipartUploads'],
        resources: [this.bucket.bucketArn],
      }),
    );
    role.addToPolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['s3:PutObject', 's3:GetObject', 's3:AbortMultipartUpload'],
        resources: [this.bucket.arnForObjects('captures/*'), this.bucket.arnForObjects('capture-errors/*')],
      }),
    );
    logGroup.grantWrite(role);
    const nagBucketArn = nagArnOf(Stack.of(this).resolve(this.bucket.bucketArn));
    if (nagBucketArn !== undefined) {
      for (const prefix of ['captures/', 'capture-errors/']) {
        Validations.of(role).acknowledge({
          id: `AwsSolutions-IAM5[Resource::${nagBucketArn}/${prefix}*]`,
          reason: `Firehose writes one object per buffer under ${prefix} with partition keys and times in the key.`,
        });
      }
    }

    this.deliveryStream = new CfnDeliveryStream(this, 'DeliveryStream', {
      deliveryStreamType: 'DirectPut',
      deliveryStreamEncryptionConfigurationInput: { keyType: 'AWS_OWNED_CMK' },
      extendedS3DestinationConfiguration: {
        bucketArn: this.bucket.bucketArn,
        roleArn: role.roleArn,
        prefix: CAPTURE_S3_PREFIX,
        errorOutputPrefix: CAPTURE_ERROR_PREFIX,
        // Dynamic partitioning requires a buffer of at least 64 MB.
        bufferingHints: { intervalInSeconds: props.bufferIntervalSeconds ?? 60, sizeInMBs: 64 },
        compressionFormat: 'UNCOMPRESSED',
        dynamicPartitioningConfiguration: { enabled: true, retryOptions: { durationInSeconds: 300 } },
        processingConfiguration: {
          enabled: true,
          processors: [
            {
              type: 'MetadataExtraction',
              parameters: [
                { parameterName: 'MetadataExtractionQuery', parameterValue: CAPTURE_PARTITION_QUERY },
                { parameterName: 'JsonParsingEngine', parameterValue: 'JQ-1.6' },
              ],
            },
          ],
        },
        cloudWatchLoggingOptions: { enabled: true, logGroupName: logGroup.logGroupName, logStreamName: logStream.logStreamName },
      },
    });
    this.deliveryStream.node.addDependency(role);
    this.deliveryStreamArn = this.deliveryStream.attrArn;
  }

  /**
   * Lets the predict function capture (PutRecordBatch on the stream) and store feedback labels (PutObject under
   * `feedback/`), and sets its capture variables.
   */
  public bindPredictFunction(fn: MlopsFunction, sampleRate: number): void {
    fn.addToRolePolicy(new PolicyStatement({ effect: Effect.ALLOW, actions: ['firehose:PutRecordBatch'], resources: [this.deliveryStreamArn] }));
    this.grantFeedbackWrite(fn);
    fn.addEnvironment(ENV.CAPTURE_STREAM_NAME, this.deliveryStream.ref);
    fn.addEnvironment(ENV.CAPTURE_BUCKET_NAME, this.bucket.bucketName);
    fn.addEnvironment(ENV.CAPTURE_SAMPLE_RATE, String(sampleRate));
  }

  private grantFeedbackWrite(grantee: IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({ effect: Effect.ALLOW, actions: ['s3:PutObject'], resources: [this.bucket.arnForObjects('feedback/*')] }),
    );
    const nagBucketArn = nagArnOf(Stack.of(this).resolve(this.bucket.bucketArn));
    const role = (grantee as { role?: IConstruct }).role;
    if (nagBucketArn !== undefined && role !== undefined) {
      Validations.of(role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${nagBucketArn}/feedback/*]`,
        reason: 'Each feedback label is its own object, keyed by model, date, hour and request id.',
      });
    }
  }
}
