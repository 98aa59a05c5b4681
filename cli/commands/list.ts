import type { Command } from 'commander';
import type { Session } from '../context.ts';
import { emit } from '../output.ts';
import { modelsTable } from '../views.ts';

/** `mlops list`: the models and which versions serve. */
export function listCommand(program: Command, session: Session): void {
  program
    .command('list')
    .description('list the models and which versions serve them')
    .action(async (_options: unknown, command: Command) => {
      const context = session.context(command);
      const { registry } = await context.connect();
      const models = await registry.listModels();
      emit(context.io, context.json, models, () => modelsTable(models));
    });
}
