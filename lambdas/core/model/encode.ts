/**
 * Encodes validated feature rows into the row-major float32 input tensor described by
 * `Preprocessing`. Used by the trainer and, per request, by the predict handler, so it is
 * written as plain loops that allocate nothing but the output array.
 */
import type { ColumnEncoding, FeatureRow, Preprocessing } from './metadata.ts';

/** The number of tensor columns the encodings produce: 1 per numeric feature, 1 per category. */
export function encodedColumnCount(encodings: readonly ColumnEncoding[]): number {
  let columns = 0;
  for (let e = 0; e < encodings.length; e++) {
    const encoding = encodings[e] as ColumnEncoding;
    columns += encoding.kind === 'numeric' ? 1 : encoding.categories.length;
  }
  return columns;
}

/**
 * Encodes `rows` into a Float32Array of shape [rows.length, preprocessing.columns].
 *
 * - numeric: the value, or `impute` when it is null (or not a number); NaN when `impute` is null;
 * - one_hot: a 1 in the column of the value's category; a null (or non-string) value takes the
 *   `impute` category, or all zeros when `impute` is null; an unknown category is all zeros.
 *
 * Rows are expected to be validated against the input schema already.
 */
export function encodeRows(preprocessing: Preprocessing, rows: readonly FeatureRow[]): Float32Array {
  const { encodings, columns } = preprocessing;
  if (encodedColumnCount(encodings) !== columns) {
    throw new Error(`preprocessing declares ${columns} columns but its encodings produce ${encodedColumnCount(encodings)}`);
  }
  const out = new Float32Array(rows.length * columns);
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r] as FeatureRow;
    let offset = r * columns;
    for (let e = 0; e < encodings.length; e++) {
      const encoding = encodings[e] as ColumnEncoding;
      const value = row[encoding.feature];
      if (encoding.kind === 'numeric') {
        out[offset] = typeof value === 'number' ? value : (encoding.impute ?? Number.NaN);
        offset += 1;
      } else {
        const category = typeof value === 'string' ? value : encoding.impute;
        if (category !== null) {
          const index = encoding.categories.indexOf(category);
          if (index >= 0) out[offset + index] = 1;
        }
        offset += encoding.categories.length;
      }
    }
  }
  return out;
}
