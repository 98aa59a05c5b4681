/**
 * The `/explain` answer of one batch: the explainer's values checked and shaped for the client.
 *
 * Every instance is checked before anything is returned: its attributions plus the base value must equal its
 * log-odds within ADDITIVITY_TOLERANCE relative to the size of the terms (at least 1), and (exact methods) the log-odds read from the graph must give the probability
 * the version's own session scored within PROBABILITY_TOLERANCE (the session computes in float32). A failure is an
 * InternalCheckError (500 `EXPLANATION_CHECK_FAILED`), never a wrong answer.
 */
import { InternalCheckError } from '#core/errors.ts';
import type { BinaryOutput, FeatureRow, FeatureValue } from '#core/model/metadata.ts';
import type { BackgroundSource } from './background.ts';
import { additivityGap, type ExplainMethod, type Explainer, type Explanations } from './explainer.ts';
import { sigmoid } from './margin.ts';

export const ADDITIVITY_TOLERANCE = 1e-6;
export const PROBABILITY_TOLERANCE = 1e-4;

export interface Contribution {
  readonly feature: string;
  /** The instance's value of the feature, as sent (null when missing). */
  readonly value: FeatureValue;
  readonly attribution: number;
}

export interface InstanceExplanation {
  readonly label: string;
  /** The positive-class probability, as predict answers it. */
  readonly probability: number;
  /** The instance's margin: base_value + Σ attributions. */
  readonly log_odds: number;
  /** The mean log-odds of the background. */
  readonly base_value: number;
  /** One value per input feature, in schema order, in log-odds. */
  readonly attributions: Record<string, number>;
  /** The largest attributions by magnitude, largest first. */
  readonly top_contributions: Contribution[];
}

export interface ExplanationBatch {
  readonly method: ExplainMethod;
  readonly approximate: boolean;
  readonly output_space: 'log_odds';
  readonly background: { readonly source: BackgroundSource; readonly rows: number };
  readonly explanations: InstanceExplanation[];
}

/** Shapes and checks `explanations` of `rows`; `probabilities` are the session's scores of the same rows. */
export function answerExplanations(
  explainer: Explainer,
  explanations: Explanations,
  rows: readonly FeatureRow[],
  probabilities: ArrayLike<number>,
  output: BinaryOutput,
  topContributions: number,
  context: Readonly<Record<string, unknown>>,
): ExplanationBatch {
  const { features } = explainer;
  const answers: InstanceExplanation[] = [];
  for (let i = 0; i < rows.length; i++) {
    const phi = explanations.attributions[i] as Float64Array;
    const margin = explanations.margins[i] as number;
    const probability = probabilities[i] as number;
    const gap = additivityGap(explanations, i);
    // Relative to the terms' size: float64 sums of attributions in the 1e13s (a client's 9e15 for a feature the model
    // weighs) carry rounding of 1e-3, which is no failure of the explainer.
    let scale = Math.max(1, Math.abs(explanations.base), Math.abs(margin));
    for (const v of phi) scale += Math.abs(v);
    if (!(gap <= ADDITIVITY_TOLERANCE * scale)) {
      throw new InternalCheckError('EXPLANATION_CHECK_FAILED', 'the attributions do not add up to the prediction; no explanation is returned', {
        ...context,
        instance: i,
        check: 'additivity',
        gap,
      });
    }
    const drift = Math.abs(sigmoid(margin) - probability);
    if (!(drift <= PROBABILITY_TOLERANCE)) {
      throw new InternalCheckError('EXPLANATION_CHECK_FAILED', 'the explained log-odds do not match the probability the model scored; no explanation is returned', {
        ...context,
        instance: i,
        check: 'probability',
        gap: drift,
      });
    }
    const row = rows[i] as FeatureRow;
    const attributions: Record<string, number> = {};
    const contributions: Contribution[] = [];
    features.forEach((feature, f) => {
      const value = phi[f] as number;
      attributions[feature] = value;
      contributions.push({ feature, value: row[feature] ?? null, attribution: value });
    });
    // A stable sort: equal magnitudes keep the schema order.
    contributions.sort((a, b) => Math.abs(b.attribution) - Math.abs(a.attribution));
    answers.push({
      label: probability >= output.threshold ? output.positive_label : output.negative_label,
      probability,
      log_odds: margin,
      base_value: explanations.base,
      attributions,
      top_contributions: contributions.slice(0, topContributions),
    });
  }
  return {
    method: explainer.method,
    approximate: explainer.approximate,
    output_space: 'log_odds',
    background: { source: explainer.backgroundSource, rows: explainer.backgroundRows },
    explanations: answers,
  };
}
