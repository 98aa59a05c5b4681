import type { Command } from 'commander';
import { parseVersion } from '../arguments.ts';
import { changeCommand, changeRequest, reportChange, type ChangeOptions } from '../change.ts';
import type { Session } from '../context.ts';
import { CliError } from '../errors.ts';
import { emit, formatTable } from '../output.ts';
import type { ShadowAgreement } from '#core/serving/shadow-agreement.ts';

/** The agreement table: one row per pair of versions scored in the window. */
export function shadowTable(agreements: readonly ShadowAgreement[]): string {
  if (agreements.length === 0) return 'no shadow comparison in the last 10 minutes (mlops shadow set --model M --version N, then send traffic)\n';
  return formatTable(
    ['model', 'production', 'shadow', 'requests', 'rows', 'same label', 'score diff p50', 'p95', 'max'],
    agreements.map((a) => [
      a.model,
      a.productionVersion,
      a.shadowVersion,
      a.requests,
      a.rows,
      `${(a.labelAgreement * 100).toFixed(1)}%`,
      a.scoreDiff.p50?.toFixed(4),
      a.scoreDiff.p95?.toFixed(4),
      a.scoreDiff.max?.toFixed(4),
    ]),
  );
}

/** `mlops shadow set|clear`: a version scoring every request beside production, its answers only logged. */
export function shadowCommand(program: Command, session: Session): void {
  const shadow = program.command('shadow').description('score every request with a version beside production, logging its answers');
  changeCommand(shadow.command('set').description('make a version the shadow'))
    .requiredOption('-v, --version <n>', 'shadow version', parseVersion)
    .action(async (options: ChangeOptions & { version: number }, command: Command) => {
      const context = session.context(command);
      const { registry } = await context.connect();
      const outcome = await registry.setShadow({ ...changeRequest(context, options), version: options.version });
      reportChange(context, 'shadow_set', `version ${options.version} shadows production`, outcome);
    });
  shadow
    .command('report')
    .description("how the shadow agrees with production over the last 10 minutes: same label, score differences (the local platform's figures)")
    .requiredOption('-m, --model <name>', 'model name')
    .action(async (options: { model: string }, command: Command) => {
      const context = session.context(command);
      const connection = await context.connect();
      if (!connection.local) {
        throw new CliError(
          'shadow report reads the local platform\'s figures (--local); in AWS, the ShadowScoredRows and ShadowDisagreements metrics and the "shadow scored" log lines carry them (docs/metrics.md)',
        );
      }
      const { url } = await connection.api();
      const response = await fetch(`${url}/dashboard/data.json`);
      if (!response.ok) throw new CliError(`the local platform answered ${response.status} for its figures`);
      const { shadow } = (await response.json()) as { shadow?: ShadowAgreement[] };
      const agreements = (shadow ?? []).filter((a) => a.model === options.model);
      emit(context.io, context.json, agreements, () => shadowTable(agreements));
    });
  changeCommand(shadow.command('clear').description('stop shadow scoring'))
    .action(async (options: ChangeOptions, command: Command) => {
      const context = session.context(command);
      const { registry } = await context.connect();
      const outcome = await registry.clearShadow(changeRequest(context, options));
      reportChange(context, 'shadow_clear', 'shadow cleared', outcome);
    });
}
