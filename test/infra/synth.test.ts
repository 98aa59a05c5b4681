import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTES } from '../../contracts/routes.ts';
import { parseConfig } from '../../lib/config.ts';
import { createPlatform } from '../../lib/serverless-mlops-stack.ts';
import { type CfnTemplate, checkTemplateLimits } from '../../scripts/aws-limits.ts';
import { runCfnLint, templatesIn } from '../../scripts/cfn-lint.ts';
import { RehearsalError, rehearse } from '../../scripts/rehearse.ts';
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
  const config = parseConfig(undefined);
  let template: Template;
  let dataTemplate: Template;
  // One bundled assembly for every test here (bundling is the slow part): the synth checks and the deploy rehearsal.
  beforeAll(() => {
    // The same wiring as bin/app.ts, with the feature flags of cdk.json and bundling enabled.
    const app = new App({ outdir, context: cdkJsonFeatureFlags() });
    const { data, serving } = createPlatform(app, config);
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    app.synth(); // throws on any unacknowledged cdk-nag finding, in either stack
    template = Template.fromStack(serving);
    dataTemplate = Template.fromStack(data);
  }, 240_000);
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  it('bundles the function and layer locally, passes cdk-nag, and cfn-lint where it is installed', () => {
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
    expect(checkTemplateLimits(dataTemplate.toJSON() as CfnTemplate, { assemblyDir: outdir })).toEqual([]);

    // Both stacks' templates, each linted.
    const templates = templatesIn(outdir);
    expect(templates.map((file) => file.slice(outdir.length + 1)).sort()).toEqual([`${config.appName}-data.template.json`, `${config.appName}.template.json`]);
    // Without cfn-lint (and without CI) the end-of-run line says this was not checked.
    if (CFN_LINT.present()) {
      const lint = runCfnLint(templates);
      expect(lint.status, lint.output).toBe(0);
    }
  });

  it('rehearses the assembly: every function runs from its own asset with its layers, on the events AWS sends it, and both state machines run', async () => {
    const invocations = await rehearse(outdir);
    const functions = Object.keys(template.findResources('AWS::Lambda::Function'));
    const machines = Object.keys(template.findResources('AWS::StepFunctions::StateMachine'));
    expect(machines).toHaveLength(2);
    // Every function of the template was invoked, each with at least one event, the training pipeline's state machine
    // ran a training run to a promoted version, the batch scoring state machine (its Distributed Map through the local
    // stand-in) scored every row of a job, and every invocation worked.
    expect(new Set(invocations.map((invocation) => invocation.function))).toEqual(new Set([...functions, ...machines]));
    expect(invocations.every((invocation) => invocation.ok)).toBe(true);
    // The predict function through every route of contracts/routes.ts.
    expect(invocations.filter((invocation) => invocation.event.startsWith('API Gateway '))).toHaveLength(ROUTES.length);
  }, 240_000);

  it('resolves the serving stack\'s imports in the data stack\'s template, and fails naming an import no stack exports', async () => {
    // Prepare: a copy of the assembly whose data stack no longer exports the artifact bucket's name.
    const broken = mkdtempSync(join(tmpdir(), 'mlops-unexported-'));
    try {
      cpSync(outdir, broken, { recursive: true });
      const dataFile = join(broken, `${config.appName}-data.template.json`);
      const data = JSON.parse(readFileSync(dataFile, 'utf8')) as { Outputs: Record<string, { Export?: unknown }> };
      expect(data.Outputs['ArtifactBucketName']?.Export).toEqual({ Name: `${config.appName}-data:ArtifactBucketName` });
      delete data.Outputs['ArtifactBucketName'];
      writeFileSync(dataFile, JSON.stringify(data));
      // Act
      const error = await rehearse(broken, { only: () => false }).then(
        () => undefined,
        (failure: unknown) => failure,
      );
      // Assess
      expect(error).toBeInstanceOf(RehearsalError);
      expect((error as Error).message).toBe(`no stack of the assembly exports ${config.appName}-data:ArtifactBucketName (Fn::ImportValue)`);
    } finally {
      rmSync(broken, { recursive: true, force: true });
    }
  }, 120_000);

  it.each([
    ['a renamed handler file', (dir: string) => renameSync(join(dir, 'index.js'), join(dir, 'main.js')), /Cannot find module|HandlerNotFound/],
    [
      'onnxruntime-node bundled instead of taken from the layer',
      // What esbuild leaves when the module is bundled: a require of its native binding by a path inside the bundle.
      (dir: string) => writeFileSync(join(dir, 'index.js'), `require('./bin/napi-v6/linux/x64/onnxruntime_binding.node');\n${readFileSync(join(dir, 'index.js'), 'utf8')}`),
      /onnxruntime_binding\.node/,
    ],
  ] as const)('fails with the function named when a bundle is broken: %s', async (_name, breakIt, cause) => {
    // Prepare: a copy of the assembly whose predict bundle is broken.
    const broken = mkdtempSync(join(tmpdir(), 'mlops-broken-'));
    try {
      cpSync(outdir, broken, { recursive: true });
      const [predictId, predict] = Object.entries(template.findResources('AWS::Lambda::Function')).find(([id]) => id.startsWith('InferenceApiPredictFunction')) ?? [];
      expect(predictId).toBeDefined();
      breakIt(assetDir(broken, (predict as CfnResource).Properties?.['Code']));
      // Act
      const error = await rehearse(broken, { only: (id) => id === predictId }).then(
        () => undefined,
        (failure: unknown) => failure,
      );
      // Assess
      expect(error).toBeInstanceOf(RehearsalError);
      expect((error as Error).message).toContain(`function ${String(predictId)} failed`);
      expect((error as Error).message).toMatch(cause);
    } finally {
      rmSync(broken, { recursive: true, force: true });
    }
  }, 120_000);
});
