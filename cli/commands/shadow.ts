import type { Command } from 'commander';
import { parseVersion } from '../arguments.ts';
import { changeCommand, changeRequest, reportChange, type ChangeOptions } from '../change.ts';
import type { Session } from '../context.ts';

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
  changeCommand(shadow.command('clear').description('stop shadow scoring'))
    .action(async (options: ChangeOptions, command: Command) => {
      const context = session.context(command);
      const { registry } = await context.connect();
      const outcome = await registry.clearShadow(changeRequest(context, options));
      reportChange(context, 'shadow_clear', 'shadow cleared', outcome);
    });
}
