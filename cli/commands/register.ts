import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { OnnxArtifactInspector } from '#adapters/onnx-artifact-inspector.ts';
import { RequestValidationError, asError } from '#core/errors.ts';
import { parseModelMetadata } from '#core/model/metadata-validation.ts';
import { parseXgboostModelBytes } from '#core/onnx/xgboost-binary.ts';
import { xgboostToOnnx, XgboostModelError } from '#core/onnx/xgboost-model.ts';
import { DEFAULT_LAMBDA_MAX_ARTIFACT_BYTES, registerArtifact } from '#core/registry/registration.ts';
import type { ServingTarget } from '#core/registry/records.ts';
import type { Session } from '../context.ts';
import { CliError } from '../errors.ts';
import { emit } from '../output.ts';

/**
 * `mlops register --model credit --onnx model.onnx --metadata metadata.json`: checks the
 * artifact against its metadata, uploads it content-addressed and adds a candidate version.
 * `--xgboost model.json` instead of `--onnx` converts an XGBoost model (JSON model format, or the legacy binary one
 * that SageMaker's built-in algorithm writes as `xgboost-model`; binary logistic) trained elsewhere into the same ONNX
 * tree ensemble first, fed by the metadata's preprocessing.
 */

interface RegisterOptions {
  readonly model: string;
  readonly onnx?: string;
  readonly xgboost?: string;
  readonly metadata: string;
  readonly description?: string;
  readonly reason?: string;
  readonly clientToken?: string;
  readonly target: string;
  readonly endpoint?: string;
  readonly maxLambdaArtifactBytes?: number;
}

function parseBytes(value: string): number {
  const bytes = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(bytes) || bytes < 1) throw new InvalidArgumentError('a size is a whole number of bytes from 1 up.');
  return bytes;
}

/** `--target lambda` (the default) or `--target sagemaker --endpoint NAME`. */
function servingTarget(options: RegisterOptions): ServingTarget {
  if (options.target === 'lambda') {
    if (options.endpoint !== undefined) throw new CliError('--endpoint goes with --target sagemaker', 2);
    return { kind: 'lambda' };
  }
  if (options.target === 'sagemaker') {
    if (options.endpoint === undefined) throw new CliError('--target sagemaker needs --endpoint NAME (the SageMaker endpoint that serves it)', 2);
    return { kind: 'sagemaker', endpoint_name: options.endpoint };
  }
  throw new CliError(`--target must be lambda or sagemaker, got "${options.target}"`, 2);
}

function readFile(path: string, cwd: string, what: string): Buffer {
  try {
    return readFileSync(resolve(cwd, path));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new CliError(code === 'ENOENT' ? `${what} ${path} does not exist` : `cannot read ${what} ${path}: ${code ?? asError(error).message}`);
  }
}

function readJson(path: string, cwd: string, what = 'metadata file'): unknown {
  const text = readFile(path, cwd, what).toString('utf8');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new CliError(`${what} ${path} is not valid JSON: ${asError(error).message}`);
  }
}

/**
 * The ONNX bytes to register: the `--onnx` file as it is, or the `--xgboost` model converted with the metadata's
 * preprocessing (a metadata breakage is reported by registration itself, with the same message as for `--onnx`).
 */
function artifactBytes(options: RegisterOptions, metadata: unknown, cwd: string): Uint8Array {
  if ((options.onnx === undefined) === (options.xgboost === undefined)) {
    throw new CliError('give the artifact as exactly one of --onnx FILE or --xgboost FILE', 2);
  }
  if (options.onnx !== undefined) {
    const bytes = readFile(options.onnx, cwd, 'ONNX file');
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  const path = options.xgboost as string;
  const model = readFile(path, cwd, 'XGBoost model file');
  try {
    // Its JSON model format, or the legacy binary one (SageMaker's built-in algorithm's `xgboost-model`).
    return xgboostToOnnx(parseXgboostModelBytes(new Uint8Array(model.buffer, model.byteOffset, model.byteLength)), parseModelMetadata(metadata).preprocessing);
  } catch (error) {
    if (error instanceof XgboostModelError) throw new CliError(`${path}: ${error.message}`);
    if (error instanceof RequestValidationError) throw new CliError(error.message);
    throw error;
  }
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function registerCommand(program: Command, session: Session): void {
  program
    .command('register')
    .description('register an ONNX artifact (or an XGBoost model) and its metadata as a new candidate version (same bytes: the existing version)')
    .requiredOption('-m, --model <name>', 'model name (created on first use)')
    .option('--onnx <file>', 'the ONNX artifact (model.onnx)')
    .option('--xgboost <file>', 'instead of --onnx: an XGBoost model (binary:logistic) in its JSON format or the legacy binary one (xgboost-model), converted to ONNX')
    .requiredOption('--metadata <file>', 'its metadata (metadata.json, as the trainer writes it)')
    .option('--description <text>', "the model's description")
    .option('--reason <text>', 'why, recorded in the audit trail')
    .option('--client-token <token>', 'idempotency token: a retry with the same token changes nothing twice')
    .option('--target <target>', 'where the version is scored: lambda (the predict function) or sagemaker (an endpoint)', 'lambda')
    .option('--endpoint <name>', 'with --target sagemaker: the SageMaker endpoint that serves the version')
    .option(
      '--max-lambda-artifact-bytes <bytes>',
      `largest artifact served by the Lambda (default: the stack's LambdaMaxArtifactBytes output, else ${DEFAULT_LAMBDA_MAX_ARTIFACT_BYTES})`,
      parseBytes,
    )
    .action(async (options: RegisterOptions, command: Command) => {
      const target = servingTarget(options);
      const context = session.context(command);
      const metadata = readJson(options.metadata, context.cwd);
      const bytes = artifactBytes(options, metadata, context.cwd);
      const { registry, artifacts, lambdaMaxArtifactBytes } = await context.connect();
      const result = await registerArtifact(
        {
          model: options.model,
          bytes,
          metadata,
          actor: context.actor,
          ...(options.description === undefined ? {} : { description: options.description }),
          ...(options.reason === undefined ? {} : { reason: options.reason }),
          ...(options.clientToken === undefined ? {} : { clientToken: options.clientToken }),
          servingTarget: target,
          maxLambdaArtifactBytes: options.maxLambdaArtifactBytes ?? lambdaMaxArtifactBytes ?? DEFAULT_LAMBDA_MAX_ARTIFACT_BYTES,
        },
        { inspector: new OnnxArtifactInspector(), artifacts, registry, sha256 },
      );
      const { version } = result;
      emit(context.io, context.json, { deduplicated: result.deduplicated, checks: result.checks, version }, () =>
        [
          result.deduplicated
            ? `${version.model}: already registered as version ${version.version} (${version.stage}); nothing new was registered`
            : `${version.model}: registered version ${version.version} as a ${version.stage}`,
          ...result.checks.map((check) => `  ✓ ${check}`),
        ].join('\n') + '\n',
      );
    });
}
