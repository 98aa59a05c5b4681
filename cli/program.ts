import { Command, CommanderError, Option } from 'commander';
import { approveCommand } from './commands/approve.ts';
import { canaryCommand } from './commands/canary.ts';
import { describeCommand } from './commands/describe.ts';
import { doctorCommand } from './commands/doctor.ts';
import { driftCommand } from './commands/drift.ts';
import { keysCommand } from './commands/keys.ts';
import { historyCommand } from './commands/history.ts';
import { listCommand } from './commands/list.ts';
import { packageCommand } from './commands/package.ts';
import { predictCommand } from './commands/predict.ts';
import { promoteCommand } from './commands/promote.ts';
import { registerCommand } from './commands/register.ts';
import { batchCommand } from './commands/batch.ts';
import { retireCommands } from './commands/retire.ts';
import { rollbackCommand } from './commands/rollback.ts';
import { runsCommand } from './commands/runs.ts';
import { shadowCommand } from './commands/shadow.ts';
import { trainCommand } from './commands/train.ts';
import { versionsCommand } from './commands/versions.ts';
import { Session, type RunEnvironment } from './context.ts';
import { CliError, describeError } from './errors.ts';
import { editDistance } from '#contracts/suggest.ts';

/**
 * The `mlops` program. `run` parses the arguments, runs one command and returns the exit
 * code: 0 on success, 1 on failure, 2 on wrong usage, with one `mlops: …` line on stderr.
 */

export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** The usage error commander reported, printed by `run` (or replaced by a clearer one). */
export interface HeldError {
  message?: string;
}

/**
 * The first option of `argv` that neither the program nor the subcommand it names knows, with the closest known
 * one of that subcommand: `describe --modle credit` names `--modle`, not a missing `--model`.
 */
export function unknownOptionOf(program: Command, argv: readonly string[]): { option: string; suggestion?: string } | undefined {
  const chain: Command[] = [program];
  for (const token of argv) {
    if (token.startsWith('-')) continue;
    const current = chain[chain.length - 1] as Command;
    const sub = current.commands.find((c) => c.name() === token || c.aliases().includes(token));
    if (sub !== undefined) chain.push(sub);
  }
  const known = new Set(['--help', '-h']);
  for (const command of chain) for (const option of command.options) for (const flag of [option.long, option.short]) if (flag !== undefined) known.add(flag);
  const leaf = chain[chain.length - 1] as Command;
  for (const token of argv) {
    if (!token.startsWith('-') || token === '-' || token === '--') continue;
    const option = token.split('=')[0] as string;
    if (known.has(option)) continue;
    const candidates = leaf.options.map((o) => o.long).filter((flag): flag is string => flag !== undefined);
    const [best] = candidates.map((flag) => ({ flag, d: editDistance(option, flag) })).sort((a, b) => a.d - b.d);
    return best !== undefined && best.d <= Math.max(2, Math.floor(option.length / 3)) ? { option, suggestion: best.flag } : { option };
  }
  return undefined;
}

export function buildProgram(session: Session, held: HeldError = {}): Command {
  const { io } = session;
  const program = new Command('mlops')
    .description(
      'Manage and call the serverless-mlops model registry: register, promote, roll back, canary, shadow, predict;\n' +
        'train models with the training pipeline and answer its approvals.\n' +
        'Talks to the deployed stack with your AWS credentials, or to the local platform (npm start) with --local.',
    )
    .addOption(new Option('--local', 'use the local platform started by npm start').conflicts('stack'))
    .option('--local-dir <dir>', "the local platform's data directory (env MLOPS_LOCAL_DIR, default .mlops-local)")
    .option('--stack <name>', 'CloudFormation stack of the platform: the serving stack {appName}, not {appName}-data (env MLOPS_STACK, default serverless-mlops)')
    .option('--region <region>', 'AWS region (default: from your AWS configuration)')
    .option('--json', 'print JSON for scripts instead of tables')
    .option('--actor <name>', 'who is recorded in the audit trail (env MLOPS_ACTOR, default $USER@hostname)')
    .exitOverride()
    .showSuggestionAfterError()
    .configureOutput({
      writeOut: io.stdout,
      writeErr: io.stderr,
      // One line, as every failure: commander's suggestion ("Did you mean …?") joins it. Held until `run` knows
      // whether a missing required option is really a misspelt one (commander checks required options first).
      outputError: (message) => {
        held.message = `mlops: ${message.replace(/^error: /, '').trim().replace(/\s*\n\s*/g, ' ')}\n`;
      },
    });
  program.configureHelp({ sortSubcommands: false, showGlobalOptions: true });

  registerCommand(program, session);
  batchCommand(program, session);
  listCommand(program, session);
  describeCommand(program, session);
  versionsCommand(program, session);
  promoteCommand(program, session);
  rollbackCommand(program, session);
  canaryCommand(program, session);
  shadowCommand(program, session);
  retireCommands(program, session);
  historyCommand(program, session);
  doctorCommand(program, session);
  predictCommand(program, session);
  trainCommand(program, session);
  approveCommand(program, session);
  runsCommand(program, session);
  driftCommand(program, session);
  keysCommand(program, session);
  packageCommand(program, session);

  program.addHelpText(
    'after',
    `
Examples:
  mlops --local list
  mlops --local register --model credit --onnx model/model.onnx --metadata model/metadata.json
  mlops --local promote --model credit --version 2 --reason "better AUC"
  mlops --local predict --model credit --file rows.json
  mlops --local rollback --model credit
  mlops --local history --model credit
  mlops --local register --model credit-xgb --xgboost model.json --metadata metadata.json
  mlops --local register --model big --onnx big.onnx --metadata big.json --target sagemaker --endpoint big-gpu
  mlops --local package --model big --version 1 --target sagemaker
  mlops --local train --data examples/credit/credit_data.csv --target Status --positive bad --model credit
  mlops --local train --data credit.csv --target Status --positive bad --model credit --approval --trainer gbdt
  mlops --local approve 3f2a9c81b0d4 --reason "checked the fairness report"
  mlops --local runs get RUN_ID --wait
  mlops --local drift run --model credit --window 1h
  mlops --local batch score --model credit --input portfolio.csv --output scored/
  mlops batch score --model credit --input s3://BUCKET/portfolio/ --output s3://BUCKET/scored/
  mlops drift compare --reference train.csv --current today.csv --json
  mlops --stack serverless-mlops --region eu-west-1 list --json`,
  );
  return program;
}

/** Runs the CLI on `argv` (without the node and script paths) and returns the exit code. */
export async function run(argv: readonly string[], environment: RunEnvironment): Promise<number> {
  const session = new Session(environment);
  const held: HeldError = {};
  const program = buildProgram(session, held);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander printed help itself; a usage error is one line, held until now.
      if (error.exitCode === 0 || error.code === 'commander.help' || error.code === 'commander.helpDisplayed') return error.exitCode;
      const unknown = error.code === 'commander.missingMandatoryOptionValue' ? unknownOptionOf(program, argv) : undefined;
      if (unknown !== undefined) {
        held.message = `mlops: unknown option '${unknown.option}'${unknown.suggestion === undefined ? '' : ` (Did you mean ${unknown.suggestion}?)`}\n`;
      }
      if (held.message !== undefined) session.io.stderr(held.message);
      return EXIT_USAGE;
    }
    session.io.stderr(`mlops: ${describeError(error)}\n`);
    if (environment.env?.MLOPS_DEBUG !== undefined && error instanceof Error && error.stack !== undefined) {
      session.io.stderr(`${error.stack}\n`);
    }
    return error instanceof CliError ? error.exitCode : EXIT_FAILURE;
  } finally {
    session.close();
  }
}
