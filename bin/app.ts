import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ConfigError, loadConfig, type MlopsConfig } from '../lib/config.ts';
import { ServerlessMlopsStack, stackIdFor } from '../lib/serverless-mlops-stack.ts';

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

// Environment-agnostic on purpose: no lookups, synthesizes without AWS credentials.
new ServerlessMlopsStack(app, stackIdFor(config), { config });

Validations.of(app).addPlugins(new AwsSolutionsChecks(app));

app.synth();
