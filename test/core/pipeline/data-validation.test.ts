import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { DataCheckName, DataQualityReport } from '#core/pipeline/data-validation.ts';
import { validateTrainingData } from '#core/pipeline/data-validation.ts';

const creditCsv = readFileSync(new URL('../../../examples/credit/credit_data.csv', import.meta.url), 'utf8');
const spec = { target: 'Status', positiveLabel: 'bad' };

function check(report: DataQualityReport, name: DataCheckName) {
  const found = report.checks.find((c) => c.name === name);
  if (found === undefined) throw new Error(`no check "${name}" in the report`);
  return found;
}

function failedChecks(report: DataQualityReport): DataCheckName[] {
  return report.checks.filter((c) => !c.passed).map((c) => c.name);
}

/** `rows` rows of y (yes/no alternating, every 4th "yes") and two features with distinct values. */
function syntheticCsv(rows: number, cell: (i: number) => { y?: string; x?: string; z?: string } = () => ({})): string {
  const lines = ['y,x,z'];
  for (let i = 0; i < rows; i++) {
    const c = cell(i);
    lines.push(`${c.y ?? (i % 4 === 0 ? 'yes' : 'no')},${c.x ?? String(i)},${c.z ?? `c${i % 3}`}`);
  }
  return `${lines.join('\n')}\n`;
}

describe('validateTrainingData on the credit data', () => {
  // Inside each test, not at describe level: the mutation run attributes the code a test runs to that test.
  const credit = () => validateTrainingData(creditCsv, spec);

  it('passes every check', () => {
    const report = credit();
    expect(failedChecks(report)).toEqual([]);
    expect(report.passed).toBe(true);
    expect(report.checks.map((c) => c.name)).toEqual([
      'parses_as_csv',
      'target_present',
      'target_complete',
      'target_binary',
      'positive_label_present',
      'min_rows',
      'missing_rate',
      'duplicate_rate',
      'class_balance',
      'has_features',
    ]);
  });

  it('reports the shape, the real class balance and per-column statistics', () => {
    const report = credit();
    expect(report).toMatchObject({ rows: 4454, columns: 14 });
    expect(report.class_balance).toEqual({ positive: 1254, negative: 3200, positive_rate: 1254 / 4454 });
    expect(report.class_balance?.positive_rate).toBeCloseTo(0.2815, 4);
    expect(check(report, 'class_balance').value).toBeCloseTo(0.2815, 4);
    expect(report.per_column).toHaveLength(14);
    expect(report.per_column.find((c) => c.name === 'Income')).toEqual({ name: 'Income', kind: 'numeric', missing_rate: 381 / 4454, distinct: 351 });
    expect(report.per_column.find((c) => c.name === 'Home')).toMatchObject({ kind: 'categorical', missing_rate: 6 / 4454 });
    expect(check(report, 'missing_rate')).toMatchObject({ value: 381 / 4454, threshold: 0.5 });
    expect(check(report, 'missing_rate').message).toContain('"Income"');
    expect(check(report, 'duplicate_rate')).toMatchObject({ passed: true, value: 2 / 4454 });
  });
});

describe('validateTrainingData on broken data', () => {
  it('reports CSV that does not parse without throwing', () => {
    const report = validateTrainingData('y,x\n"yes,1\n', spec);
    expect(report).toMatchObject({ passed: false, rows: 0, columns: 0, per_column: [], class_balance: null });
    expect(failedChecks(report)).toEqual(['parses_as_csv']);
    expect(check(report, 'parses_as_csv').message).toMatch(/not valid CSV: .*unterminated quoted field/);
    expect(failedChecks(validateTrainingData('', spec))).toEqual(['parses_as_csv']);
  });

  it('fails target_present when the target column is absent, and skips the target checks', () => {
    const report = validateTrainingData(creditCsv.replace('"Status"', '"Outcome"'), spec);
    expect(report.passed).toBe(false);
    expect(report.checks.map((c) => c.name)).toEqual(['parses_as_csv', 'target_present', 'min_rows', 'missing_rate', 'duplicate_rate', 'has_features']);
    expect(failedChecks(report)).toEqual(['target_present']);
    expect(check(report, 'target_present').message).toContain('"Status" is not in the data');
    expect(report.class_balance).toBeNull();
  });

  it('fails target_binary when the target has 3 values', () => {
    const report = validateTrainingData(syntheticCsv(300, (i) => (i % 10 === 1 ? { y: 'maybe' } : {})), { target: 'y', positiveLabel: 'yes' });
    expect(failedChecks(report)).toEqual(['target_binary']);
    expect(check(report, 'target_binary')).toMatchObject({ value: 3, threshold: 2 });
    expect(check(report, 'target_binary').message).toContain('found 3');
  });

  it('fails target_complete when a target value is missing', () => {
    const report = validateTrainingData(syntheticCsv(300, (i) => (i === 7 ? { y: '' } : {})), { target: 'y', positiveLabel: 'yes' });
    expect(failedChecks(report)).toEqual(['target_complete']);
    expect(check(report, 'target_complete')).toMatchObject({ value: 1, message: '1 rows have no "y" value' });
  });

  it('fails min_rows with too few rows', () => {
    const report = validateTrainingData(syntheticCsv(150), { target: 'y', positiveLabel: 'yes' });
    expect(failedChecks(report)).toEqual(['min_rows']);
    expect(check(report, 'min_rows')).toMatchObject({ value: 150, threshold: 200 });
    expect(validateTrainingData(syntheticCsv(150), { target: 'y', positiveLabel: 'yes', minRows: 100 }).passed).toBe(true);
  });

  it('fails missing_rate with a 90%-missing column', () => {
    const report = validateTrainingData(syntheticCsv(300, (i) => (i % 10 === 0 ? { z: `c${i}` } : { x: '', z: `c${i}` })), { target: 'y', positiveLabel: 'yes' });
    expect(failedChecks(report)).toEqual(['missing_rate']);
    expect(check(report, 'missing_rate')).toMatchObject({ value: 0.9, threshold: 0.5 });
    expect(check(report, 'missing_rate').message).toContain('"x" 90%');
    expect(report.per_column.find((c) => c.name === 'x')).toMatchObject({ missing_rate: 0.9, distinct: 30 });
  });

  it('counts missing tokens in a numeric column as missing, and keeps the column numeric', () => {
    const tokens = ['NA', 'N/A', 'NaN', 'null', 'None', '?'];
    const report = validateTrainingData(syntheticCsv(300, (i) => (i % 5 === 0 ? { x: tokens[i % tokens.length] as string } : {})), { target: 'y', positiveLabel: 'yes' });
    expect(report.per_column.find((c) => c.name === 'x')).toMatchObject({ kind: 'numeric', missing_rate: 0.2 });
    const custom = validateTrainingData(syntheticCsv(300, (i) => (i % 5 === 0 ? { x: '-' } : {})), { target: 'y', positiveLabel: 'yes', missingTokens: ['-'] });
    expect(custom.per_column.find((c) => c.name === 'x')).toMatchObject({ kind: 'numeric', missing_rate: 0.2 });
  });

  it('fails duplicate_rate with many duplicate rows', () => {
    // Rows 0..99 are distinct; rows 100..299 repeat them: 200 of 300 rows are duplicates.
    const csv = syntheticCsv(300, (i) => ({ y: i % 100 < 25 ? 'yes' : 'no', x: String(i % 100), z: `c${i % 100}` }));
    const report = validateTrainingData(csv, { target: 'y', positiveLabel: 'yes' });
    expect(failedChecks(report)).toEqual(['duplicate_rate']);
    expect(check(report, 'duplicate_rate')).toMatchObject({ value: 200 / 300, threshold: 0.1 });
  });

  it('counts duplicates after parsing: quoting does not make a row different', () => {
    const lines = ['y,x', ...Array.from({ length: 10 }, (_, i) => `${i % 2 ? 'a' : 'b'},${i}`), 'a,1', '"a","1"'];
    const report = validateTrainingData(lines.join('\n'), { target: 'y', positiveLabel: 'a', minRows: 0 });
    expect(check(report, 'duplicate_rate').value).toBe(2 / 12);
  });

  it('fails positive_label_present when the positive label is absent', () => {
    const report = validateTrainingData(creditCsv, { target: 'Status', positiveLabel: 'default' });
    expect(failedChecks(report)).toEqual(['positive_label_present', 'class_balance']);
    expect(check(report, 'positive_label_present').message).toBe('positive label "default" does not occur in target "Status" (values: "good", "bad")');
  });

  it('fails class_balance when the rarer class is below the minimum', () => {
    const report = validateTrainingData(syntheticCsv(400, (i) => ({ y: i % 50 === 0 ? 'yes' : 'no' })), { target: 'y', positiveLabel: 'yes' });
    expect(failedChecks(report)).toEqual(['class_balance']);
    expect(check(report, 'class_balance')).toMatchObject({ value: 0.02, threshold: 0.05 });
    expect(report.class_balance).toEqual({ positive: 8, negative: 392, positive_rate: 0.02 });
  });

  it('fails has_features when only the target is there', () => {
    const csv = ['y', ...Array.from({ length: 300 }, (_, i) => (i % 2 ? 'yes' : 'no'))].join('\n');
    const report = validateTrainingData(csv, { target: 'y', positiveLabel: 'yes', maxDuplicateRate: 1 });
    expect(failedChecks(report)).toEqual(['has_features']);
  });

  it('throws only for an invalid spec', () => {
    expect(() => validateTrainingData(creditCsv, { ...spec, target: '' })).toThrow(RangeError);
    expect(() => validateTrainingData(creditCsv, { ...spec, maxMissingRate: 1.5 })).toThrow(/maxMissingRate must be in \[0, 1\]/);
    expect(() => validateTrainingData(creditCsv, { ...spec, minRows: -1 })).toThrow(/minRows/);
  });
});

describe('validateTrainingData: what each check says', () => {
  const messages = (report: DataQualityReport) => Object.fromEntries(report.checks.map((c) => [c.name, c.message]));

  it('says what passed, with the numbers, on the credit data', () => {
    const report = validateTrainingData(creditCsv, spec);
    expect(messages(report)).toEqual({
      parses_as_csv: 'the data parses as CSV: 14 columns, 4454 rows',
      target_present: 'target column "Status" is present',
      target_complete: 'every row has a "Status" value',
      target_binary: 'target "Status" has exactly 2 distinct values ("good", "bad")',
      positive_label_present: 'positive label "bad" occurs in 1254 rows',
      min_rows: '4454 rows, at least the 200 required',
      missing_rate: 'every feature column is at most 50% missing (worst: "Income" 8.55%)',
      duplicate_rate: '2 rows repeat an earlier row (0.04%), at most the 10% allowed',
      class_balance: 'the rarer (positive "bad") class is 28.15% of the rows, at least the 5% required',
      has_features: '13 feature columns besides the target',
    });
    expect(check(report, 'parses_as_csv')).toMatchObject({ passed: true, value: 'valid', threshold: 'valid CSV with a header row' });
    expect(check(report, 'target_present')).toMatchObject({ value: 'present', threshold: 'column "Status"' });
    expect(check(report, 'target_complete')).toMatchObject({ passed: true, value: 0, threshold: 0 });
    expect(check(report, 'positive_label_present')).toMatchObject({ passed: true, value: 1254, threshold: 1 });
    expect(check(report, 'has_features')).toMatchObject({ passed: true, value: 13, threshold: 1 });
  });

  it('says what failed, with the numbers', () => {
    const broken = validateTrainingData('y,x\n"yes,1\n', spec);
    expect(check(broken, 'parses_as_csv')).toMatchObject({ value: expect.stringMatching(/unterminated quoted field/), threshold: 'valid CSV with a header row' });
    const absent = validateTrainingData('a,b\n1,2\n', spec);
    expect(check(absent, 'target_present')).toMatchObject({ passed: false, value: 'absent', threshold: 'column "Status"', message: 'target column "Status" is not in the data (columns: a, b)' });
    expect(check(absent, 'has_features')).toMatchObject({ passed: true, value: 2 });
    const few = validateTrainingData(syntheticCsv(150), { target: 'y', positiveLabel: 'yes' });
    expect(check(few, 'min_rows').message).toBe('only 150 rows, fewer than the 200 required');
    const onlyTarget = validateTrainingData('y\nyes\nno\n', { target: 'y', positiveLabel: 'yes', minRows: 0 });
    expect(check(onlyTarget, 'has_features')).toMatchObject({ passed: false, value: 0, message: 'there is no feature column besides the target' });
    expect(check(onlyTarget, 'missing_rate').message).toBe('every feature column is at most 50% missing (worst: none)');
  });

  it('names the rarer class, negative when the positives are more, and says below the minimum when it is', () => {
    const report = validateTrainingData(syntheticCsv(400, (i) => ({ y: i % 50 === 0 ? 'no' : 'yes' })), { target: 'y', positiveLabel: 'yes' });
    expect(check(report, 'class_balance').message).toBe('the rarer (negative) class is only 2% of the rows, below the 5% required');
    const even = validateTrainingData(syntheticCsv(400, (i) => ({ y: i % 2 === 0 ? 'no' : 'yes' })), { target: 'y', positiveLabel: 'yes' });
    expect(check(even, 'class_balance').message).toBe('the rarer (positive "yes") class is 50% of the rows, at least the 5% required');
  });

  it('passes each rate exactly at its limit and fails just over it', () => {
    // 20 rows, 1 positive: minority 5 %.
    const atMinority = validateTrainingData(syntheticCsv(20, (i) => ({ y: i === 0 ? 'yes' : 'no' })), { target: 'y', positiveLabel: 'yes', minRows: 20 });
    expect(check(atMinority, 'class_balance')).toMatchObject({
      passed: true,
      value: 0.05,
      message: 'the rarer (positive "yes") class is 5% of the rows, at least the 5% required',
    });
    expect(check(atMinority, 'min_rows')).toMatchObject({ passed: true, message: '20 rows, at least the 20 required' });
    // 10 rows, 1 duplicate: 10 %.
    const atDuplicates = validateTrainingData(syntheticCsv(10, (i) => (i === 9 ? { y: 'yes', x: '0', z: 'c0' } : {})), { target: 'y', positiveLabel: 'yes', minRows: 0 });
    expect(check(atDuplicates, 'duplicate_rate')).toMatchObject({ passed: true, value: 0.1, message: '1 rows repeat an earlier row (10%), at most the 10% allowed' });
    const overDuplicates = validateTrainingData(syntheticCsv(10, (i) => (i === 9 ? { y: 'yes', x: '0', z: 'c0' } : {})), { target: 'y', positiveLabel: 'yes', minRows: 0, maxDuplicateRate: 0.05 });
    expect(check(overDuplicates, 'duplicate_rate')).toMatchObject({ passed: false, message: '1 rows repeat an earlier row (10%), more than the 5% allowed' });
    // Half of x missing: at the 50 % limit.
    const atMissing = validateTrainingData(syntheticCsv(10, (i) => (i % 2 === 0 ? { x: '' } : {})), { target: 'y', positiveLabel: 'yes', minRows: 0 });
    expect(check(atMissing, 'missing_rate')).toMatchObject({ passed: true, value: 0.5, message: 'every feature column is at most 50% missing (worst: "x" 50%)' });
    const overMissing = validateTrainingData(syntheticCsv(10, (i) => (i % 2 === 0 ? { x: '', z: '' } : {})), { target: 'y', positiveLabel: 'yes', minRows: 0, maxMissingRate: 0.25 });
    expect(check(overMissing, 'missing_rate')).toMatchObject({ passed: false, value: 0.5, message: '2 feature columns are more than 25% missing: "x" 50%, "z" 50%' });
  });

  it('reports the worst column first found among equals, and ignores the target’s missing cells', () => {
    const report = validateTrainingData(syntheticCsv(10, (i) => (i < 3 ? { y: '', x: '', z: '' } : i < 4 ? { z: '' } : {})), { target: 'y', positiveLabel: 'yes', minRows: 0 });
    expect(check(report, 'missing_rate')).toMatchObject({ value: 0.4, message: 'every feature column is at most 50% missing (worst: "z" 40%)' });
    expect(report.per_column.find((c) => c.name === 'y')).toMatchObject({ missing_rate: 0.3 });
    const tie = validateTrainingData(syntheticCsv(10, (i) => (i < 2 ? { x: '', z: '' } : {})), { target: 'y', positiveLabel: 'yes', minRows: 0 });
    expect(check(tie, 'missing_rate').message).toBe('every feature column is at most 50% missing (worst: "x" 20%)');
  });

  it('shows at most five target values, and none when the target is empty everywhere', () => {
    const many = validateTrainingData(syntheticCsv(12, (i) => ({ y: `v${i % 7}` })), { target: 'y', positiveLabel: 'v0', minRows: 0 });
    expect(check(many, 'target_binary').message).toBe('target "y" must have exactly 2 distinct values, found 7 ("v0", "v1", "v2", "v3", "v4", …)');
    const five = validateTrainingData(syntheticCsv(12, (i) => ({ y: `v${i % 5}` })), { target: 'y', positiveLabel: 'nope', minRows: 0 });
    expect(check(five, 'target_binary').message).toBe('target "y" must have exactly 2 distinct values, found 5 ("v0", "v1", "v2", "v3", "v4")');
    expect(check(five, 'positive_label_present')).toMatchObject({ passed: false, value: 0, message: 'positive label "nope" does not occur in target "y" (values: "v0", "v1", "v2", "v3", "v4")' });
    const empty = validateTrainingData(syntheticCsv(4, () => ({ y: '' })), { target: 'y', positiveLabel: 'yes', minRows: 0 });
    expect(check(empty, 'target_binary').message).toBe('target "y" must have exactly 2 distinct values, found 0');
    expect(check(empty, 'positive_label_present').message).toBe('positive label "yes" does not occur in target "y"');
    expect(check(empty, 'target_complete')).toMatchObject({ passed: false, value: 4, threshold: 0 });
    expect(empty.class_balance).toBeNull();
    expect(empty.checks.map((c) => c.name)).not.toContain('class_balance');
  });

  it('reports a header without rows as empty, not as missing', () => {
    const report = validateTrainingData('y,x\n', { target: 'y', positiveLabel: 'yes', minRows: 0 });
    expect(report.per_column).toEqual([
      { name: 'y', kind: expect.any(String), missing_rate: 0, distinct: 0 },
      { name: 'x', kind: expect.any(String), missing_rate: 0, distinct: 0 },
    ]);
    expect(check(report, 'duplicate_rate')).toMatchObject({ passed: true, value: 0 });
  });

  it('refuses each invalid spec with its message', () => {
    expect(() => validateTrainingData('', { ...spec, target: '' })).toThrow('target must be a non-empty column name');
    expect(() => validateTrainingData('', { ...spec, positiveLabel: '' })).toThrow('positiveLabel must be non-empty (an empty cell is a missing value)');
    expect(() => validateTrainingData('', { ...spec, minRows: 1.5 })).toThrow('minRows must be a non-negative integer, got 1.5');
    expect(() => validateTrainingData('', { ...spec, maxDuplicateRate: -0.1 })).toThrow('maxDuplicateRate must be in [0, 1], got -0.1');
    expect(() => validateTrainingData('', { ...spec, minMinorityRate: 0.6 })).toThrow('minMinorityRate must be in [0, 0.5], got 0.6');
    expect(() => validateTrainingData('', { ...spec, maxMissingRate: Number.NaN })).toThrow('maxMissingRate must be in [0, 1], got NaN');
    expect(validateTrainingData('y,x\n', { ...spec, target: 'y', minRows: 0, maxMissingRate: 0, maxDuplicateRate: 1, minMinorityRate: 0.5 }).rows).toBe(0);
  });

  it('counts a single feature column as enough', () => {
    const report = validateTrainingData('y,x\nyes,1\nno,2\n', { target: 'y', positiveLabel: 'yes', minRows: 0 });
    expect(check(report, 'has_features')).toMatchObject({ passed: true, value: 1, message: '1 feature columns besides the target' });
  });

  it('keeps a missing token in a categorical column as a category, not as missing', () => {
    const report = validateTrainingData(syntheticCsv(10, (i) => ({ z: i % 2 === 0 ? 'NA' : 'own' })), { target: 'y', positiveLabel: 'yes', minRows: 0 });
    expect(report.per_column.find((c) => c.name === 'z')).toEqual({ name: 'z', kind: 'categorical', missing_rate: 0, distinct: 2 });
  });
});
