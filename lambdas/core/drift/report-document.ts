/**
 * The drift job's JSON report document, apart from the job that writes it: the HTML report renders it and the job
 * builds it, so neither imports the other for its shape.
 */
import type { Distribution } from './distributions.ts';
import type { LivePerformance } from './performance.ts';
import type { DriftReport } from './report.ts';

/** What started a drift check. */
export type DriftRunKind = 'hourly' | 'daily' | 'manual';

export interface RetrainOutcome {
  readonly requested: boolean;
  /** Why not, when not requested. */
  readonly reason: string;
  readonly run_id?: string;
}

/** The JSON report. */
export interface DriftReportDocument extends DriftReport {
  readonly model: string;
  readonly model_version: number;
  readonly kind: DriftRunKind;
  readonly generated_at: string;
  readonly window: {
    readonly from: string;
    readonly to: string;
    readonly duration_ms: number;
    /** Rows captured in the window; above `sampled_rows` when the window was sampled down to the row cap. */
    readonly captured_rows: number;
    /** Rows read and compared (at most `maxWindowRows`). */
    readonly sampled_rows: number;
  };
  readonly distributions: Readonly<Record<string, Distribution>>;
  readonly prediction_distribution?: Distribution;
  readonly performance: LivePerformance;
  /** Features whose verdict is warning or critical. */
  readonly drifted_features: string[];
  readonly retrain?: RetrainOutcome;
  readonly report_keys: { readonly json: string; readonly html: string };
}
