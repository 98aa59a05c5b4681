import { CfnOutput, Fn, type Stack } from 'aws-cdk-lib';
import { type ITable, Table } from 'aws-cdk-lib/aws-dynamodb';
import { Bucket, type IBucket } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { MlopsFunction } from './mlops-function.ts';
import type { IModelRegistry } from './model-store.ts';

/**
 * What the data stack exports and the serving stack imports, by output key, with the description of the output.
 * Exports with names of our own (`{dataStack}:{key}`) instead of the CDK's generated ones: the serving stack imports
 * them with `Fn::ImportValue`, so its grants name the data stack's resources while the data stack never references the
 * serving stack (no bucket policy, key policy or notification of the data stack can name a serving role: no cycle).
 */
export const DATA_EXPORTS = {
  ArtifactBucketName: 'Bucket of model artifacts (models/) and training data sets (datasets/)',
  ArtifactBucketArn: 'ARN of the artifact bucket',
  RegistryTableName: 'DynamoDB table of the model registry',
  CaptureBucketName: 'Captured predictions, feedback labels and drift reports (drift-reports/{model}/latest.html)',
  CaptureBucketArn: 'ARN of the capture bucket',
  BatchBucketName: 'Bucket of batch scoring inputs and outputs (s3://<name>/<prefix>/)',
  BatchBucketArn: 'ARN of the batch bucket',
} as const;

export type DataExportKey = keyof typeof DATA_EXPORTS;

/** The export name of one of the data stack's outputs. */
export function dataExportName(dataStackName: string, key: DataExportKey): string {
  return `${dataStackName}:${key}`;
}

/** The data stack's resources the serving stack uses. */
export interface DataResources {
  readonly artifactBucket: IBucket;
  readonly registryTable: ITable;
  readonly captureBucket: IBucket;
  readonly batchBucket: IBucket;
}

/** Writes the data stack's outputs, each exported under {@link dataExportName}. */
export function exportDataResources(stack: Stack, resources: DataResources): void {
  const values: Record<DataExportKey, string> = {
    ArtifactBucketName: resources.artifactBucket.bucketName,
    ArtifactBucketArn: resources.artifactBucket.bucketArn,
    RegistryTableName: resources.registryTable.tableName,
    CaptureBucketName: resources.captureBucket.bucketName,
    CaptureBucketArn: resources.captureBucket.bucketArn,
    BatchBucketName: resources.batchBucket.bucketName,
    BatchBucketArn: resources.batchBucket.bucketArn,
  };
  for (const [key, value] of Object.entries(values) as [DataExportKey, string][]) {
    new CfnOutput(stack, key, { value, description: DATA_EXPORTS[key], exportName: dataExportName(stack.stackName, key) });
  }
}

export interface DataImportsProps {
  /** Name of the data stack whose exports are imported. */
  readonly dataStackName: string;
  /** The GSI names of the registry table (the data stack's `ModelStore.registryIndexNames`), for least-privilege grants. */
  readonly registryIndexNames: readonly string[];
}

/**
 * The data stack's buckets and registry table as the serving stack sees them: imported by their exports
 * (`Fn::ImportValue`). Grants on them can only change the serving stack's role policies: an imported bucket or table
 * takes no resource policy, so nothing of the serving stack ends up in the data stack.
 */
export class DataImports extends Construct implements IModelRegistry, DataResources {
  public readonly artifactBucket: IBucket;
  public readonly registryTable: ITable;
  public readonly captureBucket: IBucket;
  public readonly batchBucket: IBucket;
  public readonly registryIndexNames: readonly string[];

  public constructor(scope: Construct, id: string, props: DataImportsProps) {
    super(scope, id);
    const imported = (key: DataExportKey): string => Fn.importValue(dataExportName(props.dataStackName, key));
    this.artifactBucket = Bucket.fromBucketAttributes(this, 'ArtifactBucket', { bucketName: imported('ArtifactBucketName'), bucketArn: imported('ArtifactBucketArn') });
    this.captureBucket = Bucket.fromBucketAttributes(this, 'CaptureBucket', { bucketName: imported('CaptureBucketName'), bucketArn: imported('CaptureBucketArn') });
    this.batchBucket = Bucket.fromBucketAttributes(this, 'BatchBucket', { bucketName: imported('BatchBucketName'), bucketArn: imported('BatchBucketArn') });
    this.registryTable = Table.fromTableName(this, 'RegistryTable', imported('RegistryTableName'));
    this.registryIndexNames = props.registryIndexNames;
  }

  /** {@inheritDoc IModelRegistry.grantRegistryRead} */
  public grantRegistryRead<F extends MlopsFunction>(fn: F): F {
    fn.bindRegistryTable(this.registryTable, this.registryIndexNames);
    return fn;
  }
}
