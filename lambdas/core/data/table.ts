/**
 * Turns a parsed CSV into typed feature rows and binary labels for training.
 *
 * Missing values, one policy for the trainer, the data validation, `mlops drift compare` and the drift
 * job: an empty cell is missing in any column, and so is a missing token ({@link DEFAULT_MISSING_TOKENS},
 * compared after trimming and ignoring case) in a column that is otherwise numeric. A column is numeric
 * when every non-missing value is a finite decimal number (e.g. `12`, `-3.5`, `1e-3`), otherwise
 * categorical: its values stay strings, tokens included (`NA` may be a real category there, such as
 * North America). A column with no values at all counts as numeric.
 */
import { DEFAULT_MISSING_TOKENS } from '#contracts/missing-values.ts';
import type { CsvCell, ParsedCsv } from './csv.ts';
import type { FeatureRow, FeatureValue } from '#core/model/metadata.ts';

/** The data cannot be used for training (missing target, non-binary target, too few rows, …). */
export class TrainingDataError extends Error {
  override readonly name = 'TrainingDataError';
}

export type FeatureKind = 'numeric' | 'categorical';

export interface FeatureColumn {
  readonly name: string;
  readonly kind: FeatureKind;
}

export interface LabelledTable {
  /** The feature columns in CSV order, the target excluded. */
  readonly features: readonly FeatureColumn[];
  readonly rows: readonly FeatureRow[];
  /** 1 where the target equals the positive label, else 0; one per row. */
  readonly labels: Uint8Array;
  readonly positiveLabel: string;
  readonly negativeLabel: string;
}

/** The cells, besides an empty one, that read as missing in a numeric column (declared once, in the contracts). */
export { DEFAULT_MISSING_TOKENS };

/** A set of missing tokens, normalised for {@link isMissingCell}. */
export type MissingTokens = ReadonlySet<string>;

/** Normalises a list of missing tokens (trimmed, lower case) for {@link isMissingCell}. */
export function missingTokens(tokens: readonly string[] = DEFAULT_MISSING_TOKENS): MissingTokens {
  return new Set(tokens.map((t) => t.trim().toLowerCase()));
}

const DEFAULT_TOKENS = missingTokens();

/** Whether a cell is missing in a numeric column: absent, empty, blank or one of `tokens`. */
export function isMissingCell(cell: CsvCell | undefined, tokens: MissingTokens = DEFAULT_TOKENS): boolean {
  if (cell === null || cell === undefined) return true;
  const trimmed = cell.trim();
  return trimmed === '' || tokens.has(trimmed.toLowerCase());
}

/** The value of a cell in a column of `kind`: a number, a category, or null when missing. */
export function cellValue(cell: CsvCell | undefined, kind: FeatureKind, tokens: MissingTokens = DEFAULT_TOKENS): FeatureValue {
  if (cell === null || cell === undefined || cell.trim() === '') return null;
  if (kind === 'categorical') return cell;
  return isMissingCell(cell, tokens) ? null : Number(cell);
}

const DECIMAL = /^\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*$/;

/** Whether a CSV cell reads as a finite number. */
export function isNumericCell(value: string): boolean {
  return DECIMAL.test(value) && Number.isFinite(Number(value));
}

/** Infers the kind of one column from its cells: numeric when every cell is missing or a number. */
export function inferColumnKind(cells: Iterable<CsvCell | undefined>, tokens: MissingTokens = DEFAULT_TOKENS): FeatureKind {
  for (const cell of cells) {
    if (!isMissingCell(cell, tokens) && !isNumericCell(cell as string)) return 'categorical';
  }
  return 'numeric';
}

/** Infers the kind of every column of `csv` from its non-missing values. */
export function inferColumnKinds(csv: ParsedCsv, tokens: MissingTokens = DEFAULT_TOKENS): FeatureKind[] {
  return csv.header.map((_, column) => inferColumnKind(columnCells(csv, column), tokens));
}

/** The cells of one column, top to bottom. */
export function* columnCells(csv: ParsedCsv, column: number): Generator<CsvCell | undefined> {
  for (const row of csv.rows) yield row[column];
}

export interface TableOptions {
  /** Cells read as missing in a numeric column, besides empty ones. Default {@link DEFAULT_MISSING_TOKENS}. */
  readonly missingTokens?: readonly string[];
}

/**
 * Splits `csv` into typed feature rows and 0/1 labels.
 * @throws TrainingDataError when the target column is absent, has missing values, does not have
 *   exactly two distinct values, or does not contain `positiveLabel`; or when no feature is left.
 */
export function toLabelledTable(csv: ParsedCsv, target: string, positiveLabel: string, options: TableOptions = {}): LabelledTable {
  const tokens = missingTokens(options.missingTokens);
  const targetIndex = csv.header.indexOf(target);
  if (targetIndex < 0) {
    throw new TrainingDataError(`target column "${target}" is not in the data (columns: ${csv.header.join(', ')})`);
  }
  if (csv.header.length < 2) throw new TrainingDataError('the data has no feature column besides the target');
  if (csv.rows.length === 0) throw new TrainingDataError('the data has no rows');

  const distinct = new Set<string>();
  csv.rows.forEach((row, index) => {
    const value = row[targetIndex];
    if (value === null || value === undefined) {
      throw new TrainingDataError(`target "${target}" is missing in data row ${index + 1}`);
    }
    distinct.add(value);
  });
  if (distinct.size !== 2) {
    const shown = [...distinct].slice(0, 5).map((v) => `"${v}"`).join(', ');
    throw new TrainingDataError(
      `target "${target}" must have exactly 2 distinct values, found ${distinct.size} (${shown}${distinct.size > 5 ? ', …' : ''})`,
    );
  }
  if (!distinct.has(positiveLabel)) {
    throw new TrainingDataError(
      `positive label "${positiveLabel}" does not occur in target "${target}" (values: ${[...distinct].map((v) => `"${v}"`).join(', ')})`,
    );
  }
  const negativeLabel = [...distinct].find((v) => v !== positiveLabel) as string;

  const kinds = inferColumnKinds(csv, tokens);
  const featureIndexes = csv.header.map((_, i) => i).filter((i) => i !== targetIndex);
  const features = featureIndexes.map((i) => ({ name: csv.header[i] as string, kind: kinds[i] as FeatureKind }));

  const labels = new Uint8Array(csv.rows.length);
  const rows = csv.rows.map((row, r) => {
    labels[r] = row[targetIndex] === positiveLabel ? 1 : 0;
    // Object.fromEntries defines own properties, so any column name (even "__proto__") is safe.
    return Object.fromEntries(
      featureIndexes.map((i): [string, FeatureValue] => {
        return [csv.header[i] as string, cellValue(row[i], kinds[i] as FeatureKind, tokens)];
      }),
    ) as FeatureRow;
  });

  return { features, rows, labels, positiveLabel, negativeLabel };
}
