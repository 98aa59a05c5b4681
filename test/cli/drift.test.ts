import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ksTwoSample } from '#core/drift/ks.ts';
import { runMlops, type CliResult } from '../support/mlops-cli.ts';

/** `mlops drift compare` on CSV files, no deployment. */

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'mlops-drift-cli-'));
  const lines = readFileSync(new URL('../../examples/credit/credit_data.csv', import.meta.url), 'utf8').trim().split('\n');
  const header = lines[0] as string;
  const body = lines.slice(1);
  // Every other row, so both files come from the whole file; the current file has Income × 1.5.
  const reference = body.filter((_, i) => i % 2 === 0);
  const incomeColumn = header.split(',').indexOf('"Income"');
  const current = body
    .filter((_, i) => i % 2 === 1)
    .map((line) => line.split(',').map((cell, c) => (c === incomeColumn ? String(Number(cell) * 1.5) : cell)).join(','));
  writeFileSync(join(dir, 'reference.csv'), `${header}\n${reference.join('\n')}\n`);
  writeFileSync(join(dir, 'current.csv'), `${header}\n${current.join('\n')}\n`);
  writeFileSync(join(dir, 'other.csv'), 'a,b\n1,2\n');
  writeFileSync(join(dir, 'small-a.csv'), 'x,c\n1,u\n2,v\n3,u\n');
  writeFileSync(join(dir, 'small-b.csv'), 'c,x\nu,4\nv,5\n');
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const mlops = (...args: string[]): Promise<CliResult> => runMlops(args, { cwd: dir });

describe('mlops drift compare', () => {
  it('prints per feature the test, statistic, p-value, PSI, distance and verdict as JSON', async () => {
    const result = await mlops('drift', 'compare', '--reference', 'reference.csv', '--current', 'current.csv', '--json');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const out = JSON.parse(result.stdout) as { verdict: string; features: { feature: string; test: string; statistic: number; p_value: number; psi: number; distance: number | null; verdict: string }[] };
    const income = out.features.find((f) => f.feature === 'Income');
    expect(income).toMatchObject({ test: 'ks', verdict: 'critical' });
    expect(income?.p_value).toBeLessThan(1e-10);
    expect(out.features.find((f) => f.feature === 'Home')).toMatchObject({ test: 'chi_square', verdict: 'ok' });
    expect(out.features.filter((f) => f.verdict !== 'ok').map((f) => f.feature)).toEqual(['Income']);
    for (const f of out.features) expect(Object.keys(f)).toEqual(expect.arrayContaining(['test', 'statistic', 'p_value', 'psi', 'distance', 'verdict']));
    expect(out.verdict).toBe('critical');
  });

  it('runs KS on the raw columns, as ks_2samp(reference, current)', async () => {
    const result = await mlops('drift', 'compare', '--reference', 'small-a.csv', '--current', 'small-b.csv', '--json');
    expect(result.code).toBe(0);
    const out = JSON.parse(result.stdout) as { features: { feature: string; statistic: number; p_value: number | null; verdict: string }[] };
    // Tiny files: below minRows, so the verdict is insufficient data rather than an alarm.
    expect(out.features.every((f) => f.verdict === 'insufficient_data')).toBe(true);
    expect(ksTwoSample([1, 2, 3], [4, 5]).statistic).toBe(1);
  });

  it('prints a table for people', async () => {
    const result = await mlops('drift', 'compare', '--reference', 'reference.csv', '--current', 'current.csv');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/FEATURE\s+TEST\s+STATISTIC\s+P-VALUE\s+PSI\s+W\/STD\s+VERDICT/);
    expect(result.stdout).toMatch(/Income\s+ks/);
  });

  it('fails in one line on files with different columns or a missing file', async () => {
    const mismatch = await mlops('drift', 'compare', '--reference', 'reference.csv', '--current', 'other.csv');
    expect(mismatch.code).toBe(1);
    expect(mismatch.stderr).toMatch(/^mlops: the files must have the same columns/);
    const missing = await mlops('drift', 'compare', '--reference', 'nope.csv', '--current', 'other.csv');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no such file/);
  });

  it('refuses a bad window as a usage error', async () => {
    const result = await mlops('--local', 'drift', 'run', '--model', 'credit', '--window', 'soon');
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--window/);
  });
});
