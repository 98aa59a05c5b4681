import { randomUUID } from 'node:crypto';
import { InvalidArgumentError, type Command } from 'commander';
import type { Session } from '../context.ts';
import { CliError } from '../errors.ts';
import { emit } from '../output.ts';

/**
 * `mlops batch score --model M [--version N] --input s3://bucket/in/ --output s3://bucket/out/`: scores every CSV and
 * JSON lines object under the input prefix with the batch state machine and waits for its manifest. With `--local`,
 * `--input` may be a file or folder and `--output` a folder: they go through the local batch bucket.
 */

interface ScoreOptions {
  readonly model: string;
  readonly version?: number;
  readonly input: string;
  readonly output: string;
  readonly wait: boolean;
}

function parseVersion(value: string): number {
  const version = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(version) || version < 1) throw new InvalidArgumentError('a version is a whole number from 1 up.');
  return version;
}

const isS3 = (value: string) => value.startsWith('s3://');

export function batchCommand(program: Command, session: Session): void {
  const batch = program.command('batch').description('batch scoring of S3 objects (CSV or JSON lines) with a Distributed Map');
  batch
    .command('score')
    .description('score every CSV / JSON lines object under --input with a model version; scored rows, errors.csv and manifest.json go under --output')
    .requiredOption('-m, --model <name>', 'the model')
    .option('-v, --version <n>', 'the version (default: production)', parseVersion)
    .requiredOption('--input <uri>', 's3://bucket/prefix/ of the input objects (with --local: also a file or folder)')
    .requiredOption('--output <uri>', 's3://bucket/prefix/ for the results (with --local: also a folder)')
    .option('--no-wait', 'start the job and print its id without waiting')
    .action(async (options: ScoreOptions, command: Command) => {
      const context = session.context(command);
      // Checked before connecting: a wrong call never waits on AWS.
      if ((command.optsWithGlobals() as { local?: boolean }).local !== true && (!isS3(options.input) || !isS3(options.output))) {
        throw new CliError('--input and --output are s3://bucket/prefix/ URIs (files and folders work with --local)', 2);
      }
      const connection = await context.connect();
      const client = await connection.batch();
      const jobId = randomUUID();
      const input = isS3(options.input) ? options.input : await (client.upload as NonNullable<typeof client.upload>)(options.input, `cli/${jobId}/input/`);
      const outputDir = isS3(options.output) ? undefined : options.output;
      const output = outputDir === undefined ? options.output : `s3://${(input.split('/')[2] as string)}/cli/${jobId}/output/`;
      const id = await client.start({
        job_id: jobId,
        model: options.model,
        ...(options.version === undefined ? {} : { version: options.version }),
        input,
        output,
        requested_by: context.actor,
      });
      if (!options.wait) {
        emit(context.io, context.json, { job_id: jobId, id, input, output }, () => `started batch job ${jobId} (${id}) of model ${options.model}: ${input} → ${output}\n`);
        return;
      }
      let snapshot = await client.get(client.local ? jobId : id);
      while (snapshot.status === 'running') {
        await context.sleep(client.pollMs);
        snapshot = await client.get(client.local ? jobId : id);
      }
      const files = outputDir !== undefined && client.download !== undefined ? await client.download(output, outputDir) : undefined;
      const summary = (snapshot.output ?? snapshot.summary) as Record<string, unknown> | undefined;
      const report = { job_id: jobId, status: snapshot.status, ...(summary ?? {}), ...(files === undefined ? {} : { files }), ...(snapshot.error === undefined ? {} : { error_detail: snapshot.error }) };
      emit(context.io, context.json, report, () => {
        const lines = [`batch job ${jobId}: ${snapshot.status}`];
        if (summary !== undefined && typeof summary['rows_in'] === 'number') {
          lines.push(
            `  model ${String(summary['model'])} version ${String(summary['model_version'])} (artifact ${String(summary['artifact_sha256']).slice(0, 12)})`,
            `  rows in ${String(summary['rows_in'])}, scored ${String(summary['rows_scored'])}, refused ${String(summary['rows_refused'])} ${JSON.stringify(summary['refused_by_code'] ?? {})}`,
            `  manifest ${String(summary['manifest'])}`,
          );
        }
        if (snapshot.error !== undefined) lines.push(`  ${snapshot.error.name}: ${snapshot.error.message}`);
        if (files !== undefined) lines.push(`  written to ${outputDir as string}: ${files.length} files`);
        return `${lines.join('\n')}\n`;
      });
      if (snapshot.status === 'failed') throw new CliError(`batch job ${jobId} failed (see its manifest and errors.csv)`);
    });
}
