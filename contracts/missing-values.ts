/**
 * Missing values in CSV data: one policy for the trainer's CSV reader, the pipeline's data validation, the evaluation's
 * holdout and `mlops drift compare`. No zod here: the data reader that every function bundles imports it.
 */

/**
 * The cells, besides an empty one, that read as missing in a numeric column (trimmed, any case). In a column that is
 * otherwise numeric they are missing, so a numeric column with a few `NA` cells stays numeric; in a categorical column
 * they are categories like any other (`NA` may be North America). `pipeline.defaults.missingTokens` (and per model)
 * replaces the list for training runs; `mlops drift compare --missing-tokens` for a comparison.
 */
export const DEFAULT_MISSING_TOKENS: readonly string[] = ['NA', 'N/A', 'NaN', 'null', 'None', '?'];
