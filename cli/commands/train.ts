import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { type Command, Option } from 'commander';
import { datasetKey } from '#core/pipeline/run.ts';
import { parameterProblem } from '#contracts/hyperparameters.ts';
import { TRAINERS, type TrainerKind } from '#contracts/pipeline.ts';
import { type DecisionThresholdArgument, collectParameter, parseSeeds, parseShare, parseThresholdPolicy } from '../arguments.ts';
import type { Session } from '../context.ts';
import { CliError } from '../errors.ts';
import type { RunInput } from '../pipeline-client.ts';
import { followRun, reportRun, summarizeRun } from '../run-report.ts';
import { emit } from '../output.ts';
import { asError } from '#core/errors.ts';

/**
 * `mlops train --data credit.csv --target Status --positive bad --model credit`: uploads the
 * data content-addressed to the artifact bucket, starts a training pipeline run and follows it
 * to its outcome. Exit code 0 when promoted (or registered, awaiting a canary), 3 when rejected by the gate or the
 * approver, 1 when it failed.
 */

interface TrainOptions {
  readonly data: string;
  readonly target: string;
  readonly positive: string;
  readonly model: string;
  readonly trainer?: TrainerKind;
  readonly seeds?: number[];
  readonly approval?: boolean;
  readonly canary?: number;
  readonly param?: Record<string, number>;
  readonly thresholdPolicy?: DecisionThresholdArgument;
  readonly classWeight?: 'none' | 'balanced';
  readonly missingTokens?: string;
  readonly reason?: string;
  readonly wait: boolean;
}

function readData(path: string, cwd: string): Uint8Array {
  try {
    const bytes = readFileSync(resolve(cwd, path));
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new CliError(code === 'ENOENT' ? `data file ${path} does not exist` : `cannot read data file ${path}: ${code ?? asError(error).message}`);
  }
}

/**
 * Refuses a `--param` the named `--trainer` does not take, before anything is uploaded (the pipeline's first step
 * refuses it too, and is the check when the trainer comes from the pipeline config).
 */
function checkParameters(options: TrainOptions): void {
  if (options.trainer === undefined) return;
  for (const [name, value] of Object.entries(options.param ?? {})) {
    const problem = parameterProblem(options.trainer, name, value, { classWeight: options.classWeight ?? 'none' });
    if (problem !== undefined) throw new CliError(`--param ${name}=${value}: ${name} ${problem.message}`, 2);
  }
}

export function trainCommand(program: Command, session: Session): void {
  program
    .command('train')
    .description('train a model on a CSV file with the training pipeline: validate, train, evaluate, gate, register, promote')
    .requiredOption('--data <file>', 'the training data (CSV with a header row)')
    .requiredOption('--target <column>', 'the column to predict')
    .requiredOption('--positive <value>', 'the value of the target column that is the positive class')
    .requiredOption('-m, --model <name>', 'model name (created on first use)')
    .addOption(new Option('--trainer <kind>', "trainer (default: the pipeline config's, logreg)").choices(TRAINERS))
    .option('--seeds <list>', 'train once per seed and check the spread, e.g. 1,2,3', parseSeeds)
    .option('--approval', 'wait for a person to approve (mlops approve|reject ID) before registering')
    .option('--no-approval', 'register without approval even if the config asks for it')
    .option('--canary <share>', 'promote as a canary answering this share (0.1 or 10%) instead of to production', parseShare)
    .option('--param <name=value>', 'a trainer parameter, repeatable (e.g. --param l2=0.5)', collectParameter)
    .option(
      '--threshold-policy <policy>',
      'how the decision threshold is chosen on out-of-fold training scores: maxF1 (default), youden, targetRecall:0.8, cost:FP:FN, fixed:0.5',
      parseThresholdPolicy,
    )
    .addOption(new Option('--class-weight <weighting>', 'class weights in the loss: balanced weighs each class by rows / (2 × its rows)').choices(['none', 'balanced']))
    .option('--missing-tokens <list>', "comma-separated cells read as missing in a numeric column, besides empty ones (default: the pipeline config's pipeline.defaults.missingTokens)")
    .option('--reason <text>', 'why, recorded in the audit trail')
    .option('--no-wait', 'start the run and print its id without following it')
    .action(async (options: TrainOptions, command: Command) => {
      const context = session.context(command);
      checkParameters(options);
      const bytes = readData(options.data, context.cwd);
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      const key = datasetKey(options.model, sha256);
      const connection = await context.connect();
      const pipeline = await connection.pipeline();
      await connection.artifacts.putArtifact(key, bytes, sha256, 'text/csv');
      const input: RunInput = {
        run_id: randomUUID(),
        model: options.model,
        dataset: { key, sha256 },
        target: options.target,
        positive_label: options.positive,
        requested_by: context.actor,
        ...(options.trainer === undefined ? {} : { trainer: options.trainer }),
        ...(options.seeds === undefined ? {} : { seeds: options.seeds }),
        ...(options.param === undefined ? {} : { parameters: options.param }),
        ...(options.thresholdPolicy === undefined ? {} : { decision_threshold: options.thresholdPolicy }),
        ...(options.classWeight === undefined ? {} : { class_weight: options.classWeight }),
        ...(options.missingTokens === undefined ? {} : { missing_tokens: options.missingTokens.split(',') }),
        ...(options.approval === undefined ? {} : { approval_required: options.approval }),
        ...(options.canary === undefined ? {} : { promotion_mode: 'canary' as const, canary_share: options.canary }),
        ...(options.reason === undefined ? {} : { reason: options.reason }),
      };
      const runId = await pipeline.start(input);
      if (!options.wait) {
        const report = summarizeRun({ run_id: runId, status: 'running', progress: [] });
        emit(context.io, context.json, report, () => `started training run ${runId} of model ${options.model} (follow it: mlops${pipeline.local ? ' --local' : ''} runs get ${runId} --wait)\n`);
        return;
      }
      if (!context.json) context.io.stderr(`training run ${runId} of model ${options.model} on ${key}\n`);
      const snapshot = await followRun(context, pipeline, runId);
      reportRun(context, pipeline, snapshot, { failOnFailure: true, failOnRejection: true });
    });
}
