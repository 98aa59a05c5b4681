import type { Command } from 'commander';
import type { Session } from '../context.ts';
import { emit } from '../output.ts';
import { historyTable } from '../views.ts';

/** `mlops history --model credit`: the audit trail, oldest first. */
export function historyCommand(program: Command, session: Session): void {
  program
    .command('history')
    .description("show a model's audit trail: who changed what, when and why (oldest first)")
    .requiredOption('-m, --model <name>', 'model name')
    .action(async (options: { model: string }, command: Command) => {
      const context = session.context(command);
      const { registry } = await context.connect();
      const records = await registry.history(options.model);
      emit(context.io, context.json, records, () => historyTable(records));
    });
}
