import type { ShadowComparison } from './ports.ts';

/**
 * How far a shadow version agrees with production over some requests: the share of rows given the same label,
 * and percentiles of the absolute difference of their positive-class probabilities. The local dashboard and
 * `mlops shadow report` show it per model.
 */
export interface ShadowAgreement {
  readonly model: string;
  readonly productionVersion: number;
  readonly shadowVersion: number;
  readonly requests: number;
  readonly rows: number;
  /** Rows with the same label over rows (1 when there are none). */
  readonly labelAgreement: number;
  /** |production − shadow| probability per row: nearest-rank p50 and p95, and the largest. */
  readonly scoreDiff: { readonly p50: number | null; readonly p95: number | null; readonly max: number | null };
}

/** Nearest-rank `q` quantile of ascending `sorted`, or null when empty. */
function nearestRank(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length))) - 1] ?? null;
}

/** The agreement of each (model, production version, shadow version) in `comparisons`, ordered by model then versions. */
export function shadowAgreements(comparisons: readonly ShadowComparison[]): ShadowAgreement[] {
  const groups = new Map<string, ShadowComparison[]>();
  for (const c of comparisons) {
    const key = `${c.model}\u0000${c.production_version}\u0000${c.shadow_version}`;
    const group = groups.get(key) ?? [];
    group.push(c);
    groups.set(key, group);
  }
  const out: ShadowAgreement[] = [];
  for (const group of groups.values()) {
    const first = group[0] as ShadowComparison;
    const rows = group.reduce((sum, c) => sum + c.rows, 0);
    const disagreements = group.reduce((sum, c) => sum + c.disagreements, 0);
    const diffs = group.flatMap((c) => c.absDiffs.filter(Number.isFinite)).sort((a, b) => a - b);
    out.push({
      model: first.model,
      productionVersion: first.production_version,
      shadowVersion: first.shadow_version,
      requests: group.length,
      rows,
      labelAgreement: rows === 0 ? 1 : 1 - disagreements / rows,
      scoreDiff: { p50: nearestRank(diffs, 0.5), p95: nearestRank(diffs, 0.95), max: diffs.length === 0 ? null : (diffs[diffs.length - 1] ?? null) },
    });
  }
  return out.sort((a, b) => a.model.localeCompare(b.model) || a.productionVersion - b.productionVersion || a.shadowVersion - b.shadowVersion);
}
