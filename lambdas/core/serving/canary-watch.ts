import type { CanaryWatchConfig } from '#contracts/canary.ts';
import { ConflictError } from '#core/errors.ts';
import type { AuditRecord, ModelRecord } from '#core/registry/records.ts';

/**
 * Safe model rollout: while a version is on canary, its figures are compared with production's and with the
 * thresholds; a breach clears the canary (production answers everything again), a canary that stays healthy for its
 * configured time is promoted. The verdict ({@link judgeCanary}) is pure; {@link CanaryWatch} applies it through the
 * registry service, with an audit record that says why, and notifies. The same core runs in the canary-watch Lambda
 * (figures from CloudWatch) and in the local platform (figures from its live counters).
 */

/** What one serving variant of a model did over the canary's time on. */
export interface VariantFigures {
  /** Requests routed to the variant (answered or failed). */
  readonly requests: number;
  /** Of {@link requests}, those that failed (5xx from the model, or a canary that could not serve). */
  readonly errors: number;
  /** p95 of the predict latency in ms; null when there were no requests. */
  readonly p95LatencyMs: number | null;
  /** Mean predicted probability of the positive label; null when nothing was scored. */
  readonly meanScore: number | null;
}

/** The watch's thresholds and healthy time: the config's `observability.canary` (one declaration, in the contracts). */
export type CanaryThresholds = CanaryWatchConfig;

export type CanaryAction = 'rollback' | 'promote' | 'watch';

export interface CanaryVerdict {
  readonly action: CanaryAction;
  /** Why, one sentence per check that decided (for the audit trail, the log and the notification). */
  readonly reasons: readonly string[];
}

export interface CanaryEvidence {
  readonly canary: VariantFigures;
  readonly production: VariantFigures;
  /** How long the canary has been on, in ms. */
  readonly onForMs: number;
}

const round = (value: number, digits: number): number => Number(value.toFixed(digits));

/**
 * Decides what to do with a canary. Rollback wins over everything: any breach, once the canary has
 * `minRequests` requests. Promotion needs the healthy time, `minRequests` and no breach.
 */
export function judgeCanary(evidence: CanaryEvidence, thresholds: CanaryThresholds): CanaryVerdict {
  const { canary, production, onForMs } = evidence;
  if (canary.requests < thresholds.minRequests) {
    return {
      action: 'watch',
      reasons: [`canary has ${canary.requests} requests, fewer than the ${thresholds.minRequests} needed to judge it`],
    };
  }
  const breaches: string[] = [];
  const errorRate = (100 * canary.errors) / canary.requests;
  if (errorRate > thresholds.maxErrorRatePercent) {
    breaches.push(
      `canary error rate ${round(errorRate, 2)} % (${canary.errors} of ${canary.requests} requests) is above ${thresholds.maxErrorRatePercent} %`,
    );
  }
  if (canary.p95LatencyMs !== null && canary.p95LatencyMs > thresholds.maxP95LatencyMs) {
    breaches.push(`canary p95 latency ${round(canary.p95LatencyMs, 1)} ms is above ${thresholds.maxP95LatencyMs} ms`);
  }
  if (canary.meanScore !== null && production.meanScore !== null) {
    const shift = Math.abs(canary.meanScore - production.meanScore);
    if (shift > thresholds.maxScoreShift) {
      breaches.push(
        `canary mean score ${round(canary.meanScore, 4)} differs from production's ${round(production.meanScore, 4)} by ${round(shift, 4)}, more than ${thresholds.maxScoreShift}`,
      );
    }
  }
  if (breaches.length > 0) return { action: 'rollback', reasons: breaches };

  const healthyMs = thresholds.healthyMinutes * 60_000;
  if (onForMs < healthyMs) {
    return {
      action: 'watch',
      reasons: [`canary is healthy after ${round(onForMs / 60_000, 1)} of ${thresholds.healthyMinutes} minutes`],
    };
  }
  const summary = `canary healthy for ${thresholds.healthyMinutes} minutes over ${canary.requests} requests (error rate ${round(errorRate, 2)} %)`;
  if (!thresholds.autoPromote) return { action: 'watch', reasons: [`${summary}; automatic promotion is off`] };
  return { action: 'promote', reasons: [summary] };
}

/**
 * When the current canary of `model` was set: the latest applied `canary_set` of that version in the audit trail
 * (the trail is oldest first). Undefined when the trail does not say (then the model record's update time is used).
 */
export function canarySetAt(history: readonly AuditRecord[], model: ModelRecord): string | undefined {
  if (model.canary === null) return undefined;
  for (let i = history.length - 1; i >= 0; i--) {
    const record = history[i];
    if (record !== undefined && record.action === 'canary_set' && record.outcome === 'applied' && record.version === model.canary.version) {
      return record.at;
    }
  }
  return undefined;
}

/** The registry changes the watch makes (a subset of `RegistryService`). */
export interface CanaryRegistry {
  listModels(): Promise<ModelRecord[]>;
  history(model: string): Promise<AuditRecord[]>;
  clearCanary(request: { model: string; actor: string; reason: string; clientToken: string; expectedRevision: number }): Promise<unknown>;
  promote(request: {
    model: string;
    version: number;
    actor: string;
    reason: string;
    clientToken: string;
    expectedRevision: number;
  }): Promise<unknown>;
}

/** Where the figures of a model's variants come from (CloudWatch in AWS, live counters locally). */
export interface CanaryFiguresSource {
  figures(query: { model: string; canaryVersion: number; productionVersion: number; since: Date; until: Date }): Promise<{
    canary: VariantFigures;
    production: VariantFigures;
  }>;
}

/** Tells people what the watch did (SNS in AWS). */
export interface CanaryNotifier {
  notify(subject: string, message: string): Promise<void>;
}

/** What the watch found for one model with a canary. */
export interface CanaryCheck {
  readonly model: string;
  readonly canaryVersion: number;
  readonly productionVersion: number;
  readonly verdict: CanaryVerdict;
  readonly evidence: CanaryEvidence;
  /** `applied`: the change was made; `skipped`: the model changed meanwhile (someone else acted); absent when watching. */
  readonly outcome?: 'applied' | 'skipped';
}

export interface CanaryWatchOptions {
  readonly registry: CanaryRegistry;
  readonly figures: CanaryFiguresSource;
  readonly notifier: CanaryNotifier;
  readonly thresholds: CanaryThresholds;
  /** Who the audit trail names. @default "canary-watch" */
  readonly actor?: string;
  /** @default () => new Date() */
  readonly clock?: () => Date;
}

/** Judges every model that has a canary and rolls back or promotes it through the registry. */
export class CanaryWatch {
  private readonly options: CanaryWatchOptions;
  private readonly actor: string;
  private readonly clock: () => Date;

  constructor(options: CanaryWatchOptions) {
    this.options = options;
    this.actor = options.actor ?? 'canary-watch';
    this.clock = options.clock ?? (() => new Date());
  }

  /** One pass over the registry; models are judged one after another (a failure stops the pass, to be retried). */
  async checkAll(): Promise<CanaryCheck[]> {
    const models = await this.options.registry.listModels();
    const checks: CanaryCheck[] = [];
    for (const model of models) {
      if (model.canary === null || model.production_version === null) continue;
      checks.push(await this.check(model));
    }
    return checks;
  }

  private async check(model: ModelRecord): Promise<CanaryCheck> {
    const canary = model.canary;
    const productionVersion = model.production_version;
    if (canary === null || productionVersion === null) throw new Error(`model "${model.model}" has no canary to check`);
    const now = this.clock();
    const setAt = canarySetAt(await this.options.registry.history(model.model), model) ?? model.updated_at;
    const since = new Date(setAt);
    const figures = await this.options.figures.figures({
      model: model.model,
      canaryVersion: canary.version,
      productionVersion,
      since,
      until: now,
    });
    const evidence: CanaryEvidence = { ...figures, onForMs: Math.max(0, now.getTime() - since.getTime()) };
    const verdict = judgeCanary(evidence, this.options.thresholds);
    const base = { model: model.model, canaryVersion: canary.version, productionVersion, verdict, evidence };
    if (verdict.action === 'watch') return base;

    const reason = `automatic ${verdict.action} of canary version ${canary.version}: ${verdict.reasons.join('; ')}`;
    // One token per decision on this model revision: a retried invocation changes nothing twice.
    const clientToken = `canary-watch:${model.model}:${model.revision}:${verdict.action}`;
    const common = { model: model.model, actor: this.actor, reason, clientToken, expectedRevision: model.revision };
    try {
      if (verdict.action === 'rollback') await this.options.registry.clearCanary(common);
      else await this.options.registry.promote({ ...common, version: canary.version });
    } catch (error) {
      // Someone changed the model since it was read (a person, or another watch): their change stands.
      if (error instanceof ConflictError) return { ...base, outcome: 'skipped' };
      throw error;
    }
    const subject =
      verdict.action === 'rollback'
        ? `[${model.model}] canary version ${canary.version} rolled back`
        : `[${model.model}] canary version ${canary.version} promoted`;
    await this.options.notifier.notify(subject, [
      reason,
      '',
      `canary: ${describeFigures(evidence.canary)}`,
      `production (version ${productionVersion}): ${describeFigures(evidence.production)}`,
      `on canary for ${Math.round(evidence.onForMs / 1000)} s`,
      verdict.action === 'rollback' ? 'runbook: docs/operations/automatic-rollback.md' : 'the previous production version is archived; `mlops rollback` returns to it',
    ].join('\n'));
    return { ...base, outcome: 'applied' };
  }
}

function describeFigures(figures: VariantFigures): string {
  const p95 = figures.p95LatencyMs === null ? 'n/a' : `${round(figures.p95LatencyMs, 1)} ms`;
  const score = figures.meanScore === null ? 'n/a' : String(round(figures.meanScore, 4));
  return `${figures.requests} requests, ${figures.errors} errors, p95 ${p95}, mean score ${score}`;
}
