/**
 * The pipeline's first step: checks that a training CSV is fit to train on before any compute
 * is spent on it, and reports what it found.
 *
 * `validateTrainingData` never throws on bad data: every problem becomes a failed check in the
 * report, so the state machine can branch on `passed` and show the reasons. Only a programming
 * error (an invalid spec) throws.
 *
 * Check names, in report order (a check whose input is unavailable is left out, e.g. the target
 * checks when the target column is absent, or everything after `parses_as_csv` when parsing fails):
 *
 * - `parses_as_csv`: the text is RFC 4180 CSV with a valid header.
 * - `target_present`: the target column is in the header.
 * - `target_complete`: no row lacks a target value.
 * - `target_binary`: the target has exactly two distinct values.
 * - `positive_label_present`: at least one row has the positive label.
 * - `min_rows`: at least `minRows` data rows.
 * - `missing_rate`: no feature column has a larger share of missing cells than `maxMissingRate`
 *   (the value is the worst column's rate; the target is covered by `target_complete`). Missing is the
 *   trainer's policy (data/table.ts): an empty cell, or a missing token such as `NA` in a numeric column.
 * - `duplicate_rate`: the share of rows that exactly repeat an earlier row is at most `maxDuplicateRate`.
 * - `class_balance`: the rarer class makes up at least `minMinorityRate` of the labelled rows.
 * - `has_features`: at least one column besides the target.
 */
import { CsvFormatError, parseCsv } from '#core/data/csv.ts';
import type { ParsedCsv } from '#core/data/csv.ts';
import { inferColumnKinds, isMissingCell, missingTokens, type MissingTokens } from '#core/data/table.ts';
import type { FeatureKind } from '#core/data/table.ts';

export const DEFAULT_MIN_ROWS = 200;
export const DEFAULT_MAX_MISSING_RATE = 0.5;
export const DEFAULT_MAX_DUPLICATE_RATE = 0.1;
export const DEFAULT_MIN_MINORITY_RATE = 0.05;

export interface DataValidationSpec {
  /** Name of the target column. */
  readonly target: string;
  /** The target value that counts as positive. */
  readonly positiveLabel: string;
  /** Fewest data rows accepted. Default 200. */
  readonly minRows?: number;
  /** Largest share of missing cells accepted in any feature column, in [0, 1]. Default 0.5. */
  readonly maxMissingRate?: number;
  /** Largest share of exact duplicate rows accepted, in [0, 1]. Default 0.1. */
  readonly maxDuplicateRate?: number;
  /** Smallest share of the rarer class accepted, in [0, 0.5]. Default 0.05. */
  readonly minMinorityRate?: number;
  /** Cells read as missing in a numeric column, besides empty ones. Default `DEFAULT_MISSING_TOKENS` (data/table.ts). */
  readonly missingTokens?: readonly string[];
}

export type DataCheckName =
  | 'parses_as_csv'
  | 'target_present'
  | 'target_complete'
  | 'target_binary'
  | 'positive_label_present'
  | 'min_rows'
  | 'missing_rate'
  | 'duplicate_rate'
  | 'class_balance'
  | 'has_features';

/** One check: what was measured (`value`), what was required (`threshold`) and a sentence saying so. */
export interface DataCheck {
  readonly name: DataCheckName;
  readonly passed: boolean;
  readonly value: number | string;
  readonly threshold: number | string;
  readonly message: string;
}

export interface ColumnReport {
  readonly name: string;
  readonly kind: FeatureKind;
  /** Share of the rows whose cell is missing: empty, or a missing token in a numeric column (0 when there are no rows). */
  readonly missing_rate: number;
  /** Number of distinct non-missing values. */
  readonly distinct: number;
}

export interface ClassBalance {
  /** Rows whose target is the positive label. */
  readonly positive: number;
  /** Rows whose target is present and is not the positive label. */
  readonly negative: number;
  /** positive / (positive + negative). */
  readonly positive_rate: number;
}

export interface DataQualityReport {
  /** Whether every check passed. */
  readonly passed: boolean;
  /** Data rows (the header excluded); 0 when the CSV does not parse. */
  readonly rows: number;
  /** Header columns, the target included; 0 when the CSV does not parse. */
  readonly columns: number;
  readonly checks: readonly DataCheck[];
  /** Every column in CSV order, the target included. */
  readonly per_column: readonly ColumnReport[];
  /** Counts of the target's classes; null when the target is absent or has no values. */
  readonly class_balance: ClassBalance | null;
}

function checkRate(name: string, value: number, max = 1): void {
  if (!(value >= 0 && value <= max)) throw new RangeError(`${name} must be in [0, ${max}], got ${value}`);
}

/** Formats a rate as a percentage with up to two decimals, e.g. 0.28154 → "28.15%". */
function percent(rate: number): string {
  return `${Number((rate * 100).toFixed(2))}%`;
}

/**
 * Validates the training data in `csvText` against `spec`.
 * @throws RangeError only when `spec` itself is invalid (empty target, thresholds out of range).
 */
export function validateTrainingData(csvText: string, spec: DataValidationSpec): DataQualityReport {
  const minRows = spec.minRows ?? DEFAULT_MIN_ROWS;
  const maxMissingRate = spec.maxMissingRate ?? DEFAULT_MAX_MISSING_RATE;
  const maxDuplicateRate = spec.maxDuplicateRate ?? DEFAULT_MAX_DUPLICATE_RATE;
  const minMinorityRate = spec.minMinorityRate ?? DEFAULT_MIN_MINORITY_RATE;
  if (spec.target === '') throw new RangeError('target must be a non-empty column name');
  if (spec.positiveLabel === '') throw new RangeError('positiveLabel must be non-empty (an empty cell is a missing value)');
  if (!(Number.isInteger(minRows) && minRows >= 0)) throw new RangeError(`minRows must be a non-negative integer, got ${minRows}`);
  checkRate('maxMissingRate', maxMissingRate);
  checkRate('maxDuplicateRate', maxDuplicateRate);
  checkRate('minMinorityRate', minMinorityRate, 0.5);

  let csv: ParsedCsv;
  try {
    csv = parseCsv(csvText);
  } catch (error) {
    if (!(error instanceof CsvFormatError)) throw error;
    const check: DataCheck = {
      name: 'parses_as_csv',
      passed: false,
      value: error.message,
      threshold: 'valid CSV with a header row',
      message: `the data is not valid CSV: ${error.message}`,
    };
    return { passed: false, rows: 0, columns: 0, checks: [check], per_column: [], class_balance: null };
  }

  const rowCount = csv.rows.length;
  const checks: DataCheck[] = [
    {
      name: 'parses_as_csv',
      passed: true,
      value: 'valid',
      threshold: 'valid CSV with a header row',
      message: `the data parses as CSV: ${csv.header.length} columns, ${rowCount} rows`,
    },
  ];

  const perColumn = columnReports(csv, missingTokens(spec.missingTokens));
  const targetIndex = csv.header.indexOf(spec.target);
  let classBalance: ClassBalance | null = null;
  if (targetIndex >= 0) {
    classBalance = targetChecks(csv, targetIndex, spec, checks);
  } else {
    checks.push({
      name: 'target_present',
      passed: false,
      value: 'absent',
      threshold: `column "${spec.target}"`,
      message: `target column "${spec.target}" is not in the data (columns: ${csv.header.join(', ')})`,
    });
  }

  checks.push({
    name: 'min_rows',
    passed: rowCount >= minRows,
    value: rowCount,
    threshold: minRows,
    message:
      rowCount >= minRows
        ? `${rowCount} rows, at least the ${minRows} required`
        : `only ${rowCount} rows, fewer than the ${minRows} required`,
  });

  checks.push(missingRateCheck(perColumn, spec.target, maxMissingRate));
  checks.push(duplicateRateCheck(csv, maxDuplicateRate));

  if (classBalance !== null) {
    const { positive, negative } = classBalance;
    const minority = Math.min(positive, negative) / (positive + negative);
    const rarer = positive <= negative ? `positive "${spec.positiveLabel}"` : 'negative';
    checks.push({
      name: 'class_balance',
      passed: minority >= minMinorityRate,
      value: minority,
      threshold: minMinorityRate,
      message:
        minority >= minMinorityRate
          ? `the rarer (${rarer}) class is ${percent(minority)} of the rows, at least the ${percent(minMinorityRate)} required`
          : `the rarer (${rarer}) class is only ${percent(minority)} of the rows, below the ${percent(minMinorityRate)} required`,
    });
  }

  const featureCount = csv.header.length - (targetIndex < 0 ? 0 : 1);
  checks.push({
    name: 'has_features',
    passed: featureCount >= 1,
    value: featureCount,
    threshold: 1,
    message: featureCount >= 1 ? `${featureCount} feature columns besides the target` : 'there is no feature column besides the target',
  });

  return {
    passed: checks.every((c) => c.passed),
    rows: rowCount,
    columns: csv.header.length,
    checks,
    per_column: perColumn,
    class_balance: classBalance,
  };
}

function columnReports(csv: ParsedCsv, tokens: MissingTokens): ColumnReport[] {
  const kinds = inferColumnKinds(csv, tokens);
  return csv.header.map((name, column) => {
    const numeric = kinds[column] === 'numeric';
    let missing = 0;
    const distinct = new Set<string>();
    for (const row of csv.rows) {
      const cell = row[column] ?? null;
      if (cell === null || (numeric && isMissingCell(cell, tokens))) missing++;
      else distinct.add(cell);
    }
    return {
      name,
      kind: kinds[column] ?? 'numeric',
      missing_rate: csv.rows.length === 0 ? 0 : missing / csv.rows.length,
      distinct: distinct.size,
    };
  });
}

/** Adds the target checks to `checks` and returns the class counts (null when no row has a target value). */
function targetChecks(
  csv: ParsedCsv,
  targetIndex: number,
  spec: DataValidationSpec,
  checks: DataCheck[],
): ClassBalance | null {
  const { target, positiveLabel } = spec;
  checks.push({
    name: 'target_present',
    passed: true,
    value: 'present',
    threshold: `column "${target}"`,
    message: `target column "${target}" is present`,
  });

  let missing = 0;
  let positive = 0;
  let negative = 0;
  const distinct = new Set<string>();
  for (const row of csv.rows) {
    const value = row[targetIndex] ?? null;
    if (value === null) {
      missing++;
      continue;
    }
    distinct.add(value);
    if (value === positiveLabel) positive++;
    else negative++;
  }

  checks.push({
    name: 'target_complete',
    passed: missing === 0,
    value: missing,
    threshold: 0,
    message: missing === 0 ? `every row has a "${target}" value` : `${missing} rows have no "${target}" value`,
  });

  const shown = [...distinct].slice(0, 5).map((v) => `"${v}"`).join(', ') + (distinct.size > 5 ? ', …' : '');
  checks.push({
    name: 'target_binary',
    passed: distinct.size === 2,
    value: distinct.size,
    threshold: 2,
    message:
      distinct.size === 2
        ? `target "${target}" has exactly 2 distinct values (${shown})`
        : `target "${target}" must have exactly 2 distinct values, found ${distinct.size}${distinct.size > 0 ? ` (${shown})` : ''}`,
  });

  checks.push({
    name: 'positive_label_present',
    passed: positive > 0,
    value: positive,
    threshold: 1,
    message:
      positive > 0
        ? `positive label "${positiveLabel}" occurs in ${positive} rows`
        : `positive label "${positiveLabel}" does not occur in target "${target}"${distinct.size > 0 ? ` (values: ${shown})` : ''}`,
  });

  const labelled = positive + negative;
  return labelled === 0 ? null : { positive, negative, positive_rate: positive / labelled };
}

function missingRateCheck(perColumn: readonly ColumnReport[], target: string, maxMissingRate: number): DataCheck {
  const features = perColumn.filter((c) => c.name !== target);
  let worst: ColumnReport | undefined;
  for (const column of features) if (worst === undefined || column.missing_rate > worst.missing_rate) worst = column;
  const worstRate = worst?.missing_rate ?? 0;
  const over = features.filter((c) => c.missing_rate > maxMissingRate);
  return {
    name: 'missing_rate',
    passed: over.length === 0,
    value: worstRate,
    threshold: maxMissingRate,
    message:
      over.length === 0
        ? `every feature column is at most ${percent(maxMissingRate)} missing (worst: ${worst === undefined ? 'none' : `"${worst.name}" ${percent(worstRate)}`})`
        : `${over.length} feature columns are more than ${percent(maxMissingRate)} missing: ${over
            .map((c) => `"${c.name}" ${percent(c.missing_rate)}`)
            .join(', ')}`,
  };
}

function duplicateRateCheck(csv: ParsedCsv, maxDuplicateRate: number): DataCheck {
  const seen = new Set<string>();
  let duplicates = 0;
  for (const row of csv.rows) {
    // JSON keeps null (missing) apart from the string "null" and escapes commas inside cells.
    const key = JSON.stringify(row);
    if (seen.has(key)) duplicates++;
    else seen.add(key);
  }
  const rate = csv.rows.length === 0 ? 0 : duplicates / csv.rows.length;
  return {
    name: 'duplicate_rate',
    passed: rate <= maxDuplicateRate,
    value: rate,
    threshold: maxDuplicateRate,
    message:
      rate <= maxDuplicateRate
        ? `${duplicates} rows repeat an earlier row (${percent(rate)}), at most the ${percent(maxDuplicateRate)} allowed`
        : `${duplicates} rows repeat an earlier row (${percent(rate)}), more than the ${percent(maxDuplicateRate)} allowed`,
  };
}
