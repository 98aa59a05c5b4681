/**
 * Runs every test file of the suite alone, one vitest process per file, and fails naming each file that does not
 * pass on its own (a test leaning on another file's state, a server or fixture another file sets up).
 *
 *   npm run test:each-file [-- test/local]      (a folder or file prefix narrows the files)
 */
import { spawnSync } from 'node:child_process';
import { globSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PROJECT_ROOT = fileURLToPath(new URL('../', import.meta.url));
const VITEST = join(PROJECT_ROOT, 'node_modules', 'vitest', 'vitest.mjs');

const prefix = process.argv[2] ?? 'test/';
const files = globSync('test/**/*.test.ts', { cwd: PROJECT_ROOT })
  .filter((file) => file.startsWith(prefix))
  .sort();
const failed: string[] = [];
for (const [i, file] of files.entries()) {
  const started = Date.now();
  const run = spawnSync(process.execPath, [VITEST, 'run', file], { cwd: PROJECT_ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const ok = run.status === 0;
  if (!ok) failed.push(file);
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${i + 1}/${files.length} ${file} (${Math.round((Date.now() - started) / 1000)} s)`);
  if (!ok) console.log(`${run.stdout}${run.stderr}`.split('\n').slice(-40).join('\n'));
}
console.log(failed.length === 0 ? `every one of ${files.length} test files passed alone` : `${failed.length} of ${files.length} test files failed alone:\n${failed.join('\n')}`);
process.exit(failed.length === 0 ? 0 : 1);
