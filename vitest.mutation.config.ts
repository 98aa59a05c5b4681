import { defineConfig } from 'vitest/config';
import base from './vitest.config.ts';

/**
 * The tests Stryker runs against each mutant of `lambdas/core` (`npm run mutate`): the core's own unit tests, in
 * process, in a fixed order. The adapters', handlers' and local platform's tests start servers and are kept out: a
 * mutant must be killed by the core's tests. `MUTATION_TESTS` (comma-separated globs) narrows them further for a run
 * on one folder, e.g. `MUTATION_TESTS='test/core/pipeline/**' npm run mutate -- --mutate 'lambdas/core/pipeline/**'`.
 */
const include = process.env.MUTATION_TESTS?.split(',').filter((glob) => glob !== '') ?? ['test/core/**/*.test.ts'];

// Replaced, not merged: mergeConfig would append these globs to the base config's.
export default defineConfig({ ...base, test: { ...base.test, include, sequence: { shuffle: false } } });
