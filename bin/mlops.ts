/**
 * The `mlops` command line (see `mlops --help` and the README). Started by bin/mlops.mjs,
 * which loads TypeScript through tsx.
 */
import { run } from '../cli/program.ts';

process.exitCode = await run(process.argv.slice(2), {
  io: {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
  },
  env: process.env,
  cwd: process.cwd(),
});
