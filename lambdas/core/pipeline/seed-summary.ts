/**
 * Summarises the metrics of the same training run repeated with different seeds, so the gate can
 * tell a real improvement from seed noise and refuse a model whose quality depends on luck.
 */

export interface MetricSummary {
  readonly mean: number;
  /** Sample standard deviation (n − 1 in the denominator); 0 for a single run. */
  readonly std: number;
  readonly min: number;
  readonly max: number;
}

export interface SeedSummary {
  /** Number of runs summarised. */
  readonly runs: number;
  /** One summary per metric, in the key order of the first run. */
  readonly metrics: Readonly<Record<string, MetricSummary>>;
}

/** The spread check: the sample std of one metric across seeds must not exceed `max`. */
export interface SeedSpread {
  readonly metric: string;
  readonly runs: number;
  readonly mean: number;
  readonly std: number;
  readonly max: number;
  readonly passed: boolean;
  readonly message: string;
}

/**
 * Mean, sample std, min and max of every metric over `runs` (one metrics record per seed).
 * Every run must report the same metric names.
 * @throws RangeError when there are no runs, the runs report different metrics, or a value is not finite.
 */
export function summarizeSeeds(runs: readonly Readonly<Record<string, number>>[]): SeedSummary {
  const first = runs[0];
  if (first === undefined) throw new RangeError('no seed runs to summarise');
  const names = Object.keys(first);
  runs.forEach((run, index) => {
    const keys = Object.keys(run);
    const missing = names.filter((name) => !Object.hasOwn(run, name));
    const extra = keys.filter((key) => !Object.hasOwn(first, key));
    if (missing.length > 0 || extra.length > 0) {
      throw new RangeError(
        `seed run ${index + 1} reports different metrics than run 1 (missing: ${missing.join(', ') || 'none'}; extra: ${extra.join(', ') || 'none'})`,
      );
    }
  });

  // Object.fromEntries defines own properties, so any metric name (even "__proto__") is safe.
  const metrics = Object.fromEntries(
    names.map((name): [string, MetricSummary] => {
      const values = runs.map((run, index) => {
        const value = run[name] as number;
        if (!Number.isFinite(value)) throw new RangeError(`seed run ${index + 1}: metric "${name}" is not a finite number (${value})`);
        return value;
      });
      return [name, summarize(values)];
    }),
  );
  return { runs: runs.length, metrics };
}

/** Sums are taken relative to the first value, so identical runs give exactly that value and std 0. */
function summarize(values: readonly number[]): MetricSummary {
  const n = values.length;
  const shift = values[0] as number;
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    sum += v - shift;
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  const mean = Math.min(Math.max(shift + sum / n, min), max);
  let squares = 0;
  for (const v of values) squares += (v - mean) ** 2;
  return { mean, std: n > 1 ? Math.sqrt(squares / (n - 1)) : 0, min, max };
}

/**
 * Checks that `metric` varies across seeds by at most `max` (sample std).
 * The result has the `{ metric, std, max }` shape `evaluateGate` takes as `seedSpread`.
 * @throws RangeError when the summary has no such metric or `max` is negative or not finite.
 */
export function seedSpread(summary: SeedSummary, metric: string, max: number): SeedSpread {
  if (!(Number.isFinite(max) && max >= 0)) throw new RangeError(`max spread must be a non-negative number, got ${max}`);
  if (!Object.hasOwn(summary.metrics, metric)) {
    throw new RangeError(`metric "${metric}" is not in the seed summary (metrics: ${Object.keys(summary.metrics).join(', ')})`);
  }
  const { mean, std } = summary.metrics[metric] as MetricSummary;
  const passed = std <= max;
  const over = `${metric} std across ${summary.runs} seeds is ${std.toFixed(4)}`;
  return {
    metric,
    runs: summary.runs,
    mean,
    std,
    max,
    passed,
    message: passed ? `${over}, within the ${max} allowed` : `${over}, more than the ${max} allowed`,
  };
}
