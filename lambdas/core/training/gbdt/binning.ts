/**
 * Quantile bins for histogram tree growing.
 *
 * Each encoded column gets an ascending list of float32 thresholds; a value's bin is the index of
 * the first threshold it does not exceed (or the last bin when it exceeds them all). A split that
 * sends bins 0..b left is then exactly the test `x <= thresholds[b]`, the test the exported ONNX
 * tree ensemble (`BRANCH_LEQ` on float32 inputs) applies at serving time.
 */

export interface ColumnBins {
  /**
   * Ascending float32 values (stored as numbers); bin b holds the values x with
   * thresholds[b - 1] < x <= thresholds[b]. A column with one distinct value has none.
   */
  readonly thresholds: readonly number[];
}

export interface BinnedMatrix {
  /** Row-major bin indexes, rows × columns. */
  readonly bins: Uint8Array;
  readonly rows: number;
  readonly columns: number;
}

/** At most 256 bins, so a bin index fits a byte. */
export const MAX_BINS_LIMIT = 256;

/**
 * A float32 threshold t with `low <= t < high` for two float32 values `low < high`: the midpoint
 * rounded to float32 when it stays below `high`, else `low` itself. Computing it in float32 means
 * that no float32 input can compare differently in the trainer and in onnxruntime.
 */
export function float32Threshold(low: number, high: number): number {
  const middle = Math.fround((low + high) / 2);
  return middle < high ? middle : low;
}

/**
 * Fits the bins of every column on the training matrix `x` (row-major float32 values).
 * Columns with at most `maxBins` distinct values get one bin per value; others get cuts at the
 * k / maxBins quantiles (k = 1 … maxBins − 1), so each bin holds about the same number of rows.
 */
export function fitBins(x: Float32Array, rows: number, columns: number, maxBins: number): ColumnBins[] {
  if (!Number.isInteger(maxBins) || maxBins < 2 || maxBins > MAX_BINS_LIMIT) {
    throw new RangeError(`maxBins must be an integer in [2, ${MAX_BINS_LIMIT}], got ${maxBins}`);
  }
  const result: ColumnBins[] = [];
  const values = new Float32Array(rows);
  for (let c = 0; c < columns; c++) {
    for (let r = 0; r < rows; r++) values[r] = x[r * columns + c] as number;
    values.sort();
    result.push({ thresholds: columnThresholds(values, maxBins) });
  }
  return result;
}

/** Thresholds of one column from its sorted values. */
function columnThresholds(sorted: Float32Array, maxBins: number): number[] {
  const distinct: number[] = [];
  for (let i = 0; i < sorted.length; i++) {
    const value = sorted[i] as number;
    if (distinct.length === 0 || value !== distinct[distinct.length - 1]) distinct.push(value);
  }
  // Cut after each chosen value: between it and the next larger distinct value.
  let cutValues: number[];
  if (distinct.length <= maxBins) {
    cutValues = distinct.slice(0, -1);
  } else {
    cutValues = [];
    for (let k = 1; k < maxBins; k++) {
      // The largest value of the lowest k / maxBins share of the rows.
      const value = sorted[Math.floor((k * sorted.length) / maxBins) - 1] as number;
      if (value !== cutValues[cutValues.length - 1] && value !== distinct[distinct.length - 1]) cutValues.push(value);
    }
  }
  const thresholds: number[] = [];
  let next = 0;
  for (const value of cutValues) {
    while ((distinct[next] as number) <= value) next++;
    thresholds.push(float32Threshold(value, distinct[next] as number));
  }
  return thresholds;
}

/** The bin of `value`: the number of thresholds it exceeds (binary search). */
export function binOf(thresholds: readonly number[], value: number): number {
  let low = 0;
  let high = thresholds.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (value <= (thresholds[middle] as number)) high = middle;
    else low = middle + 1;
  }
  return low;
}

/** Maps every value of `x` to its column's bin. */
export function binMatrix(x: Float32Array, rows: number, columns: number, bins: readonly ColumnBins[]): BinnedMatrix {
  const out = new Uint8Array(rows * columns);
  for (let c = 0; c < columns; c++) {
    const thresholds = (bins[c] as ColumnBins).thresholds;
    for (let r = 0; r < rows; r++) out[r * columns + c] = binOf(thresholds, x[r * columns + c] as number);
  }
  return { bins: out, rows, columns };
}
