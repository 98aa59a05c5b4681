import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, type ITable, ProjectionType, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { BlockPublicAccess, Bucket, BucketEncryption, type BucketProps, type IBucket, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { MlopsFunction } from './mlops-function.ts';

/**
 * The secure defaults every bucket of the platform shares: SSE-S3, TLS only, no public access, ACLs off, and the
 * removal policy (with its objects emptied first when it is `DESTROY`). Each bucket adds its own logging,
 * versioning and lifecycle.
 */
export function privateBucketProps(removalPolicy: RemovalPolicy): BucketProps {
  return {
    encryption: BucketEncryption.S3_MANAGED,
    enforceSSL: true,
    blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
    objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
    removalPolicy,
    autoDeleteObjects: removalPolicy === RemovalPolicy.DESTROY,
  };
}

/** The registry's one global secondary index. */
export const REGISTRY_GSI1 = 'gsi1';

/** Key prefix of model artifacts: `models/{model}/{sha256}.onnx` and `models/{model}/{sha256}.json`. */
export const ARTIFACT_PREFIX = 'models/';

export interface ModelStoreProps {
  /** Days after which noncurrent artifact object versions are deleted. */
  readonly noncurrentVersionExpirationDays: number;
  /**
   * `RETAIN` (default) keeps the buckets and the table, with DynamoDB deletion protection on.
   * `DESTROY` empties and deletes them with the stack (dev stacks).
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * Where models live: the S3 artifact bucket and the DynamoDB registry table.
 *
 * Encryption choices:
 *  - buckets: SSE-S3. Model artifacts are not secrets, SSE-S3 has no per-request KMS cost or throttling on
 *    cold-start downloads, needs no key grants, and S3 server access log delivery requires SSE-S3 on the target.
 *  - table: the AWS managed key (`aws/dynamodb`): key usage is visible in CloudTrail, and there is no key policy
 *    to manage or grant (a customer key would add cost and grants for little gain on registry metadata).
 */
/** The model registry as the constructs that use it see it: a grant for readers, the table for writers. */
export interface IModelRegistry {
  /** The registry table; a construct that writes to it grants its own write actions on it. */
  readonly registryTable: ITable;
  /**
   * Grants `fn` the registry reads (`dynamodb:GetItem` and `Query` on the table and its indexes) and sets its
   * `REGISTRY_TABLE_NAME`. Returns `fn`.
   */
  grantRegistryRead<F extends MlopsFunction>(fn: F): F;
}

export class ModelStore extends Construct implements IModelRegistry {
  public readonly artifactBucket: IBucket;
  public readonly registryTable: ITable;
  public readonly accessLogsBucket: IBucket;
  /** The GSI names of the registry table, for least-privilege grants. */
  public readonly registryIndexNames: readonly string[] = [REGISTRY_GSI1];

  public constructor(scope: Construct, id: string, props: ModelStoreProps) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const destroy = removalPolicy === RemovalPolicy.DESTROY;

    const accessLogsBucket = new Bucket(this, 'AccessLogsBucket', {
      ...privateBucketProps(removalPolicy),
      versioned: false,
      lifecycleRules: [{ id: 'expire-access-logs', expiration: Duration.days(365) }],
    });
    // No AwsSolutions-S1 finding here: cdk-nag recognises a bucket that is another bucket's log destination.

    const artifactBucket = new Bucket(this, 'ArtifactBucket', {
      ...privateBucketProps(removalPolicy),
      versioned: true,
      serverAccessLogsBucket: accessLogsBucket,
      serverAccessLogsPrefix: 'artifact-bucket/',
      lifecycleRules: [
        {
          id: 'expire-noncurrent-versions',
          noncurrentVersionExpiration: Duration.days(props.noncurrentVersionExpirationDays),
          abortIncompleteMultipartUploadAfter: Duration.days(7),
        },
      ],
    });

    const registryTable = new Table(this, 'RegistryTable', {
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      sortKey: { name: 'sk', type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: TableEncryption.AWS_MANAGED,
      deletionProtection: !destroy,
      removalPolicy,
    });
    registryTable.addGlobalSecondaryIndex({
      indexName: REGISTRY_GSI1,
      partitionKey: { name: 'gsi1pk', type: AttributeType.STRING },
      sortKey: { name: 'gsi1sk', type: AttributeType.STRING },
      projectionType: ProjectionType.ALL,
    });

    this.accessLogsBucket = accessLogsBucket;
    this.artifactBucket = artifactBucket;
    this.registryTable = registryTable;
  }

  /** {@inheritDoc IModelRegistry.grantRegistryRead} */
  public grantRegistryRead<F extends MlopsFunction>(fn: F): F {
    fn.bindRegistryTable(this.registryTable, this.registryIndexNames);
    return fn;
  }
}
