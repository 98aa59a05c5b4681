import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Effect, Policy, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, type CfnFunction, type ILayerVersion, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import type { LambdaArchitecture } from '../config.ts';
import { ENV, METRICS_NAMESPACE } from './environment.ts';
import { nagArnOf } from './logical-id.ts';

/** The repository root (where package.json and package-lock.json live). */
export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The Lambda runtime of every platform function. */
export const MLOPS_RUNTIME = Runtime.NODEJS_24_X;

/** Maps the config's architecture name to the CDK value. */
export function lambdaArchitecture(arch: LambdaArchitecture): Architecture {
  return arch === 'arm64' ? Architecture.ARM_64 : Architecture.X86_64;
}

/** Maps a number of days to the CloudWatch Logs retention enum (the config validates the value). */
export function retentionDays(days: number): RetentionDays {
  const match = Object.values(RetentionDays).find((value) => value === days);
  if (match === undefined || typeof match === 'string') throw new Error(`invalid log retention: ${days} days`);
  return match;
}

/**
 * The only actions a platform function may hold on `Resource: "*"`: AWS offers no resource-level permission for them,
 * and they read or trace, never change data. Each grant of them goes to a policy of its own (see
 * {@link MlopsFunction.grantOnAnyResource}), where the cdk-nag `AwsSolutions-IAM5[Resource::*]` finding is acknowledged
 * for that policy alone: a write action widened to `*` lands in the role's default policy, unacknowledged.
 */
export const ANY_RESOURCE_ACTIONS = ['xray:PutTraceSegments', 'xray:PutTelemetryRecords', 'cloudwatch:GetMetricData', 'application-autoscaling:DescribeScalableTargets'] as const;

/** One of {@link ANY_RESOURCE_ACTIONS}. */
export type AnyResourceAction = (typeof ANY_RESOURCE_ACTIONS)[number];

export interface MlopsFunctionProps {
  /** Entry file, relative to the repository root (e.g. `lambdas/inference-api/handler.ts`). */
  readonly entry: string;
  /** Powertools service name. */
  readonly serviceName: string;
  readonly architecture: LambdaArchitecture;
  readonly memorySize: number;
  readonly timeout: Duration;
  /** Log retention in days (a CloudWatch Logs value). */
  readonly logRetentionDays: number;
  /** Removal policy of the function's log group. */
  readonly logRemovalPolicy: RemovalPolicy;
  readonly description?: string;
  /** Extra environment variables. */
  readonly environment?: Readonly<Record<string, string>>;
  /** Layers; their modules must be listed in {@link externalModules}. */
  readonly layers?: ILayerVersion[];
  /** Modules left out of the bundle because a layer provides them (e.g. `onnxruntime-node`). */
  readonly externalModules?: string[];
  readonly reservedConcurrentExecutions?: number;
  /**
   * Powertools log level.
   * @default "INFO"
   */
  readonly logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
}

/**
 * The house Lambda function: Node.js 24, esbuild bundling done locally (never Docker), CJS output with source maps,
 * active X-Ray tracing, an explicit log group with retention, Powertools environment, and a dedicated role holding
 * only what the function needs (no AWS managed policies).
 */
export class MlopsFunction extends NodejsFunction {
  public constructor(scope: Construct, id: string, props: MlopsFunctionProps) {
    // Created as siblings so that they can be handed to the NodejsFunction constructor.
    const logGroup = new LogGroup(scope, `${id}LogGroup`, {
      retention: retentionDays(props.logRetentionDays),
      removalPolicy: props.logRemovalPolicy,
    });
    const role = new Role(scope, `${id}Role`, {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of ${id}`,
    });
    // Instead of AWSLambdaBasicExecutionRole (logs:* on every log group): write access to this log group only.
    logGroup.grantWrite(role);

    super(scope, id, {
      entry: join(PROJECT_ROOT, props.entry),
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
      runtime: MLOPS_RUNTIME,
      architecture: lambdaArchitecture(props.architecture),
      memorySize: props.memorySize,
      timeout: props.timeout,
      logGroup,
      role,
      // A function behind an alias (the predict function's `live`) publishes a version per deploy. CloudFormation
      // deletes the previous one by default; kept, it stays what `aws lambda update-alias --function-version` can
      // point back to (the manual rollback runbook), as SAM's AutoPublishAlias keeps them. They go with the function.
      currentVersionOptions: { removalPolicy: RemovalPolicy.RETAIN },
      ...(props.description === undefined ? {} : { description: props.description }),
      ...(props.layers === undefined ? {} : { layers: props.layers }),
      ...(props.reservedConcurrentExecutions === undefined
        ? {}
        : { reservedConcurrentExecutions: props.reservedConcurrentExecutions }),
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        [ENV.POWERTOOLS_SERVICE_NAME]: props.serviceName,
        [ENV.POWERTOOLS_METRICS_NAMESPACE]: METRICS_NAMESPACE,
        [ENV.POWERTOOLS_LOG_LEVEL]: props.logLevel ?? 'INFO',
        ...props.environment,
      },
      bundling: {
        minify: true,
        sourceMap: true,
        target: 'node24',
        format: OutputFormat.CJS,
        mainFields: ['module', 'main'],
        // Setting externalModules bundles the AWS SDK v3 too: the versions in package-lock.json are what runs.
        externalModules: props.externalModules ?? [],
        forceDockerBundling: false,
      },
    });

    // Active tracing, set on the resource rather than through the `tracing` prop: the prop would add the X-Ray
    // statement (Resource "*") to the role's default policy, next to the function's data grants.
    (this.node.defaultChild as CfnFunction).tracingConfig = { mode: Tracing.ACTIVE };
    this.grantOnAnyResource(
      'TracingPolicy',
      ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'],
      'Active tracing: xray:PutTraceSegments and xray:PutTelemetryRecords have no resource-level permissions, so they take Resource "*".',
    );
  }

  /**
   * Grants `actions` on `Resource: "*"` through a policy of their own, `id`, attached to the function's role, and
   * acknowledges cdk-nag's `AwsSolutions-IAM5[Resource::*]` on that policy only, with `reason`. Only the read and
   * tracing actions of {@link ANY_RESOURCE_ACTIONS} are accepted: everything else is granted on named resources.
   * @throws Error at synth when an action is not one of them
   */
  public grantOnAnyResource(id: string, actions: readonly AnyResourceAction[], reason: string): Policy {
    const allowed: readonly string[] = ANY_RESOURCE_ACTIONS;
    const refused = actions.filter((action) => !allowed.includes(action));
    if (refused.length > 0) throw new Error(`actions on resource "*" must be among ${allowed.join(', ')}, got ${refused.join(', ')}`);
    if (this.role === undefined) throw new Error(`function ${this.node.path} has no role to grant ${actions.join(', ')} to`);
    const policy = new Policy(this, id, {
      roles: [this.role],
      statements: [new PolicyStatement({ effect: Effect.ALLOW, actions: [...actions], resources: ['*'] })],
    });
    Validations.of(policy).acknowledge({ id: 'AwsSolutions-IAM5[Resource::*]', reason });
    // The function may need the grant from its first invocation on (the function resource, not the construct: the
    // policy is one of its children).
    (this.node.defaultChild as CfnFunction).node.addDependency(policy);
    return policy;
  }

  /** Grants read access to the registry table (and the named GSIs) and sets `REGISTRY_TABLE_NAME`. */
  public bindRegistryTable(table: ITable, indexNames: readonly string[] = []): this {
    this.addToRolePolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['dynamodb:GetItem', 'dynamodb:Query'],
        resources: [
          table.tableArn,
          ...indexNames.map((name) => Stack.of(this).formatArn({
            service: 'dynamodb',
            resource: 'table',
            resourceName: `${table.tableName}/index/${name}`,
          })),
        ],
      }),
    );
    if (table.encryptionKey !== undefined) table.encryptionKey.grantDecrypt(this);
    this.addEnvironment(ENV.REGISTRY_TABLE_NAME, table.tableName);
    return this;
  }

  /**
   * Grants read access to the model artifacts (`models/*`) of the bucket and sets `ARTIFACT_BUCKET_NAME`.
   * The grant is scoped to the `models/` prefix, which needs one acknowledged wildcard (see the ack below).
   */
  public bindArtifactBucket(bucket: IBucket, prefix = 'models/'): this {
    this.grantPrefixRead(bucket, [prefix]);
    if (bucket.encryptionKey !== undefined) bucket.encryptionKey.grantDecrypt(this);
    this.addEnvironment(ENV.ARTIFACT_BUCKET_NAME, bucket.bucketName);
    if (this.role !== undefined) {
      const nagBucketArn = nagArnOf(Stack.of(this).resolve(bucket.bucketArn));
      if (nagBucketArn !== undefined) {
        Validations.of(this.role).acknowledge({
          id: `AwsSolutions-IAM5[Resource::${nagBucketArn}/${prefix}*]`,
          reason: `Reads model artifacts by content hash under ${prefix}{model}/{sha256}.(onnx|json); keys are not known at deploy time.`,
        });
      }
    }
    return this;
  }

  /**
   * `s3:GetObject` on the objects under `prefixes` and `s3:ListBucket` limited to them (so that a missing key reads
   * as 404, not 403). Nothing else of the bucket; the caller acknowledges the prefix wildcards where cdk-nag asks.
   */
  public grantPrefixRead(bucket: IBucket, prefixes: readonly string[]): this {
    const patterns = prefixes.map((prefix) => `${prefix}*`);
    this.addToRolePolicy(
      new PolicyStatement({ effect: Effect.ALLOW, actions: ['s3:GetObject'], resources: patterns.map((pattern) => bucket.arnForObjects(pattern)) }),
    );
    this.addToRolePolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['s3:ListBucket'],
        resources: [bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': patterns } },
      }),
    );
    return this;
  }
}
