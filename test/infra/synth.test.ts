import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../lib/config.ts';
import { ServerlessMlopsStack, stackIdFor } from '../../lib/serverless-mlops-stack.ts';
import { type CfnTemplate, checkTemplateLimits } from '../../scripts/aws-limits.ts';
import { runCfnLint, templatesIn } from '../../scripts/cfn-lint.ts';
import { CFN_LINT } from '../support/optional-tools.ts';
import { cdkJsonFeatureFlags } from './support.ts';

type CfnResource = { Type: string; Properties?: Record<string, unknown> };

/** The asset directory a `Code`/`Content` property points at (`<hash>.zip` → `asset.<hash>`). */
function assetDir(outdir: string, code: unknown): string {
  const key = typeof code === 'object' && code !== null && 'S3Key' in code ? code.S3Key : undefined;
  if (typeof key !== 'string' || !key.endsWith('.zip')) throw new Error(`unexpected asset reference ${JSON.stringify(code)}`);
  return join(outdir, `asset.${key.slice(0, -'.zip'.length)}`);
}

function onlyResource(template: Template, type: string): CfnResource {
  const resources = Object.values(template.findResources(type)) as CfnResource[];
  expect(resources).toHaveLength(1);
  const [resource] = resources;
  if (resource === undefined) throw new Error(`no ${type}`);
  return resource;
}

describe('full synth with real bundling', () => {
  const outdir = mkdtempSync(join(tmpdir(), 'mlops-synth-'));
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  it('bundles the function and layer locally, passes cdk-nag, and cfn-lint where it is installed', () => {
    // The same wiring as bin/app.ts, with the feature flags of cdk.json and bundling enabled.
    const app = new App({ outdir, context: cdkJsonFeatureFlags() });
    const config = parseConfig(undefined);
    const stack = new ServerlessMlopsStack(app, stackIdFor(config), { config });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    app.synth(); // throws on any unacknowledged cdk-nag finding

    const template = Template.fromStack(stack);
    // The predict function, the training pipeline function, the canary-watch function, the drift job, batch scoring
    // and the pre-traffic hook.
    const functions = Object.values(template.findResources('AWS::Lambda::Function')) as CfnResource[];
    expect(functions).toHaveLength(6);
    for (const fn of functions) {
      expect(readdirSync(assetDir(outdir, fn.Properties?.['Code'])).sort()).toEqual(['index.js', 'index.js.map']);
    }

    const layerDir = assetDir(outdir, onlyResource(template, 'AWS::Lambda::LayerVersion').Properties?.['Content']);
    const ort = join(layerDir, 'nodejs', 'node_modules', 'onnxruntime-node');
    expect(existsSync(join(ort, 'dist', 'index.js'))).toBe(true);
    expect(existsSync(join(layerDir, 'nodejs', 'node_modules', 'onnxruntime-common', 'dist', 'cjs', 'index.js'))).toBe(true);
    expect(readdirSync(join(ort, 'bin', 'napi-v6'))).toEqual(['linux']);
    expect(readdirSync(join(ort, 'bin', 'napi-v6', 'linux'))).toEqual(['x64']);
    expect(readdirSync(join(ort, 'bin', 'napi-v6', 'linux', 'x64')).sort()).toEqual([
      'libonnxruntime.so.1',
      'onnxruntime_binding.node',
    ]);

    // Function and layers unzipped within Lambda's 250 MB, and every other limit, on the bundled assembly.
    expect(checkTemplateLimits(template.toJSON() as CfnTemplate, { assemblyDir: outdir, modelNames: Object.keys(config.pipeline.models) })).toEqual([]);

    const templates = templatesIn(outdir);
    expect(templates.length).toBeGreaterThan(0);
    // Without cfn-lint (and without CI) the end-of-run line says this was not checked.
    if (CFN_LINT.present()) {
      const lint = runCfnLint(templates);
      expect(lint.status, lint.output).toBe(0);
    }
  });
});
