import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMlops, runMlopsJson } from '../support/mlops-cli.ts';
import { startLocalPlatform, type LocalPlatform } from '../../local/platform.ts';
import { writePlatformFile } from '../../local/platform-file.ts';

/** `mlops --local batch score` with a file and a folder: the job runs on the local platform, the results come back. */

let dataDir: string;
let workDir: string;
let platform: LocalPlatform;
const local = (args: string[]): string[] => ['--local', '--local-dir', dataDir, '--actor', 'tester@batch-cli', ...args];

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'mlops-batch-cli-'));
  workDir = mkdtempSync(join(tmpdir(), 'mlops-batch-cli-work-'));
  platform = await startLocalPlatform({ dataDir, apiKey: 'batch-cli-key-0123456789', port: 0, batch: { retryIntervalMs: 0 } });
  writePlatformFile(dataDir, platform);
});

afterAll(async () => {
  await platform?.stop();
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(workDir, { recursive: true, force: true });
});

describe('mlops --local batch score', () => {
  it('scores a CSV file into a folder: scored rows, errors.csv and a manifest whose counts add up', async () => {
    const lines = readFileSync(new URL('../../examples/credit/credit_data.csv', import.meta.url), 'utf8').trim().split('\n');
    const input = join(workDir, 'portfolio.csv');
    writeFileSync(input, `${[...lines.slice(0, 21), '"good",9,"castle",60,30,"married","no","freelance",73,129,0,0,800,846'].join('\n')}\n`);
    const report = await runMlopsJson<{ status: string; rows_in: number; rows_scored: number; rows_refused: number; files: string[] }>(
      local(['batch', 'score', '--model', 'credit', '--input', input, '--output', join(workDir, 'out')]),
      { cwd: workDir },
    );
    expect(report).toMatchObject({ status: 'succeeded', rows_in: 21, rows_scored: 20, rows_refused: 1 });
    const manifest = JSON.parse(readFileSync(join(workDir, 'out', 'manifest.json'), 'utf8')) as { rows_in: number; rows_scored: number; rows_refused: number };
    expect(manifest.rows_scored + manifest.rows_refused).toBe(manifest.rows_in);
    expect(readFileSync(join(workDir, 'out', 'errors.csv'), 'utf8')).toMatch(/portfolio\.csv,22,UNKNOWN_CATEGORY,/);
    expect(report.files.some((f) => f.includes(`${join('out', 'scored')}`))).toBe(true);
  });

  it('refuses plain paths without --local and a missing input, in one line', async () => {
    const aws = await runMlops(['batch', 'score', '--model', 'credit', '--input', 'x.csv', '--output', 'out/', '--stack', 'nope', '--region', 'eu-west-1'], { cwd: workDir });
    expect(aws.code).toBe(2);
    expect(aws.stderr).toMatch(/^mlops: --input and --output are s3:\/\/bucket\/prefix\/ URIs/);
    const missing = await runMlops(local(['batch', 'score', '--model', 'credit', '--input', join(workDir, 'absent.csv'), '--output', join(workDir, 'o')]), { cwd: workDir });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^mlops: --input .* does not exist\n$/);
  });
});
