import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultActor } from '../../cli/context.ts';
import { runMlops } from '../support/mlops-cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'mlops-usage-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('mlops usage errors', () => {
  it('names a misspelt option as unknown, with the option it resembles, rather than a required one as missing', async () => {
    const result = await runMlops(['describe', '--modle', 'credit'], { cwd: dir });
    expect(result).toEqual({ code: 2, stdout: '', stderr: "mlops: unknown option '--modle' (Did you mean --model?)\n" });
    const far = await runMlops(['--local', 'history', '--zzzzzzzz', 'x'], { cwd: dir });
    expect(far).toEqual({ code: 2, stdout: '', stderr: "mlops: unknown option '--zzzzzzzz'\n" });
  });

  it('still says a required option is missing when nothing is misspelt', async () => {
    const result = await runMlops(['--local', 'describe'], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe("mlops: required option '-m, --model <name>' not specified\n");
  });
});

describe('defaultActor', () => {
  it('is $USER@host, else USERNAME or LOGNAME, else the OS account name, never unknown while the OS knows one', () => {
    const host = hostname();
    expect(defaultActor({ USER: 'alice' }, () => 'root')).toBe(`alice@${host}`);
    expect(defaultActor({ LOGNAME: 'bob' }, () => 'root')).toBe(`bob@${host}`);
    expect(defaultActor({ USER: '' }, () => 'ci-runner')).toBe(`ci-runner@${host}`);
    expect(defaultActor({}, () => undefined)).toBe(`unknown@${host}`);
    expect(defaultActor({})).not.toMatch(/^unknown@/);
  });
});
