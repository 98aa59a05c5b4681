import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { Session } from '../context.ts';
import { CliError } from '../errors.ts';
import { emit, formatFields, formatTable } from '../output.ts';
import { callPredict } from '../predict-client.ts';
import { asError } from '#core/errors.ts';

/** `mlops predict --model credit --instances '[{…}]'`: scores rows through the inference API. */

interface PredictOptions {
  readonly model: string;
  readonly instances?: string;
  readonly file?: string;
  readonly requestId?: string;
}

/** Accepts `[{…}, …]`, `{ "instances": […] }` or a single `{…}` row. */
export function parseInstances(text: string, source: string): unknown[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new CliError(`${source} is not valid JSON: ${asError(error).message}`);
  }
  if (Array.isArray(value)) return value;
  if (typeof value === 'object' && value !== null) {
    const instances = (value as { instances?: unknown }).instances;
    if (Array.isArray(instances)) return instances;
    if (instances === undefined) return [value];
  }
  throw new CliError(`${source} must hold an array of rows, a {"instances": [...]} object or one row object`);
}

function readInput(options: PredictOptions, cwd: string): unknown[] {
  if ((options.instances === undefined) === (options.file === undefined)) {
    throw new CliError('give the rows with exactly one of --instances JSON or --file FILE', 2);
  }
  if (options.instances !== undefined) return parseInstances(options.instances, '--instances');
  const file = options.file as string;
  let text: string;
  try {
    text = file === '-' ? readFileSync(0, 'utf8') : readFileSync(resolve(cwd, file), 'utf8');
  } catch (error) {
    throw new CliError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? asError(error).message}`);
  }
  return parseInstances(text, file);
}

export function predictCommand(program: Command, session: Session): void {
  program
    .command('predict')
    .description('score rows with the version that serves the model (through the inference API)')
    .requiredOption('-m, --model <name>', 'model name')
    .option('--instances <json>', 'the rows as JSON: [{...}, ...] or {"instances": [...]}')
    .option('-f, --file <file>', 'read the rows as JSON from a file (- for standard input)')
    .option('--request-id <id>', 'x-request-id; pins the request to one side of a canary split')
    .action(async (options: PredictOptions, command: Command) => {
      const context = session.context(command);
      const instances = readInput(options, context.cwd);
      const connection = await context.connect();
      const answer = await callPredict(await connection.api(), options.model, instances, {
        ...(options.requestId === undefined ? {} : { requestId: options.requestId }),
      });
      emit(context.io, context.json, answer, () =>
        [
          formatFields([
            ['model', answer.model],
            ['version', answer.model_version],
            ['variant', answer.variant],
          ]),
          formatTable(
            ['row', 'label', 'probability'],
            answer.predictions.map((p, i) => [i, p.label, Number(p.probability.toFixed(6))]),
          ),
        ].join('\n'),
      );
    });
}
