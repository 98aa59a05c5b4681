import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { parseConfig, type MlopsConfig } from '../../lib/config.ts';
import { PROJECT_ROOT } from '../../lib/constructs/mlops-function.ts';
import { ServerlessMlopsStack, stackIdFor } from '../../lib/serverless-mlops-stack.ts';

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
  readonly stack: ServerlessMlopsStack;
  readonly template: Template;
  readonly config: MlopsConfig;
}

/** The whole stack, unbundled, from a partial config merged over the defaults. */
export function buildStack(overrides: unknown = undefined): Built {
  const config = parseConfig(overrides);
  const app = unbundledApp();
  const stack = new ServerlessMlopsStack(app, stackIdFor(config), { config });
  return { app, stack, template: Template.fromStack(stack), config };
}
