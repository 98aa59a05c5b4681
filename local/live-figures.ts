import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import type { CanaryFiguresSource, VariantFigures } from '#core/serving/canary-watch.ts';
import type { DriftReportDocument } from '#core/drift/job.ts';
import type { ShadowComparison } from '#core/serving/ports.ts';
import { shadowAgreements, type ShadowAgreement } from '#core/serving/shadow-agreement.ts';

/**
 * The local platform's live figures: what CloudWatch holds in AWS (requests, latency, errors by code, per model
 * version and variant), kept in memory from the handler's answers. The dashboard page draws them and the local
 * canary watch judges canaries by them.
 */

export type LiveVariant = 'production' | 'canary';

/** One answered API call. */
export interface RequestSample {
  /** Epoch ms when it ended. */
  readonly at: number;
  readonly method: string;
  /** API Gateway resource, e.g. `/v1/models/{model}/predict`. */
  readonly resource: string;
  readonly status: number;
  readonly latencyMs: number;
  /** The error code of a non-2xx answer. */
  readonly code?: string;
  /** Predict calls only: the model, and the version and variant that answered (or failed). */
  readonly model?: string;
  readonly version?: number;
  readonly variant?: LiveVariant;
  /** Predict calls only: rows scored and the sum of their probabilities. */
  readonly rows?: number;
  readonly scoreSum?: number;
}

/** A drift check's verdict for a model, as the drift job reports it (the dashboard shows the latest per model). */
export interface DriftVerdict {
  readonly model: string;
  /** ISO time of the check. */
  readonly at: string;
  /** Overall drift score. */
  readonly score: number;
  readonly level: 'ok' | 'warning' | 'critical' | 'insufficient_data';
  /** Per-feature drift scores (the feature's PSI), and whether each counts as drifted. */
  readonly features: readonly { readonly feature: string; readonly score: number; readonly drifted: boolean }[];
}

/** Where drift verdicts are kept locally: the drift job records them, the dashboard reads them. */
export interface DriftVerdictStore {
  record(verdict: DriftVerdict): void;
  /** The latest verdict of every model, by model name. */
  latest(): DriftVerdict[];
}

/** What the dashboard keeps of a drift job's report: its verdict, score and each feature's PSI. */
export function driftVerdictOf(report: Pick<DriftReportDocument, 'model' | 'generated_at' | 'drift_score' | 'verdict' | 'features'>): DriftVerdict {
  return {
    model: report.model,
    at: report.generated_at,
    score: report.drift_score,
    level: report.verdict,
    features: report.features.map((feature) => ({ feature: feature.name, score: feature.psi ?? 0, drifted: feature.drifted })),
  };
}

/** Drift verdicts in memory, the latest per model. */
export class InMemoryDriftVerdicts implements DriftVerdictStore {
  private readonly byModel = new Map<string, DriftVerdict>();

  record(verdict: DriftVerdict): void {
    const current = this.byModel.get(verdict.model);
    if (current === undefined || current.at <= verdict.at) this.byModel.set(verdict.model, verdict);
  }

  latest(): DriftVerdict[] {
    return [...this.byModel.values()].sort((a, b) => a.model.localeCompare(b.model));
  }
}

/** `q` quantile (0..1) of values by the nearest-rank method; null when there are none. */
export function quantile(values: readonly number[], q: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1] ?? null;
}

/** The series the dashboard draws: one point per bucket of {@link DashboardData.bucketSeconds}. */
export interface DashboardData {
  readonly generatedAt: string;
  readonly bucketSeconds: number;
  /** Bucket start times (epoch ms), oldest first. */
  readonly buckets: readonly number[];
  readonly totals: { readonly requests: number; readonly serverErrors: number; readonly clientErrors: number };
  /** API latency per bucket (ms; null where a bucket had no request). */
  readonly latency: { readonly p50: (number | null)[]; readonly p95: (number | null)[]; readonly p99: (number | null)[] };
  /** Predict requests per bucket by `model vN (variant)`. */
  readonly traffic: readonly { readonly key: string; readonly model: string; readonly version: number; readonly variant: LiveVariant; readonly counts: number[] }[];
  /** Per model version over the window: requests, errors, p95 and mean score. */
  readonly versions: readonly ({ readonly model: string; readonly version: number; readonly variant: LiveVariant } & VariantFigures)[];
  /** Non-2xx answers over the window, by code. */
  readonly errorsByCode: readonly { readonly code: string; readonly status: number; readonly count: number }[];
  readonly drift: readonly DriftVerdict[];
  /** Shadow versions against production over the window, per model and pair of versions. */
  readonly shadow: readonly ShadowAgreement[];
}

export interface LiveFiguresOptions {
  /** Samples kept (oldest dropped first). @default 50000 */
  readonly maxSamples?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

/** A bounded in-memory record of the API's answers. */
export class LiveFigures {
  private readonly samples: RequestSample[] = [];
  private readonly shadows: { at: number; comparison: ShadowComparison }[] = [];
  private readonly maxSamples: number;
  private readonly now: () => number;

  constructor(options: LiveFiguresOptions = {}) {
    this.maxSamples = options.maxSamples ?? 50_000;
    this.now = options.now ?? Date.now;
  }

  /** Records one shadow comparison (the predict handler's `shadowListeners`). */
  recordShadow(comparison: ShadowComparison): void {
    this.shadows.push({ at: this.now(), comparison });
    if (this.shadows.length > this.maxSamples) this.shadows.splice(0, this.shadows.length - this.maxSamples);
  }

  /** Shadow agreement since `since` (epoch ms), per model and pair of versions. */
  shadowAgreement(since: number): ShadowAgreement[] {
    return shadowAgreements(this.shadows.filter((s) => s.at >= since).map((s) => s.comparison));
  }

  record(sample: RequestSample): void {
    this.samples.push(sample);
    if (this.samples.length > this.maxSamples) this.samples.splice(0, this.samples.length - this.maxSamples);
  }

  /** Records one handler answer: the route, and for predict the model, version, variant and scores. */
  recordAnswer(event: APIGatewayProxyEvent, result: APIGatewayProxyResult, latencyMs: number): void {
    const base = { at: this.now(), method: event.httpMethod, resource: event.resource, status: result.statusCode, latencyMs };
    let body: unknown;
    try {
      body = JSON.parse(result.body);
    } catch {
      body = undefined;
    }
    const isPredict = event.resource.endsWith('/predict');
    if (result.statusCode < 300) {
      if (!isPredict || !isPredictResponse(body)) return this.record(base);
      const probabilities = body.predictions.map((p) => p.probability).filter(Number.isFinite);
      return this.record({
        ...base,
        model: body.model,
        version: body.model_version,
        variant: body.variant,
        rows: probabilities.length,
        scoreSum: probabilities.reduce((sum, p) => sum + p, 0),
      });
    }
    const error = errorOf(body);
    const details = error?.details ?? {};
    const failed =
      typeof details['model'] === 'string' && typeof details['model_version'] === 'number' && (details['variant'] === 'production' || details['variant'] === 'canary')
        ? { model: details['model'], version: details['model_version'], variant: details['variant'] as LiveVariant }
        : {};
    this.record({ ...base, code: error?.code ?? `HTTP_${result.statusCode}`, ...failed });
  }

  /** Figures of one model version on one variant between two times. */
  variantFigures(model: string, version: number, variant: LiveVariant, since: number, until: number): VariantFigures {
    const own = this.samples.filter(
      (s) => s.model === model && s.version === version && s.variant === variant && s.at >= since && s.at <= until,
    );
    return figuresOf(own);
  }

  /** The {@link CanaryFiguresSource} of the canary watch, over these figures. */
  canaryFigures(): CanaryFiguresSource {
    return {
      figures: async ({ model, canaryVersion, productionVersion, since, until }) => ({
        canary: this.variantFigures(model, canaryVersion, 'canary', since.getTime(), until.getTime()),
        production: this.variantFigures(model, productionVersion, 'production', since.getTime(), until.getTime()),
      }),
    };
  }

  /** The dashboard's data over the last `windowSeconds`, in buckets of `bucketSeconds`. */
  dashboard(drift: readonly DriftVerdict[], windowSeconds = 600, bucketSeconds = 10): DashboardData {
    const now = this.now();
    const bucketMs = bucketSeconds * 1000;
    const count = Math.ceil(windowSeconds / bucketSeconds);
    const first = Math.floor(now / bucketMs) * bucketMs - (count - 1) * bucketMs;
    const buckets = Array.from({ length: count }, (_, i) => first + i * bucketMs);
    const recent = this.samples.filter((s) => s.at >= first);
    const indexOf = (s: RequestSample): number => Math.min(count - 1, Math.floor((s.at - first) / bucketMs));

    const perBucket: number[][] = buckets.map(() => []);
    for (const s of recent) perBucket[indexOf(s)]?.push(s.latencyMs);

    const traffic = new Map<string, { key: string; model: string; version: number; variant: LiveVariant; counts: number[] }>();
    const versions = new Map<string, { model: string; version: number; variant: LiveVariant; samples: RequestSample[] }>();
    const codes = new Map<string, { code: string; status: number; count: number }>();
    for (const s of recent) {
      if (s.code !== undefined) {
        const entry = codes.get(s.code) ?? { code: s.code, status: s.status, count: 0 };
        entry.count += 1;
        codes.set(s.code, entry);
      }
      if (s.model === undefined || s.version === undefined || s.variant === undefined) continue;
      const key = `${s.model} v${s.version} (${s.variant})`;
      const series = traffic.get(key) ?? { key, model: s.model, version: s.version, variant: s.variant, counts: buckets.map(() => 0) };
      series.counts[indexOf(s)] = (series.counts[indexOf(s)] ?? 0) + 1;
      traffic.set(key, series);
      const version = versions.get(key) ?? { model: s.model, version: s.version, variant: s.variant, samples: [] };
      version.samples.push(s);
      versions.set(key, version);
    }
    const byKey = <T extends { key?: string; model: string; version: number; variant: string }>(a: T, b: T): number =>
      a.model.localeCompare(b.model) || a.version - b.version || a.variant.localeCompare(b.variant);
    return {
      generatedAt: new Date(now).toISOString(),
      bucketSeconds,
      buckets,
      totals: {
        requests: recent.length,
        serverErrors: recent.filter((s) => s.status >= 500).length,
        clientErrors: recent.filter((s) => s.status >= 400 && s.status < 500).length,
      },
      latency: {
        p50: perBucket.map((values) => quantile(values, 0.5)),
        p95: perBucket.map((values) => quantile(values, 0.95)),
        p99: perBucket.map((values) => quantile(values, 0.99)),
      },
      traffic: [...traffic.values()].sort(byKey),
      versions: [...versions.values()].sort(byKey).map(({ samples, ...id }) => ({ ...id, ...figuresOf(samples) })),
      errorsByCode: [...codes.values()].sort((a, b) => b.count - a.count || a.code.localeCompare(b.code)),
      drift,
      shadow: this.shadowAgreement(first),
    };
  }
}

function figuresOf(samples: readonly RequestSample[]): VariantFigures {
  const answered = samples.filter((s) => s.status < 300);
  const rows = answered.reduce((sum, s) => sum + (s.rows ?? 0), 0);
  const scoreSum = answered.reduce((sum, s) => sum + (s.scoreSum ?? 0), 0);
  return {
    requests: samples.length,
    errors: samples.filter((s) => s.status >= 500).length,
    p95LatencyMs: quantile(answered.map((s) => s.latencyMs), 0.95),
    meanScore: rows === 0 ? null : scoreSum / rows,
  };
}

function isPredictResponse(
  body: unknown,
): body is { model: string; model_version: number; variant: LiveVariant; predictions: { probability: number }[] } {
  if (typeof body !== 'object' || body === null) return false;
  const b = body as Record<string, unknown>;
  return (
    typeof b['model'] === 'string' &&
    typeof b['model_version'] === 'number' &&
    (b['variant'] === 'production' || b['variant'] === 'canary') &&
    Array.isArray(b['predictions'])
  );
}

function errorOf(body: unknown): { code: string; details: Record<string, unknown> } | undefined {
  if (typeof body !== 'object' || body === null || !('error' in body)) return undefined;
  const error = (body as { error: unknown }).error;
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, details } = error as { code?: unknown; details?: unknown };
  if (typeof code !== 'string') return undefined;
  return { code, details: typeof details === 'object' && details !== null ? (details as Record<string, unknown>) : {} };
}
