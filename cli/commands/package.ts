import { createHash } from 'node:crypto';
import { InvalidArgumentError, type Command } from 'commander';
import { packageForSageMaker } from '#core/packaging/sagemaker-package.ts';
import { SAGEMAKER_ENDPOINT_NAME_PATTERN } from '#core/registry/records.ts';
import { writeEndpointBinding } from '#core/packaging/endpoint-bindings.ts';
import { parseVersion } from '../arguments.ts';
import type { Session } from '../context.ts';
import { CliError } from '../errors.ts';
import { emit } from '../output.ts';

/**
 * `mlops package --model M --version V --target sagemaker`: writes the version's Triton `model.tar.gz` to the
 * artifact bucket (`sagemaker/{model}/{version}/model.tar.gz`). With `--local`, it also binds the package to the
 * version's endpoint on the local SageMaker-runtime server, which is what CreateEndpoint does in AWS.
 */

interface PackageOptions {
  readonly model: string;
  readonly version: number;
  readonly target: string;
  readonly endpoint?: string;
  readonly maxBatchSize?: number;
}

function parseBatchSize(value: string): number {
  const size = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(size) || size < 1) throw new InvalidArgumentError('a batch size is a whole number from 1 up.');
  return size;
}

function parseEndpoint(value: string): string {
  if (!SAGEMAKER_ENDPOINT_NAME_PATTERN.test(value)) {
    throw new InvalidArgumentError('an endpoint name is 1-63 letters, digits or dashes, starting and ending with a letter or digit.');
  }
  return value;
}

export function packageCommand(program: Command, session: Session): void {
  program
    .command('package')
    .description("write a version's serving package: model.tar.gz in Triton's model-repository layout, for a SageMaker endpoint")
    .requiredOption('-m, --model <name>', 'model name')
    .requiredOption('-v, --version <n>', 'version to package', parseVersion)
    .requiredOption('--target <target>', 'what to package for: sagemaker')
    .option('--endpoint <name>', "the endpoint the package is for (default: the version's serving target)", parseEndpoint)
    .option('--max-batch-size <rows>', "Triton's max_batch_size (default 1000)", parseBatchSize)
    .action(async (options: PackageOptions, command: Command) => {
      if (options.target !== 'sagemaker') throw new CliError(`--target must be sagemaker (the only packaged target), got "${options.target}"`, 2);
      const context = session.context(command);
      const connection = await context.connect();
      const result = await packageForSageMaker(
        { model: options.model, version: options.version, ...(options.maxBatchSize === undefined ? {} : { maxBatchSize: options.maxBatchSize }) },
        { registry: connection.registry, artifacts: connection.artifacts, sha256: (bytes) => createHash('sha256').update(bytes).digest('hex') },
      );
      const endpoint = options.endpoint ?? (result.serving_target.kind === 'sagemaker' ? result.serving_target.endpoint_name : undefined);
      const bound = connection.local && endpoint !== undefined;
      if (bound) {
        await writeEndpointBinding(connection.artifacts, {
          endpoint_name: endpoint,
          model: result.model,
          version: result.version,
          package_key: result.key,
          package_sha256: result.sha256,
        });
      }
      emit(context.io, context.json, { ...result, endpoint_name: endpoint ?? null, bound_locally: bound }, () =>
        [
          `${result.model}: packaged version ${result.version} for SageMaker (Triton): ${result.key} in the artifact bucket`,
          `  ✓ ${result.size_bytes} bytes, sha256 ${result.sha256}`,
          `  ✓ ${result.model}/config.pbtxt and ${result.model}/1/model.onnx`,
          result.serving_target.kind === 'sagemaker'
            ? `  ✓ the version serves from endpoint "${result.serving_target.endpoint_name}"`
            : '  ! the version serves in the Lambda: register the artifact with --target sagemaker --endpoint NAME to route it to an endpoint',
          bound
            ? `  ✓ the local SageMaker runtime now serves it as endpoint "${endpoint}"`
            : `  next: set sagemakerServing.endpoints.<name> to { "model": "${result.model}", "version": ${result.version} } and npx cdk deploy (docs/gpu.md)`,
        ].join('\n') + '\n',
      );
    });
}
