import { CsvFormatError, parseCsv } from '#core/data/csv.ts';
import { TrainingDataError, toLabelledTable, type LabelledTable } from '#core/data/table.ts';
import type { FeatureRow } from '#core/model/metadata.ts';
import { stratifiedSplit } from './split.ts';

/**
 * The stratified split every trainer and the pipeline's evaluation share: the same CSV, target,
 * seed and fraction always give the same training and holdout rows, so a model can be scored
 * again, by the runtime that serves it, on exactly the rows it was not trained on.
 */

export interface LabelledRows {
  readonly rows: FeatureRow[];
  readonly labels: Uint8Array;
}

export interface LabelledSplit {
  readonly table: LabelledTable;
  readonly train: LabelledRows;
  readonly holdout: LabelledRows;
}

function pick(table: LabelledTable, indexes: readonly number[]): LabelledRows {
  return {
    rows: indexes.map((i) => table.rows[i] as FeatureRow),
    labels: Uint8Array.from(indexes, (i) => table.labels[i] as number),
  };
}

export function splitLabelledCsv(input: {
  readonly csv: string;
  readonly target: string;
  readonly positiveLabel: string;
  readonly seed: number;
  readonly testFraction: number;
  readonly missingTokens?: readonly string[];
}): LabelledSplit {
  let parsed;
  try {
    parsed = parseCsv(input.csv);
  } catch (error) {
    if (error instanceof CsvFormatError) throw new TrainingDataError(`the data is not valid CSV: ${error.message}`, { cause: error });
    throw error;
  }
  const table = toLabelledTable(parsed, input.target, input.positiveLabel, input.missingTokens === undefined ? {} : { missingTokens: input.missingTokens });
  const split = stratifiedSplit(table.labels, input.testFraction, input.seed);
  return { table, train: pick(table, split.train), holdout: pick(table, split.holdout) };
}
