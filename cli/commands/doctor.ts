import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { Command } from 'commander';
import { runDoctor, type DoctorReport } from '#core/registry/doctor.ts';
import { objectsWithoutMetadata } from '../../local/s3rver-fixes.ts';
import type { Session } from '../context.ts';
import { CliError } from '../errors.ts';
import { emit, formatTable } from '../output.ts';

function reportText(report: DoctorReport): string {
  const head = `checked ${report.models} models, ${report.versions} versions: ${report.checked.join(', ')}\n`;
  if (report.healthy) return `${head}healthy\n`;
  return `${head}${formatTable(
    ['invariant', 'model', 'version', 'problem'],
    report.findings.map((f) => [f.invariant, f.model, f.version, f.message]),
  )}`;
}

/**
 * `mlops doctor`: checks the registry's invariants (lambdas/core/registry/doctor.ts) and names each one broken;
 * exit code 1 when any is. Against the local platform it also checks the local S3 store's files.
 */
export function doctorCommand(program: Command, session: Session): void {
  program
    .command('doctor')
    .description("check the registry's invariants (one production version per model, stages match pointers, one audit entry per revision, artifacts intact) and name each one broken")
    .option('--skip-artifacts', 'do not read the artifacts back (faster against a large registry)')
    .action(async (options: { skipArtifacts?: boolean }, command: Command) => {
      const context = session.context(command);
      const connection = await context.connect();
      const { registry, artifacts } = connection;
      const sha256 = async (key: string): Promise<string | undefined> => {
        try {
          return createHash('sha256').update(await artifacts.getArtifact(key)).digest('hex');
        } catch {
          return undefined;
        }
      };
      const report = await runDoctor(
        {
          listModels: () => registry.listModels(),
          listVersions: (model) => registry.listVersions(model, { includeDeleted: true }),
          history: (model) => registry.history(model),
          ...(options.skipArtifacts === true ? {} : { artifactSha256: sha256 }),
        },
        connection.localDataDir === undefined
          ? undefined
          : {
              findings: (await objectsWithoutMetadata(join(connection.localDataDir, 's3'))).map((key) => ({
                invariant: 'no-object-without-metadata' as const,
                message: `the local S3 object ${key} has no metadata`,
              })),
            },
      );
      emit(context.io, context.json, report, () => reportText(report));
      if (!report.healthy) throw new CliError(`${report.findings.length} broken invariant${report.findings.length === 1 ? '' : 's'} in ${connection.target}`);
    });
}
