import { RemovalPolicy } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { MlopsConfig } from './config.ts';
import { BatchStore } from './constructs/batch-scoring.ts';
import { exportDataResources } from './constructs/data-imports.ts';
import { ModelStore } from './constructs/model-store.ts';
import { CaptureStore } from './constructs/prediction-capture.ts';
import { PlatformStack, type PlatformStackProps } from './platform-stack.ts';

/**
 * The platform's stateful resources, apart from what serves, trains and monitors (CDK best practices: "separate
 * stateful from stateless resources"): the artifact bucket, the registry table, the capture bucket, the batch bucket
 * and the access log bucket they log to. Termination protection is on, and with the default `removalPolicy` each of
 * them is retained (the table with deletion protection), so `cdk destroy` of the serving stack, or a serving stack
 * rebuilt from scratch, loses no model, registry item, capture or batch output.
 *
 * Its outputs are exported (see `DATA_EXPORTS`); the serving stack imports them and depends on this stack.
 */
export class MlopsDataStack extends PlatformStack {
  public readonly modelStore: ModelStore;
  public readonly captureStore: CaptureStore;
  public readonly batchStore: BatchStore;

  public constructor(scope: Construct, id: string, props: PlatformStackProps) {
    const { config } = props;
    super(scope, id, {
      description: `${config.appName}: model artifacts, model registry, captured predictions and batch data (serverless-mlops, stateful)`,
      terminationProtection: true,
      ...props,
    });
    const removalPolicy = config.removalPolicy === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;

    this.modelStore = new ModelStore(this, 'ModelStore', {
      noncurrentVersionExpirationDays: config.artifacts.noncurrentVersionExpirationDays,
      removalPolicy,
    });
    // The same construct ids as the concerns that use them: PredictionCapture/CaptureBucket, BatchScoring/BatchBucket.
    this.captureStore = new CaptureStore(this, 'PredictionCapture', {
      retentionDays: config.drift.captureRetentionDays,
      accessLogsBucket: this.modelStore.accessLogsBucket,
      removalPolicy,
    });
    this.batchStore = new BatchStore(this, 'BatchScoring', { accessLogsBucket: this.modelStore.accessLogsBucket, removalPolicy });

    exportDataResources(this, {
      artifactBucket: this.modelStore.artifactBucket,
      registryTable: this.modelStore.registryTable,
      captureBucket: this.captureStore.bucket,
      batchBucket: this.batchStore.bucket,
    });
  }
}

/** The data stack's construct id and name for a config: `{appName}-data`. */
export function dataStackIdFor(config: MlopsConfig): string {
  return `${config.appName}-data`;
}
