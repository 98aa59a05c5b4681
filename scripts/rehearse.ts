/**
 * Deploy rehearsal: runs what the cloud assembly would deploy, as deployed. Each Lambda function of the template runs
 * from a copy of its own asset directory (outside the repository, so the repository's node_modules cannot stand in
 * for a missing module), with only its layers on NODE_PATH (as /opt/nodejs/node_modules), with the environment of its
 * template resource (table, bucket and topic references mapped to local dynalite, s3rver and a small stub of the other
 * AWS APIs), invoked with the event shapes AWS sends it: API Gateway proxy events through every route, EventBridge
 * scheduled events, a CloudWatch alarm state change, a CodeDeploy lifecycle hook event, Step Functions task inputs.
 * The training pipeline's state machine (its definition from the template, after its substitutions) then runs a
 * training run in aws-local-stepfunctions, each Lambda task invoking the asset its ARN names, and the batch scoring
 * state machine a batch job, its Distributed Map run by the local stand-in (local/distributed-map.ts). A missing module, a
 * wrong handler, a layer Node cannot find or a crash fails the rehearsal with the function named.
 *
 *   npm run rehearse [-- --assembly cdk.out]     (without an assembly: cdk synth writes one first)
 */
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { StateMachine } from 'aws-local-stepfunctions';
import { createHash } from 'node:crypto';
import { datasetKey } from '#core/pipeline/run.ts';
import { DynamoDbRegistry } from '#adapters/dynamodb-registry.ts';
import { S3ArtifactStore } from '#adapters/s3-artifacts.ts';
import { RegistryService } from '#core/registry/registry-service.ts';
import { proxyEvent } from '#core/serving/pre-traffic-check.ts';
import { ENV } from '#contracts/env.ts';
import { ROUTES } from '#contracts/routes.ts';
import { S3BatchObjects } from '#adapters/s3-batch-objects.ts';
import { localizeDistributedMaps, type LocalMapObjects, type LocalTaskHandler } from '../local/distributed-map.ts';
import { startTransactionProxy } from '../local/dynamodb-transactions.ts';
import { startDynamoDb, startS3, type RunningEmulator } from '../local/emulators.ts';
import { ensureRegistryTable } from '../local/provision.ts';
import { REFERENCE_MODEL, seedReferenceModel } from '../local/seed.ts';
import { CREDIT_INSTANCE } from '../test/support/credit-instances.ts';
import { assetDirectory, type CfnTemplate, checkTemplateLimits } from './aws-limits.ts';

const PROJECT_ROOT = fileURLToPath(new URL('../', import.meta.url));
const REGION = 'us-east-1';
const ACCOUNT = '000000000000';
const TABLE = 'rehearsal-registry';
/** The credit data set, in the artifact bucket, for the pipeline's steps. */
const REHEARSAL_DATASET_KEY = 'datasets/credit/rehearsal.csv';
/** The model the state machine's rehearsal run trains (a first version: no champion to beat). */
const PIPELINE_MODEL = 'rehearsal';
/** Where the batch job's input lies in the batch bucket. */
const REHEARSAL_BATCH_PREFIX = 'rehearsal/in/';
/** The rows of the batch job's input (after its header). */
const REHEARSAL_BATCH_ROWS = 20;

type Json = Record<string, unknown>;
interface Resource {
  readonly Type: string;
  readonly Properties?: Json;
}

/** One Lambda function of the template, ready to run locally. */
interface RehearsedFunction {
  readonly logicalId: string;
  readonly service: string;
  readonly handler: string;
  readonly assetDir: string;
  readonly layerDirs: readonly string[];
  readonly environment: Record<string, string>;
}

/** The outcome of one invocation. */
export interface Invocation {
  readonly function: string;
  readonly event: string;
  readonly ok: boolean;
  readonly detail: string;
}

export class RehearsalError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RehearsalError';
  }
}

/** The stack templates of an assembly (`*.template.json`, from its manifest). */
function templatesOf(assemblyDir: string): { name: string; template: CfnTemplate }[] {
  const manifest = JSON.parse(readFileSync(join(assemblyDir, 'manifest.json'), 'utf8')) as { artifacts?: Record<string, { type: string; properties?: { templateFile?: string } }> };
  return Object.entries(manifest.artifacts ?? {})
    .filter(([, artifact]) => artifact.type === 'aws:cloudformation:stack' && artifact.properties?.templateFile !== undefined)
    .map(([name, artifact]) => ({ name, template: JSON.parse(readFileSync(join(assemblyDir, String(artifact.properties?.templateFile)), 'utf8')) as CfnTemplate }));
}

/** What a template's references resolve against: its resources and mappings, the local buckets, the assembly's exports. */
interface Locals {
  readonly resources: Record<string, Resource>;
  readonly mappings: Json;
  /** Local bucket name by the logical id of the template's bucket (shared by every template of the assembly). */
  readonly buckets: Map<string, string>;
  /** The value of each export of the assembly's stacks, resolved in the exporting stack (`Fn::ImportValue`). */
  readonly exports: ReadonlyMap<string, () => string>;
}

/** The references of one template, resolved against its own resources and the exports of every template. */
function localsOf(template: CfnTemplate, buckets: Map<string, string>, exports: ReadonlyMap<string, () => string>): Locals {
  return { resources: (template.Resources ?? {}) as Record<string, Resource>, mappings: ((template as { Mappings?: Json }).Mappings ?? {}) as Json, buckets, exports };
}

/**
 * The exports of the assembly's stacks (`Outputs.*.Export.Name`), each resolved in its own template when imported:
 * a function of the serving stack that imports the data stack's bucket gets the same local bucket as a `Ref` would.
 */
function exportsOf(templates: readonly { template: CfnTemplate }[], buckets: Map<string, string>): Map<string, () => string> {
  const exports = new Map<string, () => string>();
  for (const { template } of templates) {
    const locals = localsOf(template, buckets, exports);
    for (const output of Object.values((template.Outputs ?? {}) as Record<string, { Value?: unknown; Export?: { Name?: unknown } }>)) {
      const name = output.Export?.Name;
      if (typeof name === 'string') exports.set(name, () => resolveValue(output.Value, locals));
    }
  }
  return exports;
}

/** A template value with references resolved to the local stand-ins. */
function resolveValue(value: unknown, locals: Locals): string {
  const { resources, buckets, mappings } = locals;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value !== 'object' || value === null) return '';
  const intrinsic = value as Json;
  if ('Fn::Join' in intrinsic) {
    const [separator, parts] = intrinsic['Fn::Join'] as [string, unknown[]];
    return parts.map((part) => resolveValue(part, locals)).join(separator);
  }
  if ('Fn::FindInMap' in intrinsic) {
    const [map, key, attribute] = (intrinsic['Fn::FindInMap'] as unknown[]).map((part) => resolveValue(part, locals));
    const found = ((mappings[map ?? ''] as Record<string, Json> | undefined)?.[key ?? ''] as Json | undefined)?.[attribute ?? ''];
    if (typeof found !== 'string') throw new RehearsalError(`the mapping ${String(map)} has no ${String(key)}.${String(attribute)}`);
    return found;
  }
  if ('Fn::ImportValue' in intrinsic) {
    const name = resolveValue(intrinsic['Fn::ImportValue'], locals);
    const exported = locals.exports.get(name);
    if (exported === undefined) throw new RehearsalError(`no stack of the assembly exports ${name} (Fn::ImportValue)`);
    return exported();
  }
  const ref = intrinsic['Ref'];
  const getAtt = intrinsic['Fn::GetAtt'] as [string, string] | undefined;
  const id = typeof ref === 'string' ? ref : getAtt?.[0];
  if (id === undefined) throw new RehearsalError(`cannot map ${JSON.stringify(value)} to a local value`);
  const pseudo: Record<string, string> = { 'AWS::Region': REGION, 'AWS::AccountId': ACCOUNT, 'AWS::Partition': 'aws', 'AWS::URLSuffix': 'amazonaws.com', 'AWS::StackName': 'rehearsal' };
  if (pseudo[id] !== undefined) return pseudo[id];
  const resource = resources[id];
  switch (resource?.Type) {
    case 'AWS::DynamoDB::Table':
      return getAtt === undefined ? TABLE : `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${TABLE}`;
    case 'AWS::S3::Bucket': {
      const name = buckets.get(id) ?? `rehearsal-${id.toLowerCase().replace(/[^a-z0-9]/g, '').slice(0, 40)}`;
      buckets.set(id, name);
      return getAtt === undefined ? name : `arn:aws:s3:::${name}`;
    }
    case 'AWS::SNS::Topic':
      return `arn:aws:sns:${REGION}:${ACCOUNT}:rehearsal-${id}`;
    case 'AWS::KinesisFirehose::DeliveryStream':
      return getAtt === undefined ? `rehearsal-${id}` : `arn:aws:firehose:${REGION}:${ACCOUNT}:deliverystream/rehearsal-${id}`;
    case 'AWS::Lambda::Version':
      // The version's ARN: the function it belongs to, qualified.
      return `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${resolveValue((resource.Properties?.['FunctionName'] as Json | undefined) ?? {}, locals)}:1`;
    case 'AWS::Lambda::Function':
      return getAtt === undefined ? id : `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${id}`;
    case 'AWS::IAM::Role':
      return getAtt === undefined ? id : `arn:aws:iam::${ACCOUNT}:role/${id}`;
    default:
      throw new RehearsalError(`cannot map a reference to ${id} (${resource?.Type ?? 'not in the template'}) to a local value`);
  }
}

function functionsOf(assemblyDir: string, locals: Locals): RehearsedFunction[] {
  const { resources } = locals;
  const layerDir = (ref: unknown): string => {
    const id = String((ref as Json)['Ref']);
    const dir = assetDirectory(assemblyDir, resources[id]?.Properties?.['Content']);
    if (dir === undefined || !existsSync(dir)) throw new RehearsalError(`layer ${id} has no asset directory in ${assemblyDir}`);
    return dir;
  };
  return Object.entries(resources)
    .filter(([, resource]) => resource.Type === 'AWS::Lambda::Function')
    .map(([logicalId, resource]) => {
      const props = resource.Properties ?? {};
      const assetDir = assetDirectory(assemblyDir, props['Code']);
      if (assetDir === undefined || !existsSync(assetDir)) {
        throw new RehearsalError(`function ${logicalId}: no bundled asset in ${assemblyDir} (was the assembly synthesized with bundling?)`);
      }
      const variables = ((props['Environment'] as Json | undefined)?.['Variables'] ?? {}) as Json;
      const environment = Object.fromEntries(Object.entries(variables).map(([name, value]) => [name, resolveValue(value, locals)]));
      return {
        logicalId,
        service: environment[ENV.POWERTOOLS_SERVICE_NAME] ?? logicalId,
        handler: String(props['Handler']),
        assetDir,
        layerDirs: ((props['Layers'] ?? []) as unknown[]).map(layerDir),
        environment,
      };
    });
}

/** What runs inside the child: loads the handler as Lambda's Node.js runtime does and calls it with each event. */
const RUNNER = `
const path = require('node:path');
const fs = require('node:fs');
const [spec, eventsFile, outFile] = process.argv.slice(1);
const dot = spec.lastIndexOf('.');
const file = spec.slice(0, dot), name = spec.slice(dot + 1);
const results = [];
(async () => {
  let handler;
  try {
    const mod = require(path.resolve(file));
    handler = mod[name];
    if (typeof handler !== 'function') throw new Error('Runtime.HandlerNotFound: ' + file + '.' + name + ' is undefined or not exported');
  } catch (error) {
    fs.writeFileSync(outFile, JSON.stringify([{ ok: false, detail: String(error && error.stack || error) }]));
    process.exit(0);
  }
  for (const [i, event] of JSON.parse(fs.readFileSync(eventsFile, 'utf8')).entries()) {
    const context = { awsRequestId: 'rehearsal-' + i, functionName: process.env.AWS_LAMBDA_FUNCTION_NAME, functionVersion: '1',
      invokedFunctionArn: 'arn:aws:lambda:${REGION}:${ACCOUNT}:function:' + process.env.AWS_LAMBDA_FUNCTION_NAME, memoryLimitInMB: '1024',
      logGroupName: '/aws/lambda/rehearsal', logStreamName: 'rehearsal', getRemainingTimeInMillis: () => 60000, callbackWaitsForEmptyEventLoop: true };
    try {
      const result = await handler(event, context);
      results.push({ ok: true, result });
    } catch (error) {
      results.push({ ok: false, detail: String(error && error.stack || error) });
    }
  }
  fs.writeFileSync(outFile, JSON.stringify(results));
  process.exit(0);
})();
`;

/** A running copy of a function's asset (and layers), outside the repository. */
class LocalFunction {
  private readonly dir: string;
  private readonly layers: string[];

  public constructor(
    public readonly fn: RehearsedFunction,
    private readonly endpoints: Record<string, string>,
  ) {
    this.dir = mkdtempSync(join(tmpdir(), `rehearse-${fn.logicalId.slice(0, 30)}-`));
    cpSync(fn.assetDir, join(this.dir, 'task'), { recursive: true });
    this.layers = fn.layerDirs.map((layer, i) => {
      const target = join(this.dir, `opt${i}`);
      cpSync(layer, target, { recursive: true });
      return join(target, 'nodejs', 'node_modules');
    });
  }

  /** Invokes the handler once per event, in a fresh Node.js process with the function's environment only. */
  public async invoke(events: readonly unknown[]): Promise<{ ok: boolean; result?: unknown; detail?: string }[]> {
    const eventsFile = join(this.dir, 'events.json');
    const outFile = join(this.dir, 'out.json');
    writeFileSync(eventsFile, JSON.stringify(events));
    rmSync(outFile, { force: true });
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      ...this.fn.environment,
      ...this.endpoints,
      NODE_PATH: this.layers.join(':'),
      AWS_REGION: REGION,
      AWS_DEFAULT_REGION: REGION,
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AWS_LAMBDA_FUNCTION_NAME: this.fn.logicalId,
      AWS_LAMBDA_FUNCTION_VERSION: '1',
      AWS_XRAY_CONTEXT_MISSING: 'IGNORE_ERROR',
      POWERTOOLS_TRACE_ENABLED: 'false',
      POWERTOOLS_METRICS_DISABLED: 'true',
      [ENV.POWERTOOLS_LOG_LEVEL]: 'ERROR',
      POWERTOOLS_DEV: 'false',
    };
    const [file] = this.fn.handler.split('.');
    const stderr: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, ['-e', RUNNER, this.fn.handler, eventsFile, outFile], { cwd: join(this.dir, 'task'), env, stdio: ['ignore', 'ignore', 'pipe'] });
      child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
      child.on('error', reject);
      child.on('exit', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    if (!existsSync(outFile)) return [{ ok: false, detail: `the process of ${file} ended without an answer: ${stderr.join('').slice(-2000)}` }];
    return JSON.parse(readFileSync(outFile, 'utf8')) as { ok: boolean; result?: unknown; detail?: string }[];
  }

  public remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

async function body(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The endpoint the rehearsal's `Custom::EndpointScalingRelease` request names, and the variant it has registered. */
const REHEARSAL_ENDPOINT = 'rehearsal-endpoint';
const REHEARSAL_OLD_VARIANT = 'AllTraffic';

/**
 * The AWS APIs the functions call besides DynamoDB and S3, answered locally: Lambda Invoke (runs the invoked
 * function's asset), CodeDeploy's hook status (recorded), Firehose, EventBridge and SNS (accepted and recorded),
 * Application Auto Scaling's SageMaker targets (one registered variant), and CloudFormation's pre-signed response URL.
 */
class AwsStub {
  public readonly hookStatuses: string[] = [];
  /** What custom resource functions PUT to their `ResponseURL`. */
  public readonly cloudFormationResponses: unknown[] = [];
  public readonly calls: string[] = [];
  private server: Server | undefined;
  public url = '';
  public functions = new Map<string, LocalFunction>();

  public async start(): Promise<void> {
    this.server = createServer((request, response) => void this.handle(request, response));
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  public async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server === undefined ? resolve() : this.server.close(() => resolve())));
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const text = await body(request);
    const target = String(request.headers['x-amz-target'] ?? '');
    const json = (status: number, value: unknown, headers: Record<string, string> = {}): void => {
      response.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', ...headers });
      response.end(JSON.stringify(value));
    };
    const invoke = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/.exec(request.url ?? '');
    if (invoke !== null) {
      const name = decodeURIComponent(invoke[1] ?? '');
      const functionName = /function:([^:]+)/.exec(name)?.[1] ?? name;
      this.calls.push(`lambda:Invoke ${functionName}`);
      const fn = this.functions.get(functionName);
      if (fn === undefined) return json(404, { Type: 'User', message: `Function not found: ${name}` }, { 'x-amzn-errortype': 'ResourceNotFoundException' });
      const [outcome] = await fn.invoke([JSON.parse(text) as unknown]);
      if (outcome?.ok !== true) {
        response.writeHead(200, { 'content-type': 'application/json', 'x-amz-function-error': 'Unhandled' });
        return void response.end(JSON.stringify({ errorMessage: outcome?.detail ?? 'no answer' }));
      }
      response.writeHead(200, { 'content-type': 'application/json' });
      return void response.end(JSON.stringify(outcome.result ?? null));
    }
    if (target.endsWith('.PutLifecycleEventHookExecutionStatus')) {
      const input = JSON.parse(text) as { status: string };
      this.hookStatuses.push(input.status);
      return json(200, { lifecycleEventHookExecutionId: 'rehearsal' });
    }
    if (request.method === 'PUT' && request.url === CFN_RESPONSE_PATH) {
      this.cloudFormationResponses.push(JSON.parse(text) as unknown);
      response.writeHead(200);
      return void response.end();
    }
    if (target === 'AnyScaleFrontendService.DescribeScalableTargets') {
      this.calls.push('application-autoscaling:DescribeScalableTargets');
      return json(200, { ScalableTargets: [{ ServiceNamespace: 'sagemaker', ResourceId: `endpoint/${REHEARSAL_ENDPOINT}/variant/${REHEARSAL_OLD_VARIANT}`, ScalableDimension: 'sagemaker:variant:DesiredInstanceCount', MinCapacity: 1, MaxCapacity: 2 }] });
    }
    if (target === 'AnyScaleFrontendService.DeregisterScalableTarget') {
      this.calls.push(`application-autoscaling:DeregisterScalableTarget ${(JSON.parse(text) as { ResourceId?: string }).ResourceId ?? ''}`);
      return json(200, {});
    }
    if (target.startsWith('Firehose_')) {
      this.calls.push(`firehose:${target.split('.')[1] ?? ''}`);
      const records = (JSON.parse(text) as { Records?: unknown[] }).Records ?? [];
      return json(200, { FailedPutCount: 0, Encrypted: false, RequestResponses: records.map((_, i) => ({ RecordId: `r${i}` })) });
    }
    if (target.startsWith('AWSEvents.')) {
      this.calls.push(`events:${target.split('.')[1] ?? ''}`);
      const entries = (JSON.parse(text) as { Entries?: unknown[] }).Entries ?? [];
      return json(200, { FailedEntryCount: 0, Entries: entries.map((_, i) => ({ EventId: `e${i}` })) });
    }
    if (text.includes('Action=Publish')) {
      this.calls.push('sns:Publish');
      response.writeHead(200, { 'content-type': 'text/xml' });
      return void response.end('<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>m1</MessageId></PublishResult><ResponseMetadata><RequestId>r1</RequestId></ResponseMetadata></PublishResponse>');
    }
    this.calls.push(`unhandled ${request.method ?? ''} ${request.url ?? ''} ${target}`);
    json(400, { __type: 'UnknownOperationException', message: `the rehearsal stub does not answer ${target || request.url}` });
  }
}

type Definition = ConstructorParameters<typeof StateMachine>[0];
type JsonValue = Parameters<NonNullable<NonNullable<NonNullable<Parameters<StateMachine['run']>[1]>['overrides']>['taskResourceLocalHandlers']>[string]>[0];

/** A state machine of the template: its definition after `DefinitionSubstitutions`, with references mapped. */
interface RehearsedStateMachine {
  readonly logicalId: string;
  readonly definition: Definition;
  /** Names of its `DefinitionSubstitutions` (`PipelineFunctionArn` marks the training pipeline). */
  readonly substitutions: readonly string[];
}

function stateMachinesOf(locals: Locals): RehearsedStateMachine[] {
  const { resources } = locals;
  return Object.entries(resources)
    .filter(([, resource]) => resource.Type === 'AWS::StepFunctions::StateMachine')
    .map(([logicalId, resource]) => {
      let text = resolveValue(resource.Properties?.['DefinitionString'], locals);
      const substitutions = (resource.Properties?.['DefinitionSubstitutions'] ?? {}) as Json;
      for (const [name, value] of Object.entries(substitutions)) text = text.split(`\${${name}}`).join(resolveValue(value, locals));
      const left = /\$\{(\w+)\}/.exec(text);
      if (left !== null) throw new RehearsalError(`state machine ${logicalId}: \${${left[1] ?? ''}} has no substitution`);
      return { logicalId, definition: JSON.parse(text) as Definition, substitutions: Object.keys(substitutions) };
    });
}

/** Every Task state of a definition (inside Map states too), with its resource. */
function taskStates(definition: Definition): Map<string, string> {
  const tasks = new Map<string, string>();
  const visit = (states: Record<string, Record<string, unknown>>): void => {
    for (const [name, state] of Object.entries(states)) {
      if (state['Type'] === 'Task') tasks.set(name, String(state['Resource']));
      const processor = (state['ItemProcessor'] ?? state['Iterator']) as { States?: Record<string, Record<string, unknown>> } | undefined;
      if (processor?.States !== undefined) visit(processor.States);
    }
  };
  visit(definition.States as unknown as Record<string, Record<string, unknown>>);
  return tasks;
}

/**
 * The local handlers of a deployed definition's Task states (inside Map item processors too): each Lambda task runs
 * the asset its `FunctionName` names, SNS and EventBridge tasks are recorded, a task token's wait is answered as an
 * approval, and SageMaker tasks fail (they need AWS).
 */
function taskHandlers(machine: RehearsedStateMachine, functions: ReadonlyMap<string, LocalFunction>): Record<string, LocalTaskHandler> {
  const handlers: Record<string, LocalTaskHandler> = {};
  for (const [name, resource] of taskStates(machine.definition)) {
    if (resource.startsWith('arn:aws:states:::lambda:invoke')) {
      handlers[name] = async (task): Promise<JsonValue> => {
        const { FunctionName, Payload } = task as { FunctionName: string; Payload: unknown };
        const functionName = /function:([^:]+)/.exec(FunctionName)?.[1] ?? FunctionName;
        const fn = functions.get(functionName);
        if (fn === undefined) throw new RehearsalError(`state ${name} invokes ${FunctionName}, which is not a function of the template`);
        if (resource.endsWith('.waitForTaskToken')) return { approved: true, decided_by: 'rehearsal', reason: 'rehearsal' };
        const [outcome] = await fn.invoke([Payload]);
        if (outcome?.ok !== true) throw new RehearsalError(`function ${functionName} failed in state ${name}: ${(outcome?.detail ?? 'no answer').split('\n').slice(0, 3).join(' | ')}`);
        return { Payload: (outcome.result ?? null) as JsonValue };
      };
    } else if (resource === 'arn:aws:states:::sns:publish') {
      handlers[name] = async () => ({ MessageId: 'rehearsal' });
    } else if (resource === 'arn:aws:states:::events:putEvents') {
      handlers[name] = async (task) => ({ FailedEntryCount: 0, Entries: ((task as { Entries?: unknown[] }).Entries ?? []).map(() => ({ EventId: 'rehearsal' })) });
    } else {
      handlers[name] = async () => {
        throw new RehearsalError(`state ${name} (${resource}) needs AWS`);
      };
    }
  }
  return handlers;
}

/** Runs a definition to its end; resolves with its output, or with the problem that failed it. */
async function runToEnd(definition: Definition, handlers: Record<string, LocalTaskHandler>, input: Json): Promise<{ output: unknown } | { problem: string }> {
  const stateMachine = new StateMachine(definition, { validationOptions: { checkPaths: true, checkArn: true } });
  const retryIntervalOverrides = Object.fromEntries(Object.keys(handlers).map((name) => [name, 0]));
  try {
    return { output: await stateMachine.run(input as JsonValue, { overrides: { taskResourceLocalHandlers: handlers, retryIntervalOverrides } }).result };
  } catch (error) {
    const failure = error as { message?: string; cause?: { message?: string } };
    return { problem: `failed: ${failure.cause?.message ?? failure.message ?? String(error)}` };
  }
}

/**
 * Runs the training pipeline's state machine as deployed (its definition from the template) in aws-local-stepfunctions,
 * its tasks run by `taskHandlers` (the run uses the built-in trainer). Resolves with a problem, or undefined when the
 * run promoted a version.
 */
async function runTrainingPipeline(machine: RehearsedStateMachine, functions: ReadonlyMap<string, LocalFunction>, input: Json): Promise<string | undefined> {
  const run = await runToEnd(machine.definition, taskHandlers(machine, functions), input);
  if ('problem' in run) return run.problem;
  const promoted = (run.output as { promotion?: { result?: { mode?: string; version?: number } } } | null)?.promotion?.result;
  return promoted?.mode === 'production' && promoted.version === 1 ? undefined : `ended without promoting version 1: ${JSON.stringify(run.output).slice(0, 600)}`;
}

/**
 * Runs the batch scoring state machine as deployed: its Distributed Map through the local stand-in of
 * local/distributed-map.ts (aws-local-stepfunctions has none), which reads the job's CSV from s3rver as the ItemReader
 * would and writes the ResultWriter's manifest there, each batch scored by the batch function's asset. Resolves with a
 * problem, or undefined when the job scored every row of its input.
 */
async function runBatchScoring(
  machine: RehearsedStateMachine,
  functions: ReadonlyMap<string, LocalFunction>,
  objects: LocalMapObjects,
  input: Json,
  rows: number,
): Promise<string | undefined> {
  const handlers = taskHandlers(machine, functions);
  const { definition, handlers: mapHandlers } = localizeDistributedMaps(machine.definition, { objects, processorHandlers: handlers });
  const run = await runToEnd(definition, { ...handlers, ...mapHandlers }, input);
  if ('problem' in run) return run.problem;
  const result = run.output as { status?: string; rows_in?: number; rows_scored?: number } | null;
  return result?.status === 'succeeded' && result.rows_in === rows && result.rows_scored === rows ? undefined : `ended without scoring all ${rows} rows: ${JSON.stringify(run.output).slice(0, 600)}`;
}

/** Where custom resource functions answer CloudFormation (on the stub). */
const CFN_RESPONSE_PATH = '/cloudformation-response';

/** The events each kind of function receives in AWS (`stubUrl`: the local stand-in of the other AWS APIs). */
function eventsFor(service: string, environment: Readonly<Record<string, string>>, stubUrl: string): { name: string; event: unknown; check?: (result: unknown) => string | undefined }[] {
  const status = (result: unknown): string | undefined => {
    const code = (result as { statusCode?: number } | null)?.statusCode;
    return typeof code === 'number' && code < 500 ? undefined : `answered ${String(code)}: ${JSON.stringify(result).slice(0, 400)}`;
  };
  const scheduled = (detail: unknown) => ({
    version: '0',
    id: 'rehearsal',
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: ACCOUNT,
    time: '2026-12-01T10:00:00Z',
    region: REGION,
    resources: [`arn:aws:events:${REGION}:${ACCOUNT}:rule/rehearsal`],
    detail,
  });
  switch (service) {
    case 'inference-api':
      return ROUTES.map((route) => {
        const model = route.resource.includes('{model}') ? { model: REFERENCE_MODEL } : undefined;
        const payload = route.name === 'predict' ? { instances: [CREDIT_INSTANCE] } : route.name === 'feedback' ? { request_id: 'rehearsal-1', label: 'bad' } : undefined;
        return {
          name: `API Gateway ${route.method} ${route.resource}`,
          event: proxyEvent({ route, ...(model === undefined ? {} : { pathParameters: model }), ...(payload === undefined ? {} : { body: payload }) }),
          check: status,
        };
      });
    case 'drift-monitor':
      // The rule targets' input (lib/constructs/drift-monitor.ts): the kind, window and the event's time.
      return [
        { name: 'EventBridge schedule (hourly)', event: { kind: 'hourly', window: '1h', time: '2026-12-01T10:00:00Z' } },
        { name: 'EventBridge schedule (daily)', event: { kind: 'daily', window: '24h', time: '2026-12-01T02:00:00Z' } },
      ];
    case 'canary-watch':
      return [
        { name: 'EventBridge scheduled event', event: scheduled({}) },
        {
          name: 'CloudWatch alarm state change',
          event: {
            ...scheduled({ alarmName: 'rehearsal-canary-credit-errors', state: { value: 'ALARM', reason: 'rehearsal', timestamp: '2026-12-01T10:00:00Z' }, previousState: { value: 'OK' } }),
            'detail-type': 'CloudWatch Alarm State Change',
            source: 'aws.cloudwatch',
          },
        },
      ];
    case 'pre-traffic-hook':
      return [{ name: 'CodeDeploy lifecycle hook event', event: { DeploymentId: 'd-REHEARSAL', LifecycleEventHookExecutionId: 'rehearsal-hook' }, check: (result) => ((result as { status?: string }).status === 'Succeeded' ? undefined : `reported ${JSON.stringify(result).slice(0, 600)}`) }];
    case 'endpoint-scaling':
      // CloudFormation's custom resource request before an endpoint update that changes the instance type.
      return [
        {
          name: 'CloudFormation custom resource request (Update, new variant)',
          event: {
            RequestType: 'Update',
            ResponseURL: `${stubUrl}${CFN_RESPONSE_PATH}`,
            StackId: `arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/rehearsal/1`,
            RequestId: 'rehearsal',
            LogicalResourceId: 'RehearsalScalingRelease',
            PhysicalResourceId: `${REHEARSAL_ENDPOINT}-scaling-release`,
            ResourceType: 'Custom::EndpointScalingRelease',
            ResourceProperties: { EndpointName: REHEARSAL_ENDPOINT, VariantName: 'ml-g5-xlarge' },
            OldResourceProperties: { EndpointName: REHEARSAL_ENDPOINT, VariantName: REHEARSAL_OLD_VARIANT },
          },
          check: (result) => {
            const answer = result as { Status?: string; Data?: { Released?: string } } | null;
            return answer?.Status === 'SUCCESS' && answer.Data?.Released === REHEARSAL_OLD_VARIANT ? undefined : `answered ${JSON.stringify(result).slice(0, 400)}`;
          },
        },
      ];
    case 'training-pipeline':
      // A Step Functions task input of the first step (the state machine's Payload).
      return [
        {
          name: 'Step Functions task input (validate_data)',
          event: { step: 'validate_data', run: { model: REFERENCE_MODEL, dataset: { key: REHEARSAL_DATASET_KEY }, target: 'Status', positive_label: 'bad', requested_by: 'rehearsal' } },
        },
      ];
    case 'batch-scoring': {
      // The batch state machine's first task (step-functions/batch-scoring.asl.json): plan a job over the batch bucket.
      const bucket = (environment[ENV.BATCH_BUCKET_NAMES] ?? '').split(',')[0] ?? '';
      return [
        {
          name: 'Step Functions task input (plan)',
          event: { step: 'plan', job: { model: REFERENCE_MODEL, input: `s3://${bucket}/${REHEARSAL_BATCH_PREFIX}`, output: `s3://${bucket}/rehearsal/out/` } },
          check: (result) => ((result as { objects?: unknown[] } | null)?.objects?.length === 1 ? undefined : `planned ${JSON.stringify(result).slice(0, 400)}`),
        },
      ];
    }
    default:
      return [];
  }
}

/**
 * Rehearses every function of every stack template of the assembly. Resolves with the invocations when all of them
 * worked; rejects with a RehearsalError naming each function that did not.
 */
export async function rehearse(
  assemblyDir: string,
  options: {
    readonly log?: (line: string) => void;
    /** Rehearses only the functions whose logical id it accepts. @default - every function */
    readonly only?: (logicalId: string) => boolean;
  } = {},
): Promise<Invocation[]> {
  const log = options.log ?? (() => {});
  const dataDir = mkdtempSync(join(tmpdir(), 'rehearse-data-'));
  const buckets = new Map<string, string>();
  const templates = templatesOf(assemblyDir);
  // References across stacks (the serving stack's imports of the data stack's buckets and table) resolve in the
  // exporting template, to the same local stand-ins as references within a stack.
  const exports = exportsOf(templates, buckets);
  const functions = templates.flatMap(({ template }) => functionsOf(assemblyDir, localsOf(template, buckets, exports)));
  const stateMachines = templates.flatMap(({ template }) => stateMachinesOf(localsOf(template, buckets, exports)));
  const limitProblems = templates.flatMap(({ name, template }) => checkTemplateLimits(template, { assemblyDir }).map((problem) => `${name}: ${problem}`));
  let dynalite: RunningEmulator | undefined;
  let dynamo: RunningEmulator | undefined;
  let s3: RunningEmulator | undefined;
  const stub = new AwsStub();
  const running: LocalFunction[] = [];
  const invocations: Invocation[] = [];
  try {
    dynalite = await startDynamoDb(dataDir);
    // dynalite lacks DynamoDB transactions (the registry's promotions use them); the local platform's proxy adds them.
    dynamo = await startTransactionProxy(dynalite);
    s3 = await startS3(dataDir, [...buckets.values()]);
    await stub.start();
    const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
    const dynamoClient = new DynamoDBClient({ endpoint: dynamo.endpoint, region: REGION, credentials });
    const s3Client = new S3Client({ endpoint: s3.endpoint, region: REGION, credentials, forcePathStyle: true });
    await ensureRegistryTable(dynamoClient, TABLE);
    for (const bucket of buckets.values()) await s3Client.send(new CreateBucketCommand({ Bucket: bucket })).catch(() => undefined);
    // The reference model, registered and promoted as `npm start` does, in the bucket the predict function reads.
    const predict = functions.find((fn) => fn.service === 'inference-api');
    const artifactBucket = predict?.environment[ENV.ARTIFACT_BUCKET_NAME];
    if (artifactBucket !== undefined) {
      await seedReferenceModel(new RegistryService({ store: new DynamoDbRegistry(DynamoDBDocumentClient.from(dynamoClient), TABLE) }), new S3ArtifactStore(s3Client, artifactBucket));
    }
    if (artifactBucket !== undefined) {
      const csv = readFileSync(join(PROJECT_ROOT, 'examples', 'credit', 'credit_data.csv'));
      await s3Client.send(new PutObjectCommand({ Bucket: artifactBucket, Key: REHEARSAL_DATASET_KEY, Body: csv }));
      // Where `mlops train` puts a data set (content-addressed), for the state machine's run.
      await s3Client.send(new PutObjectCommand({ Bucket: artifactBucket, Key: datasetKey(PIPELINE_MODEL, createHash('sha256').update(csv).digest('hex')), Body: csv }));
    }
    const batchBucket = functions.find((fn) => fn.service === 'batch-scoring')?.environment[ENV.BATCH_BUCKET_NAMES]?.split(',')[0];
    if (batchBucket !== undefined) {
      const rows = readFileSync(join(PROJECT_ROOT, 'examples', 'credit', 'credit_data.csv'), 'utf8').split('\n').slice(0, REHEARSAL_BATCH_ROWS + 1).join('\n');
      await s3Client.send(new PutObjectCommand({ Bucket: batchBucket, Key: `${REHEARSAL_BATCH_PREFIX}credit.csv`, Body: rows }));
    }
    dynamoClient.destroy();
    s3Client.destroy();

    const endpoints = {
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      AWS_ENDPOINT_URL_S3: s3.endpoint,
      AWS_ENDPOINT_URL_LAMBDA: stub.url,
      AWS_ENDPOINT_URL_CODEDEPLOY: stub.url,
      AWS_ENDPOINT_URL_FIREHOSE: stub.url,
      AWS_ENDPOINT_URL_EVENTBRIDGE: stub.url,
      AWS_ENDPOINT_URL_SNS: stub.url,
      AWS_ENDPOINT_URL_APPLICATION_AUTO_SCALING: stub.url,
    };
    for (const fn of functions) {
      const local = new LocalFunction(fn, endpoints);
      running.push(local);
      stub.functions.set(fn.logicalId, local);
    }
    for (const local of running) {
      if (options.only !== undefined && !options.only(local.fn.logicalId)) continue;
      const events = eventsFor(local.fn.service, local.fn.environment, stub.url);
      if (events.length === 0) {
        invocations.push({ function: local.fn.logicalId, event: '(none)', ok: false, detail: `no event shape is known for service ${local.fn.service}` });
        continue;
      }
      const outcomes = await local.invoke(events.map((e) => e.event));
      events.forEach((event, i) => {
        const outcome = outcomes[i] ?? outcomes[0];
        const problem = outcome?.ok === true ? event.check?.(outcome.result) : (outcome?.detail ?? 'no answer');
        invocations.push({ function: local.fn.logicalId, event: event.name, ok: problem === undefined, detail: problem ?? 'ok' });
        log(`${problem === undefined ? 'ok  ' : 'FAIL'} ${local.fn.logicalId} (${local.fn.service}) <- ${event.name}${problem === undefined ? '' : `: ${problem.split('\n')[0] ?? ''}`}`);
      });
    }
    // The training pipeline's state machine as deployed, its Lambda tasks run by the assets above.
    const byName = new Map(running.map((local) => [local.fn.logicalId, local]));
    for (const machine of stateMachines) {
      if (options.only !== undefined && !options.only(machine.logicalId)) continue;
      if (!machine.substitutions.includes('PipelineFunctionArn')) {
        const bucket = batchBucket ?? '';
        const objects = new S3BatchObjects(new S3Client({ endpoint: s3.endpoint, region: REGION, credentials, forcePathStyle: true }));
        const problem = await runBatchScoring(
          machine,
          byName,
          objects,
          { model: REFERENCE_MODEL, input: `s3://${bucket}/${REHEARSAL_BATCH_PREFIX}`, output: `s3://${bucket}/rehearsal/out/`, job_id: 'rehearsal' },
          REHEARSAL_BATCH_ROWS,
        );
        invocations.push({ function: machine.logicalId, event: 'Step Functions execution (batch job)', ok: problem === undefined, detail: problem ?? 'ok' });
        log(`${problem === undefined ? 'ok  ' : 'FAIL'} ${machine.logicalId} (state machine) <- a batch job${problem === undefined ? '' : `: ${problem.split('\n')[0] ?? ''}`}`);
        continue;
      }
      const csv = readFileSync(join(PROJECT_ROOT, 'examples', 'credit', 'credit_data.csv'));
      const sha256 = createHash('sha256').update(csv).digest('hex');
      const problem = await runTrainingPipeline(machine, byName, {
        model: PIPELINE_MODEL,
        dataset: { key: datasetKey(PIPELINE_MODEL, sha256), sha256 },
        target: 'Status',
        positive_label: 'bad',
        trainer: 'logreg',
        promotion_mode: 'production',
        approval_required: false,
        requested_by: 'rehearsal',
      });
      invocations.push({ function: machine.logicalId, event: 'Step Functions execution (logreg run)', ok: problem === undefined, detail: problem ?? 'ok' });
      log(`${problem === undefined ? 'ok  ' : 'FAIL'} ${machine.logicalId} (state machine) <- a training run${problem === undefined ? '' : `: ${problem.split('\n')[0] ?? ''}`}`);
    }
  } finally {
    for (const local of running) local.remove();
    await stub.stop();
    await s3?.close();
    await dynamo?.close();
    await dynalite?.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
  const failed = invocations.filter((invocation) => !invocation.ok);
  if (failed.length > 0 || limitProblems.length > 0) {
    throw new RehearsalError(
      [
        ...failed.map((invocation) => `${invocation.event.startsWith('Step Functions execution') ? 'state machine' : 'function'} ${invocation.function} failed on ${invocation.event}: ${invocation.detail.split('\n').slice(0, 3).join(' | ')}`),
        ...limitProblems.map((problem) => `aws limit: ${problem}`),
      ].join('\n'),
    );
  }
  return invocations;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const index = process.argv.indexOf('--assembly');
  let assembly = index > 0 ? process.argv[index + 1] : undefined;
  if (assembly === undefined) {
    assembly = join(PROJECT_ROOT, 'cdk.out');
    console.log('synthesizing the cloud assembly (cdk synth) ...');
    execFileSync(process.execPath, [join(PROJECT_ROOT, 'node_modules', 'aws-cdk', 'bin', 'cdk'), 'synth', '--quiet', '-o', assembly], { cwd: PROJECT_ROOT, stdio: 'inherit' });
  }
  rehearse(assembly, { log: (line) => console.log(line) })
    .then((invocations) => {
      const machines = new Set(invocations.filter((i) => i.event.startsWith('Step Functions execution')).map((i) => i.function));
      const functions = new Set(invocations.map((i) => i.function).filter((id) => !machines.has(id)));
      console.log(`rehearsal passed: ${invocations.length} invocations of ${functions.size} functions and ${machines.size} state machine run`);
    })
    .catch((error: unknown) => {
      console.error(error instanceof RehearsalError ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error));
      process.exit(1);
    });
}
