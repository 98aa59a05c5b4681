import type { Command } from 'commander';
import { changeCommand, changeRequest, reportChange, type ChangeOptions } from '../change.ts';
import type { Session } from '../context.ts';

/** `mlops rollback --model credit`: production goes back to the version it replaced last. */
export function rollbackCommand(program: Command, session: Session): void {
  changeCommand(program.command('rollback').description('return production to the previous production version'))
    .action(async (options: ChangeOptions, command: Command) => {
      const context = session.context(command);
      const { registry } = await context.connect();
      const before = await registry.getModel(options.model);
      const outcome = await registry.rollback(changeRequest(context, options));
      const from = before.production_version ?? 'none';
      reportChange(context, 'rollback', `rolled back production from version ${from} to version ${outcome.model.production_version ?? 'none'}`, outcome);
    });
}
