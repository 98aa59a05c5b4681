import { defineConfig } from 'vitest/config';

/** The shuffle seed of CI runs. */
const CI_SEED = 20_261_201;

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Checks cfn-lint and Chromium once: required with CI set, else one line names what was not checked.
    globalSetup: ['test/global-setup.ts'],
    environment: 'node',
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // CDK synth with real bundling and the local servers are heavy; two workers fit the 2-core CI machine.
    maxWorkers: 2,
    fileParallelism: true,
    // Files and the tests in them run in shuffled order, so that no test leans on another having run first. Under CI
    // the seed is fixed (a reproducible run); locally each run draws a new one, printed in the banner
    // ("Running tests with seed N"): `npx vitest run --sequence.seed=N` replays that order.
    sequence: {
      shuffle: { files: true, tests: true },
      ...(process.env.CI ? { seed: CI_SEED } : {}),
    },
    env: {
      POWERTOOLS_DEV: 'true',
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      POWERTOOLS_METRICS_DISABLED: 'true',
      POWERTOOLS_TRACE_ENABLED: 'false',
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
    },
  },
});
