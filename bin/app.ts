import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ConfigError, loadConfig, type MlopsConfig } from '../lib/config.ts';
import { createPlatform } from '../lib/serverless-mlops-stack.ts';

const app = new App();

let config: MlopsConfig;
try {
  config = loadConfig(app);
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(1);
  }
  throw err;
}

// Environment-agnostic on purpose: no lookups, synthesizes without AWS credentials. Two stacks: `{appName}-data`
// (buckets, registry table; termination protection) and `{appName}` (everything else), which depends on it, so
// `cdk deploy --all` deploys the data stack first.
createPlatform(app, config);

Validations.of(app).addPlugins(new AwsSolutionsChecks(app));

app.synth();
