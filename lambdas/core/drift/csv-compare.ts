/**
 * `mlops drift compare`: the drift statistics on two CSV files with the same columns, no deployment.
 *
 * The reference file plays the baseline: its profile (deciles, category counts, std, missing count) and,
 * for numeric columns, its raw values as the baseline sample, so KS is SciPy's `ks_2samp(reference, current)`
 * on the raw columns and chi-square is `chi2_contingency([reference counts, current counts])`.
 * Missing values follow the trainer's policy (data/table.ts): a column is numeric when every cell of both
 * files is missing (empty, or a missing token such as `NA`) or reads as a number, and its missing rates are
 * compared as two proportions.
 */
import type { ParsedCsv } from '#core/data/csv.ts';
import { cellValue, columnCells, inferColumnKind, missingTokens, type FeatureKind, type MissingTokens } from '#core/data/table.ts';
import type { FeatureRow, FeatureValue } from '#core/model/metadata.ts';
import { profileFeatures } from '#core/profile/baseline.ts';
import { type Distribution, featureDistributions } from './distributions.ts';
import { type DriftReport, type DriftThresholds, type DriftVerdict, type MissingDrift, driftReport } from './report.ts';

/** The files do not have the same columns. */
export class ColumnMismatchError extends Error {
  override readonly name = 'ColumnMismatchError';
}

export interface FeatureComparison {
  readonly feature: string;
  readonly type: 'numeric' | 'categorical';
  readonly test: 'ks' | 'chi_square';
  readonly statistic: number | null;
  readonly p_value: number | null;
  readonly psi: number | null;
  /** Wasserstein-1 divided by the reference's standard deviation (numeric columns; null otherwise). */
  readonly distance: number | null;
  readonly wasserstein: number | null;
  readonly unseen_categories: string[];
  /** Missing rates of reference and current and their two-proportion test. */
  readonly missing: MissingDrift;
  readonly verdict: DriftVerdict;
}

export interface CompareOptions {
  readonly thresholds?: Partial<DriftThresholds>;
  /** Cells read as missing in a numeric column, besides empty ones. Default `DEFAULT_MISSING_TOKENS` (data/table.ts). */
  readonly missingTokens?: readonly string[];
}

export interface CsvComparison {
  readonly verdict: DriftVerdict;
  readonly reference_rows: number;
  readonly current_rows: number;
  readonly drifted_share: number;
  readonly drift_score: number;
  readonly thresholds: DriftThresholds;
  readonly features: FeatureComparison[];
  readonly report: DriftReport;
  readonly distributions: Record<string, Distribution>;
}

function toRows(csv: ParsedCsv, kinds: readonly FeatureKind[], tokens: MissingTokens): FeatureRow[] {
  return csv.rows.map((cells) => {
    const row: Record<string, FeatureValue> = {};
    csv.header.forEach((name, i) => {
      row[name] = cellValue(cells[i], kinds[i] as FeatureKind, tokens);
    });
    return row;
  });
}

/** Compares `current` with `reference` column by column. */
export function compareCsv(reference: ParsedCsv, current: ParsedCsv, options: CompareOptions = {}): CsvComparison {
  const { thresholds } = options;
  const tokens = missingTokens(options.missingTokens);
  const missing = reference.header.filter((c) => !current.header.includes(c));
  const extra = current.header.filter((c) => !reference.header.includes(c));
  if (missing.length > 0 || extra.length > 0) {
    throw new ColumnMismatchError(
      `the files must have the same columns${missing.length > 0 ? `; missing from current: ${missing.join(', ')}` : ''}${extra.length > 0 ? `; not in reference: ${extra.join(', ')}` : ''}`,
    );
  }
  const currentIndex = reference.header.map((name) => current.header.indexOf(name));
  const aligned: ParsedCsv = { header: reference.header, rows: current.rows.map((cells) => currentIndex.map((i) => cells[i] ?? null)) };
  const kinds = reference.header.map((_, column) => inferColumnKind([...columnCells(reference, column), ...columnCells(aligned, column)], tokens));
  const features = reference.header.map((name, i) => ({ name, kind: kinds[i] as FeatureKind }));
  const referenceRows = toRows(reference, kinds, tokens);
  const currentRows = toRows(aligned, kinds, tokens);
  const baseline = profileFeatures(features, referenceRows);
  const samples: Record<string, number[]> = {};
  for (const feature of features) {
    if (feature.kind !== 'numeric') continue;
    samples[feature.name] = referenceRows.map((r) => r[feature.name]).filter((v): v is number => typeof v === 'number');
  }
  const report = driftReport({ baseline, baselineSamples: samples, current: currentRows, ...(thresholds === undefined ? {} : { thresholds }) });
  return {
    verdict: report.verdict,
    reference_rows: referenceRows.length,
    current_rows: currentRows.length,
    drifted_share: report.drifted_share,
    drift_score: report.drift_score,
    thresholds: report.thresholds,
    features: report.features.map((f) => ({
      feature: f.name,
      type: f.type,
      test: f.test,
      statistic: f.statistic,
      p_value: f.p_value,
      psi: f.psi,
      distance: f.wasserstein_normalised ?? null,
      wasserstein: f.wasserstein ?? null,
      unseen_categories: f.unseen_categories ?? [],
      missing: f.missing,
      verdict: f.verdict,
    })),
    report,
    distributions: featureDistributions(baseline, currentRows, samples),
  };
}
