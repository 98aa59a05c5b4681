/**
 * The baseline and current distributions of each feature on the same bins, for the reports'
 * side-by-side charts: numeric features on the baseline's decile bins (the PSI bins), categorical
 * features per category (baseline categories first, then the unseen ones).
 */
import type { FeatureProfile, FeatureRow } from '#core/model/metadata.ts';
import { baselineBinShares, binShares, quantileEdges } from './psi.ts';

export interface Distribution {
  /** Bin labels: `≤ 12.5`, `(12.5, 20]`, `> 80` for numeric features; category names otherwise. */
  readonly bins: string[];
  readonly baseline: number[];
  readonly current: number[];
}

/** An integer in full, anything else to 4 significant digits (1200.4 → 1200, 0.1 → 0.1, 2.5e-7 → 2.5e-7). */
function formatEdge(value: number): string {
  // Through Number, not by stripping trailing zeros from the text: that turned 1200.4 ("1200") into "12".
  return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(4)));
}

/** Labels of the right-closed bins cut by `edges`. */
export function binLabels(edges: readonly number[]): string[] {
  if (edges.length === 0) return ['all'];
  const labels = [`≤ ${formatEdge(edges[0] as number)}`];
  for (let i = 1; i < edges.length; i++) labels.push(`(${formatEdge(edges[i - 1] as number)}, ${formatEdge(edges[i] as number)}]`);
  labels.push(`> ${formatEdge(edges[edges.length - 1] as number)}`);
  return labels;
}

/** The numeric distribution of `values` against a profile (or a baseline sample, when given). */
export function numericDistribution(quantiles: readonly number[], values: readonly number[], sample?: readonly number[]): Distribution {
  const edges = quantileEdges(quantiles);
  return {
    bins: binLabels(edges),
    baseline: sample !== undefined && sample.length > 0 ? binShares(edges, sample) : baselineBinShares(quantiles),
    current: binShares(edges, values),
  };
}

/** The categorical distribution of current counts against baseline frequencies. */
export function categoricalDistribution(frequencies: Readonly<Record<string, number>>, counts: ReadonlyMap<string, number>): Distribution {
  let total = 0;
  for (const c of counts.values()) total += c;
  const categories = Object.keys(frequencies);
  const unseen = [...counts.keys()].filter((c) => !Object.hasOwn(frequencies, c)).sort();
  const bins = [...categories, ...unseen.map((c) => `${c} (unseen)`)];
  return {
    bins,
    baseline: [...categories.map((c) => frequencies[c] as number), ...unseen.map(() => 0)],
    current: [...categories, ...unseen].map((c) => (total > 0 ? (counts.get(c) ?? 0) / total : 0)),
  };
}

/** Distributions of every baseline feature over `rows`, keyed by feature name. */
export function featureDistributions(
  baseline: Readonly<Record<string, FeatureProfile>>,
  rows: readonly FeatureRow[],
  samples?: Readonly<Record<string, readonly number[]>>,
): Record<string, Distribution> {
  const out: Record<string, Distribution> = {};
  for (const [name, profile] of Object.entries(baseline)) {
    if (profile.type === 'numeric') {
      const values: number[] = [];
      for (const row of rows) {
        const v = row[name];
        if (typeof v === 'number' && Number.isFinite(v)) values.push(v);
      }
      out[name] = numericDistribution(profile.quantiles, values, samples?.[name]);
    } else {
      const counts = new Map<string, number>();
      for (const row of rows) {
        const v = row[name];
        if (typeof v === 'string') counts.set(v, (counts.get(v) ?? 0) + 1);
      }
      out[name] = categoricalDistribution(profile.frequencies, counts);
    }
  }
  return out;
}
