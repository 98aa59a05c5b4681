import type { Command } from 'commander';
import type { Session } from '../context.ts';
import { emit } from '../output.ts';
import { versionsTable } from '../views.ts';

/** `mlops versions --model credit [--all]`: the versions of a model, with stage and serving roles. */
export function versionsCommand(program: Command, session: Session): void {
  program
    .command('versions')
    .description('list the versions of a model')
    .requiredOption('-m, --model <name>', 'model name')
    .option('--all', 'include soft-deleted versions')
    .action(async (options: { model: string; all?: boolean }, command: Command) => {
      const context = session.context(command);
      const { registry } = await context.connect();
      const model = await registry.getModel(options.model);
      const versions = await registry.listVersions(options.model, { includeDeleted: options.all === true });
      emit(context.io, context.json, versions, () => versionsTable(model, versions));
    });
}
