import type { Command } from 'commander';
import type { CommandContext, Session } from '../context.ts';
import { emit } from '../output.ts';

/**
 * `mlops approve ID` / `mlops reject ID`: answers the approval a training run waits for (the
 * id is in the approval notification and in `mlops train`'s progress). Approved, the run
 * registers and promotes its candidate; rejected, it records the rejection.
 */

export async function decideApproval(context: CommandContext, id: string, approved: boolean, reason: string | undefined): Promise<void> {
  const pipeline = await (await context.connect()).pipeline();
  const answer = await pipeline.decide(id, { approved, by: context.actor, reason: reason ?? '' });
  emit(context.io, context.json, answer, () =>
    approved
      ? `approval ${answer.id} approved: training run ${answer.run_id} of model ${answer.model} goes on to register and promote its candidate\n`
      : `approval ${answer.id} rejected: training run ${answer.run_id} of model ${answer.model} records the rejection; the champion stays\n`,
  );
}

export function approveCommand(program: Command, session: Session): void {
  program
    .command('approve')
    .description('approve the candidate a training run waits for: it is registered and promoted')
    .argument('<approval-id>', 'the approval id (from the approval notification or mlops train)')
    .option('--reason <text>', 'why, recorded with the decision')
    .action(async (id: string, options: { reason?: string }, command: Command) => {
      await decideApproval(session.context(command), id, true, options.reason);
    });
}
