import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseCsv, type ParsedCsv } from '#core/data/csv.ts';
import { ColumnMismatchError, compareCsv } from '#core/drift/csv-compare.ts';
import { ksTwoSample } from '#core/drift/ks.ts';
import { PVALUE_TOLERANCE, STATISTIC_TOLERANCE, contingencyVectors } from './vectors.ts';
import { thrown } from '../../support/thrown.ts';

/** `mlops drift compare`'s core: two CSV documents compared column by column, the reference playing the baseline. */

const fixture = (name: string): ParsedCsv => parseCsv(readFileSync(new URL(`../../fixtures/drift/${name}`, import.meta.url), 'utf8'));
const csv = (header: string[], rows: (string | null)[][]): ParsedCsv => ({ header, rows });

describe('compareCsv', () => {
  it('matches SciPy on the fixture pair: KS on the raw numeric column, chi2_contingency on the categories, the missing rates as two proportions', () => {
    const expected = contingencyVectors.compare;
    const result = compareCsv(fixture('compare-reference.csv'), fixture('compare-current.csv'));
    expect(result.reference_rows).toBe(expected.reference_rows);
    expect(result.current_rows).toBe(expected.current_rows);
    const income = result.features.find((f) => f.feature === 'income');
    expect(income).toMatchObject({ type: 'numeric', test: 'ks', unseen_categories: [] });
    expect(Math.abs((income?.statistic ?? 0) - expected.income.statistic)).toBeLessThanOrEqual(STATISTIC_TOLERANCE);
    expect(Math.abs((income?.p_value ?? 0) - expected.income.pvalue)).toBeLessThanOrEqual(PVALUE_TOLERANCE);
    expect(income?.missing.reference_rate).toBe(expected.income.missing_rate.reference);
    expect(income?.missing.current_rate).toBe(expected.income.missing_rate.current);
    expect(Math.abs((income?.missing.statistic ?? 0) - expected.income.missing_test.statistic)).toBeLessThanOrEqual(1e-6);
    expect(income?.distance).toBe(result.report.features[0]?.wasserstein_normalised);
    expect(income?.wasserstein).toBe(result.report.features[0]?.wasserstein);
    expect(income?.distance).toBeGreaterThan(0);
    const home = result.features.find((f) => f.feature === 'home');
    expect(home).toMatchObject({ type: 'categorical', test: 'chi_square', unseen_categories: ['parents'], distance: null, wasserstein: null });
    expect(Math.abs((home?.statistic ?? 0) - expected.home.statistic)).toBeLessThanOrEqual(1e-6);
    expect(Math.abs((home?.p_value ?? 0) - expected.home.pvalue)).toBeLessThanOrEqual(1e-6);
    // The summary is the report's.
    expect(result).toMatchObject({ verdict: result.report.verdict, drifted_share: result.report.drifted_share, drift_score: result.report.drift_score, thresholds: result.report.thresholds });
    expect(result.features.map((f) => f.verdict)).toEqual(result.report.features.map((f) => f.verdict));
    expect(result.features.map((f) => f.psi)).toEqual(result.report.features.map((f) => f.psi));
    expect(result.features.map((f) => f.missing)).toEqual(result.report.features.map((f) => f.missing));
    expect(Object.keys(result.distributions)).toEqual(['income', 'home']);
    expect(result.distributions.home?.bins).toEqual(['mortgage', 'other', 'owner', 'rent', 'parents (unseen)']);
  });

  it('aligns the current file\'s columns by name, whatever their order, and reads short rows as missing', () => {
    const reference = csv(['x', 'c'], Array.from({ length: 60 }, (_, i) => [String(i), i % 2 === 0 ? 'a' : 'b']));
    const current = csv(['c', 'x'], [...Array.from({ length: 59 }, (_, i) => [i % 2 === 0 ? 'a' : 'b', String(i + 0.5)]), ['a']]);
    const result = compareCsv(reference, current);
    expect(result.features.map((f) => [f.feature, f.type])).toEqual([
      ['x', 'numeric'],
      ['c', 'categorical'],
    ]);
    const x = result.features[0];
    expect(x?.statistic).toBe(
      ksTwoSample(
        Array.from({ length: 59 }, (_, i) => i + 0.5),
        Array.from({ length: 60 }, (_, i) => i),
      ).statistic,
    );
    expect(x?.missing.current_rate).toBe(1 / 60);
    expect(result.features[1]?.statistic).toBe(0);
  });

  it('reads a column numeric when every cell of both files is a number or missing, with the missing tokens given', () => {
    const reference = csv(['x'], Array.from({ length: 60 }, (_, i) => [i % 10 === 0 ? 'missing' : String(i)]));
    const numeric = compareCsv(reference, reference, { missingTokens: ['missing'] });
    expect(numeric.features[0]).toMatchObject({ type: 'numeric', test: 'ks', missing: { reference_rate: 0.1 } });
    const categorical = compareCsv(reference, reference);
    expect(categorical.features[0]).toMatchObject({ type: 'categorical', test: 'chi_square' });
    // A token only the current file holds decides too.
    const withNa = csv(['x'], Array.from({ length: 60 }, (_, i) => [i % 10 === 0 ? 'oops' : String(i)]));
    expect(compareCsv(csv(['x'], Array.from({ length: 60 }, (_, i) => [String(i)])), withNa).features[0]?.type).toBe('categorical');
  });

  it('applies the thresholds given', () => {
    const reference = csv(['x'], Array.from({ length: 60 }, (_, i) => [String(i)]));
    expect(compareCsv(reference, reference).verdict).toBe('ok');
    expect(compareCsv(reference, reference, { thresholds: { minRows: 61 } }).verdict).toBe('insufficient_data');
    expect(compareCsv(reference, reference, { thresholds: { minRows: 61 } }).thresholds.minRows).toBe(61);
  });

  it('refuses files whose columns differ, naming what is missing and what is extra', () => {
    const a = csv(['x', 'y'], []);
    const error = thrown(() => compareCsv(a, csv(['y', 'z', 'w'], [])));
    expect(error).toBeInstanceOf(ColumnMismatchError);
    expect(error.name).toBe('ColumnMismatchError');
    expect(error.message).toBe('the files must have the same columns; missing from current: x; not in reference: z, w');
    expect(thrown(() => compareCsv(a, csv(['x'], []))).message).toBe('the files must have the same columns; missing from current: y');
    expect(thrown(() => compareCsv(a, csv(['x', 'y', 'z'], []))).message).toBe('the files must have the same columns; not in reference: z');
    expect(thrown(() => compareCsv(csv(['x', 'y', 'v'], []), csv(['v'], []))).message).toBe('the files must have the same columns; missing from current: x, y');
  });
});
