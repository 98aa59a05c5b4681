import type { Command } from 'commander';
import { parseVersion } from '../arguments.ts';
import { changeCommand, changeRequest, reportChange, type ChangeOptions } from '../change.ts';
import type { Session } from '../context.ts';
import { CliError } from '../errors.ts';
import { decideApproval } from './approve.ts';

/**
 * `mlops archive|reject|delete`: take a version that does not serve out of use.
 * `mlops reject ID` (an approval id instead of --model/--version) rejects the candidate a
 * training run waits for.
 */

type VersionOptions = ChangeOptions & { version: number };

const RETIREMENTS = [
  { name: 'archive', description: 'archive a version that no longer serves', done: 'archived' },
  {
    name: 'reject',
    description: 'reject a version: it can never be promoted or serve; or, given an approval id, the candidate a training run waits for',
    done: 'rejected',
  },
  {
    name: 'delete',
    description: 'soft-delete a version: hidden from lists and serving, its records and artifact are kept',
    done: 'deleted (soft: records and artifact kept)',
  },
] as const;

export function retireCommands(program: Command, session: Session): void {
  for (const retirement of RETIREMENTS) {
    const approvable = retirement.name === 'reject';
    const command = program.command(approvable ? 'reject [approval-id]' : retirement.name).description(retirement.description);
    changeCommand(command, { modelRequired: !approvable })
      .addOption(
        approvable
          ? command.createOption('-v, --version <n>', 'version to reject').argParser(parseVersion)
          : command.createOption('-v, --version <n>', `version to ${retirement.name}`).argParser(parseVersion).makeOptionMandatory(),
      )
      .action(async (...args: unknown[]) => {
        const [approvalId, options, self] = approvable
          ? (args as [string | undefined, Partial<VersionOptions>, Command])
          : [undefined, args[0] as Partial<VersionOptions>, args[1] as Command];
        const context = session.context(self);
        if (approvalId !== undefined) {
          if (options.model !== undefined || options.version !== undefined) {
            throw new CliError('give either an approval id (mlops reject ID) or --model and --version, not both', 2);
          }
          await decideApproval(context, approvalId, false, options.reason);
          return;
        }
        if (options.model === undefined || options.version === undefined) {
          throw new CliError('give --model and --version to reject a version, or an approval id to reject a waiting candidate (mlops reject ID)', 2);
        }
        const { registry } = await context.connect();
        const request = { ...changeRequest(context, options as VersionOptions), version: options.version };
        const outcome =
          retirement.name === 'archive'
            ? await registry.archive(request)
            : retirement.name === 'reject'
              ? await registry.reject(request)
              : await registry.delete(request);
        reportChange(context, retirement.name, `version ${options.version} ${retirement.done}`, outcome);
      });
  }
}
