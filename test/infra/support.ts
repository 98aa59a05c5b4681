import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { parseConfig, type MlopsConfig } from '../../lib/config.ts';
import { PROJECT_ROOT } from '../../lib/constructs/mlops-function.ts';
import { type DataExportKey, dataExportName } from '../../lib/constructs/data-imports.ts';
import type { MlopsDataStack } from '../../lib/data-stack.ts';
import { createPlatform, type ServerlessMlopsStack } from '../../lib/serverless-mlops-stack.ts';

/** The feature flags of cdk.json (everything in its context except our own `mlops` block). */
export function cdkJsonFeatureFlags(): Record<string, unknown> {
  const cdkJson: unknown = JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8'));
  if (typeof cdkJson !== 'object' || cdkJson === null || !('context' in cdkJson)) throw new Error('cdk.json has no context');
  const context: unknown = cdkJson.context;
  if (typeof context !== 'object' || context === null) throw new Error('cdk.json context is not an object');
  return Object.fromEntries(Object.entries(context).filter(([key]) => key !== 'mlops'));
}

/** An App that skips asset bundling (no esbuild, no layer copy): for unit tests. */
export function unbundledApp(): App {
  return new App({ context: { ...cdkJsonFeatureFlags(), 'aws:cdk:bundling-stacks': [] } });
}

export interface Built {
  readonly app: App;
  /** The serving stack (API, pipeline, monitoring): what most tests look at. */
  readonly stack: ServerlessMlopsStack;
  readonly template: Template;
  /** The data stack (buckets, registry table). */
  readonly dataStack: MlopsDataStack;
  readonly dataTemplate: Template;
  readonly config: MlopsConfig;
}

/** Both stacks of the platform, as bin/app.ts builds them, unbundled, from a partial config merged over the defaults. */
export function buildStack(overrides: unknown = undefined): Built {
  const config = parseConfig(overrides);
  const app = unbundledApp();
  const { data, serving } = createPlatform(app, config);
  return { app, stack: serving, template: Template.fromStack(serving), dataStack: data, dataTemplate: Template.fromStack(data), config };
}

/** `Fn::ImportValue` of one of the default data stack's exports (`serverless-mlops-data:{key}`). */
export function imported(key: DataExportKey): { 'Fn::ImportValue': string } {
  return { 'Fn::ImportValue': dataExportName('serverless-mlops-data', key) };
}

/** The ARN of objects under `pattern` in one of the data stack's buckets, as the serving stack's policies spell it. */
export function importedObjects(key: 'ArtifactBucketArn' | 'CaptureBucketArn' | 'BatchBucketArn', pattern: string): { 'Fn::Join': [string, unknown[]] } {
  return { 'Fn::Join': ['', [imported(key), `/${pattern}`]] };
}

const TABLE_ARN_PREFIX = ['arn:', { Ref: 'AWS::Partition' }, ':dynamodb:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':table/', imported('RegistryTableName')];
/** The registry table's ARN as the serving stack builds it from the imported name. */
export const IMPORTED_TABLE_ARN = { 'Fn::Join': ['', TABLE_ARN_PREFIX] };
/** The ARN of the registry table's index `gsi1`, from the imported name. */
export const IMPORTED_GSI1_ARN = { 'Fn::Join': ['', [...TABLE_ARN_PREFIX, '/index/gsi1']] };
