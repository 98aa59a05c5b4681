/** The explain route's settings (config `explain`, env `EXPLAIN_*`); the defaults match the deployment config's. */

/** What explain does with a graph that has no exact method: estimate by sampling (flagged approximate), or refuse with 422. */
export type ApproximationSetting = 'sampling' | 'refuse';
export const APPROXIMATION_SETTINGS: readonly ApproximationSetting[] = ['sampling', 'refuse'];

export interface ExplainSettings {
  /** Most instances per explain request (explaining costs more than predicting). */
  readonly maxBatchSize: number;
  /** Rows of the background sample drawn from the baseline profile. */
  readonly backgroundSize: number;
  readonly approximation: ApproximationSetting;
  /** Model evaluations per instance when sampling. */
  readonly samplingBudget: number;
  /** Attributions listed in `top_contributions`. */
  readonly topContributions: number;
}

export const DEFAULT_EXPLAIN_SETTINGS: ExplainSettings = {
  maxBatchSize: 10,
  backgroundSize: 100,
  approximation: 'sampling',
  samplingBudget: 2000,
  topContributions: 5,
};
