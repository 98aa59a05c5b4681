import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ksTwoSample } from '#core/drift/ks.ts';
import { runMlops, type CliResult } from '../support/mlops-cli.ts';
import { PVALUE_TOLERANCE, STATISTIC_TOLERANCE, contingencyVectors } from '../core/drift/vectors.ts';

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

  it('gates a CI job with --fail-on: exit 3 at or above the level, after printing the report; 0 below it', async () => {
    const critical = await mlops('drift', 'compare', '--reference', 'reference.csv', '--current', 'current.csv', '--json', '--fail-on', 'warning');
    expect(critical.code).toBe(3);
    expect(JSON.parse(critical.stdout)).toMatchObject({ verdict: 'critical' });
    expect(critical.stderr).toBe('mlops: current.csv against reference.csv: verdict critical, at or above --fail-on warning\n');
    expect((await mlops('drift', 'compare', '--reference', 'reference.csv', '--current', 'current.csv', '--fail-on', 'critical')).code).toBe(3);
    const same = await mlops('drift', 'compare', '--reference', 'reference.csv', '--current', 'reference.csv', '--fail-on', 'warning');
    expect(same.code).toBe(0);
    const small = await mlops('drift', 'compare', '--reference', 'small-a.csv', '--current', 'small-b.csv', '--fail-on', 'warning');
    expect(small.code).toBe(0); // insufficient data is not a drift
    const bad = await mlops('drift', 'compare', '--reference', 'reference.csv', '--current', 'current.csv', '--fail-on', 'ok');
    expect(bad).toMatchObject({ code: 2, stderr: 'mlops: --fail-on must be warning or critical, got "ok"\n' });
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
    expect(result.stdout).toMatch(/FEATURE\s+TEST\s+STATISTIC\s+P-VALUE\s+PSI\s+W\/STD\s+MISSING REF → CUR\s+P \(MISSING\)\s+VERDICT/);
    expect(result.stdout).toMatch(/Income\s+ks/);
  });

  it('tests a numeric column with NA cells as numeric, reports its missing rates, and matches SciPy on both columns', async () => {
    // Prepare: the SciPy fixture pair (scripts/drift-vectors/generate.py): `income` holds NA, NaN, N/A, ?, null, None and
    // empty cells; `home` has a category only the current file has.
    const fixtures = new URL('../fixtures/drift/', import.meta.url);
    const expected = contingencyVectors.compare;
    // Act
    const result = await runMlops(['drift', 'compare', '--reference', 'compare-reference.csv', '--current', 'compare-current.csv', '--json'], {
      cwd: fileURLToPath(fixtures),
    });
    // Assess
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const out = JSON.parse(result.stdout) as {
      reference_rows: number;
      features: { feature: string; test: string; statistic: number; p_value: number; unseen_categories: string[]; missing: { reference_rate: number; current_rate: number; statistic: number; p_value: number; drifted: boolean } }[];
    };
    expect(out.reference_rows).toBe(expected.reference_rows);
    const income = out.features.find((f) => f.feature === 'income');
    expect(income?.test).toBe('ks');
    expect(Math.abs((income?.statistic ?? 0) - expected.income.statistic)).toBeLessThanOrEqual(STATISTIC_TOLERANCE);
    expect(Math.abs((income?.p_value ?? 0) - expected.income.pvalue)).toBeLessThanOrEqual(PVALUE_TOLERANCE);
    expect(income?.missing.reference_rate).toBe(expected.income.missing_rate.reference);
    expect(income?.missing.current_rate).toBe(expected.income.missing_rate.current);
    expect(Math.abs((income?.missing.statistic ?? 0) - expected.income.missing_test.statistic)).toBeLessThanOrEqual(1e-6);
    expect(Math.abs((income?.missing.p_value ?? 0) - expected.income.missing_test.pvalue)).toBeLessThanOrEqual(1e-6);
    expect(income?.missing.drifted).toBe(true);
    const home = out.features.find((f) => f.feature === 'home');
    expect(home?.test).toBe('chi_square');
    expect(home?.unseen_categories).toEqual(['parents']);
    expect(Math.abs((home?.statistic ?? 0) - expected.home.statistic)).toBeLessThanOrEqual(1e-6);
    expect(Math.abs((home?.p_value ?? 0) - expected.home.pvalue)).toBeLessThanOrEqual(1e-6);
    const table = await runMlops(['drift', 'compare', '--reference', 'compare-reference.csv', '--current', 'compare-current.csv'], { cwd: fileURLToPath(fixtures) });
    expect(table.stdout).toMatch(/income\s+ks\s.*2\.0% → 15\.0%/);
  });

  it('reads only the tokens given with --missing-tokens as missing, so other tokens make a column categorical', async () => {
    writeFileSync(join(dir, 'tokens-a.csv'), `x\n${Array.from({ length: 60 }, (_, i) => (i % 10 === 0 ? 'missing' : String(i))).join('\n')}\n`);
    writeFileSync(join(dir, 'tokens-b.csv'), `x\n${Array.from({ length: 60 }, (_, i) => (i % 10 === 0 ? 'NA' : String(i))).join('\n')}\n`);
    const custom = JSON.parse((await mlops('drift', 'compare', '--reference', 'tokens-a.csv', '--current', 'tokens-a.csv', '--missing-tokens', 'missing', '--json')).stdout) as {
      features: { test: string; missing: { reference_rate: number } }[];
    };
    expect(custom.features[0]).toMatchObject({ test: 'ks', missing: { reference_rate: 0.1 } });
    const defaults = JSON.parse((await mlops('drift', 'compare', '--reference', 'tokens-a.csv', '--current', 'tokens-b.csv', '--json')).stdout) as { features: { test: string }[] };
    expect(defaults.features[0]?.test).toBe('chi_square');
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

  it('refuses a --since that is not an ISO time, in the future, or given with --window, as usage errors', async () => {
    const notATime = await mlops('--local', 'drift', 'run', '--model', 'credit', '--since', 'an hour ago');
    expect([notATime.code, notATime.stderr]).toEqual([2, 'mlops: --since: since must be an ISO 8601 time such as 2026-12-01T10:00:00Z, got "an hour ago"\n']);
    const future = await mlops('--local', 'drift', 'run', '--model', 'credit', '--since', '2999-01-01T00:00:00Z');
    expect(future.code).toBe(2);
    expect(future.stderr).toMatch(/^mlops: --since: since must be before the check's time .*, got "2999-01-01T00:00:00Z"\n$/);
    const both = await mlops('--local', 'drift', 'run', '--model', 'credit', '--since', '2026-12-01T00:00:00Z', '--window', '2h');
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/--since.*cannot be used with option '--window/);
  });
});
