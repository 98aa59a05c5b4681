/**
 * Global importance: the mean |SHAP value| of each input feature over rows (the pipeline's holdout), with the same
 * method and background the explain route uses, so the importance and a single explanation are on one scale.
 */
import { encodeRows } from '#core/model/encode.ts';
import type { FeatureImportance, FeatureRow, ModelMetadata } from '#core/model/metadata.ts';
import { backgroundFromBaseline } from './background.ts';
import { createExplainer, type RowScorer } from './explainer.ts';
import { readExplainableGraph } from './onnx-reader.ts';
import { DEFAULT_EXPLAIN_SETTINGS } from './settings.ts';

export interface ImportanceOptions {
  /** At most this many rows are explained (the first ones): the cost grows with rows × background. @default 100 */
  readonly maxRows?: number;
  /** @default DEFAULT_EXPLAIN_SETTINGS.backgroundSize */
  readonly backgroundSize?: number;
  /** Model evaluations per row for graphs without an exact method. @default DEFAULT_EXPLAIN_SETTINGS.samplingBudget */
  readonly samplingBudget?: number;
  /** Explains in batches of this many rows. @default 50 */
  readonly batchSize?: number;
}

/** Mean |SHAP| per feature of `metadata.input_schema` over `rows`, explained against the version's baseline background. */
export async function globalImportance(
  bytes: Uint8Array,
  metadata: ModelMetadata,
  rows: readonly FeatureRow[],
  scorer: RowScorer,
  options: ImportanceOptions = {},
): Promise<FeatureImportance> {
  const { preprocessing } = metadata;
  const maxRows = options.maxRows ?? 100;
  const batchSize = options.batchSize ?? 50;
  const explainer = createExplainer({
    graph: readExplainableGraph(bytes, preprocessing.input_name, preprocessing.output_name, preprocessing.columns),
    metadata,
    background: backgroundFromBaseline(metadata.input_schema, metadata.baseline, options.backgroundSize ?? DEFAULT_EXPLAIN_SETTINGS.backgroundSize),
    approximation: { kind: 'sampling', budget: options.samplingBudget ?? DEFAULT_EXPLAIN_SETTINGS.samplingBudget },
  });
  const explained = rows.slice(0, maxRows);
  const sums = new Float64Array(explainer.features.length);
  for (let start = 0; start < explained.length; start += batchSize) {
    const batch = explained.slice(start, start + batchSize);
    const { attributions } = await explainer.explain(encodeRows(preprocessing, batch), batch.length, scorer);
    for (const phi of attributions) for (let f = 0; f < phi.length; f++) sums[f] = (sums[f] as number) + Math.abs(phi[f] as number);
  }
  const count = Math.max(1, explained.length);
  return {
    method: explainer.method,
    rows: explained.length,
    background_rows: explainer.backgroundRows,
    mean_abs_shap: Object.fromEntries(explainer.features.map((feature, f) => [feature, (sums[f] as number) / count])),
  };
}

/** The features by importance, largest first (ties in schema order), with each one's share of the total. */
export function rankImportance(importance: FeatureImportance): { feature: string; mean_abs_shap: number; share: number }[] {
  const entries = Object.entries(importance.mean_abs_shap);
  const total = entries.reduce((sum, [, value]) => sum + value, 0);
  return entries
    .map(([feature, value]) => ({ feature, mean_abs_shap: value, share: total > 0 ? value / total : 0 }))
    .sort((a, b) => b.mean_abs_shap - a.mean_abs_shap);
}
