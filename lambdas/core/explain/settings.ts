/** The explain route's settings (config `explain`, env `EXPLAIN_*`): the contract's schema declares them and their defaults. */
import { EXPLAIN_APPROXIMATIONS, explainConfig, type ExplainApproximation } from '#contracts/explain.ts';

/** What explain does with a graph that has no exact method: estimate by sampling (flagged approximate), or refuse with 422. */
export type ApproximationSetting = ExplainApproximation;
export const APPROXIMATION_SETTINGS: readonly ApproximationSetting[] = EXPLAIN_APPROXIMATIONS;

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

/** The deployment config's defaults (without the throttle, which API Gateway applies). */
export const DEFAULT_EXPLAIN_SETTINGS: ExplainSettings = (({ throttle: _throttle, ...settings }) => settings)(explainConfig.parse({}));
