import type { Command } from 'commander';
import { parseShare, parseVersion } from '../arguments.ts';
import { changeCommand, changeRequest, formatShare, reportChange, type ChangeOptions } from '../change.ts';
import type { Session } from '../context.ts';

/** `mlops canary set|clear`: a version answering a deterministic share of requests beside production. */
export function canaryCommand(program: Command, session: Session): void {
  const canary = program.command('canary').description('send a share of the traffic to a version beside production');
  changeCommand(canary.command('set').description('make a version the canary, answering a share of the requests'))
    .requiredOption('-v, --version <n>', 'canary version', parseVersion)
    .requiredOption('--share <fraction>', 'share of the requests it answers, in (0, 1) or as a percentage (0.1, 10%)', parseShare)
    .action(async (options: ChangeOptions & { version: number; share: number }, command: Command) => {
      const context = session.context(command);
      const { registry } = await context.connect();
      const outcome = await registry.setCanary({ ...changeRequest(context, options), version: options.version, share: options.share });
      reportChange(context, 'canary_set', `version ${options.version} answers ${formatShare(options.share)} of the requests as canary`, outcome);
    });
  changeCommand(canary.command('clear').description('stop the canary: production answers every request'))
    .action(async (options: ChangeOptions, command: Command) => {
      const context = session.context(command);
      const { registry } = await context.connect();
      const outcome = await registry.clearCanary(changeRequest(context, options));
      reportChange(context, 'canary_clear', 'canary cleared', outcome);
    });
}
