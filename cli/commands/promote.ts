import type { Command } from 'commander';
import { parseVersion } from '../arguments.ts';
import { changeCommand, changeRequest, reportChange, type ChangeOptions } from '../change.ts';
import type { Session } from '../context.ts';

/** `mlops promote --model credit --version 2`: makes a version production; the one it replaces is kept for rollback. */
export function promoteCommand(program: Command, session: Session): void {
  changeCommand(program.command('promote').description('make a version the production version (the current one is archived and kept for rollback)'))
    .requiredOption('-v, --version <n>', 'version to promote', parseVersion)
    .action(async (options: ChangeOptions & { version: number }, command: Command) => {
      const context = session.context(command);
      const { registry } = await context.connect();
      const outcome = await registry.promote({ ...changeRequest(context, options), version: options.version });
      reportChange(context, 'promote', `promoted version ${options.version} to production`, outcome);
    });
}
