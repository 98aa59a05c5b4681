import type { Command } from 'commander';
import type { Session } from '../context.ts';
import { emit } from '../output.ts';
import { importanceTable, modelFields, versionsTable } from '../views.ts';

/** `mlops describe --model credit`: the model's serving config and its versions. */
export function describeCommand(program: Command, session: Session): void {
  program
    .command('describe')
    .description("show a model's serving config and its versions")
    .requiredOption('-m, --model <name>', 'model name')
    .option('--all', 'include soft-deleted versions')
    .action(async (options: { model: string; all?: boolean }, command: Command) => {
      const context = session.context(command);
      const { registry } = await context.connect();
      const model = await registry.getModel(options.model);
      const versions = await registry.listVersions(options.model, { includeDeleted: options.all === true });
      // The importance of the version that serves (else the newest): what the model's answers rest on.
      const shown = versions.find((v) => v.version === model.production_version) ?? versions.at(-1);
      emit(context.io, context.json, { model, versions }, () =>
        `${modelFields(model)}\n${versionsTable(model, versions)}${shown === undefined ? '' : `\n${importanceTable(shown)}`}`,
      );
    });
}
