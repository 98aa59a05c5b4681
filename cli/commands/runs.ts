import type { Command } from 'commander';
import type { Session } from '../context.ts';
import { followRun, reportRun } from '../run-report.ts';

/** `mlops runs get RUN_ID [--wait]`: where a training run stands, or its outcome. */
export function runsCommand(program: Command, session: Session): void {
  const runs = program.command('runs').description('training pipeline runs');
  runs
    .command('get')
    .description("show a training run's status, or its outcome once it ended")
    .argument('<run-id>', 'the run id (mlops train prints it; in AWS, the execution name or ARN)')
    .option('--wait', 'follow the run to its end (exit code 1 when it failed)')
    .action(async (runId: string, options: { wait?: boolean }, command: Command) => {
      const context = session.context(command);
      const pipeline = await (await context.connect()).pipeline();
      const snapshot = options.wait === true ? await followRun(context, pipeline, runId) : await pipeline.get(runId);
      reportRun(context, pipeline, snapshot, { failOnFailure: options.wait === true });
    });
}
