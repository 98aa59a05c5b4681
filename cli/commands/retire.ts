import type { Command } from 'commander';
import { parseVersion } from '../arguments.ts';
import { changeCommand, changeRequest, reportChange, type ChangeOptions } from '../change.ts';
import type { Session } from '../context.ts';

/** `mlops archive|reject|delete`: take a version that does not serve out of use. */

type VersionOptions = ChangeOptions & { version: number };

const RETIREMENTS = [
  { name: 'archive', description: 'archive a version that no longer serves', done: 'archived' },
  { name: 'reject', description: 'reject a version: it can never be promoted or serve', done: 'rejected' },
  {
    name: 'delete',
    description: 'soft-delete a version: hidden from lists and serving, its records and artifact are kept',
    done: 'deleted (soft: records and artifact kept)',
  },
] as const;

export function retireCommands(program: Command, session: Session): void {
  for (const retirement of RETIREMENTS) {
    changeCommand(program.command(retirement.name).description(retirement.description))
      .requiredOption('-v, --version <n>', `version to ${retirement.name}`, parseVersion)
      .action(async (options: VersionOptions, command: Command) => {
        const context = session.context(command);
        const { registry } = await context.connect();
        const request = { ...changeRequest(context, options), version: options.version };
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
