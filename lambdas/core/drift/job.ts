/**
 * The drift job: compares a window of captured predictions of a model's production version with
 * that version's training baseline, writes a JSON and an HTML report, reports metrics, emits
 * `DriftDetected` (warning or critical) and `PerformanceDegraded` events, and on critical drift
 * requests a retraining run, at most once per model per cooldown.
 *
 * Reports: `drift-reports/{model}/{YYYY-MM-DD}/{HHMM}-{kind}.json|.html` (the window's end, UTC), and
 * the same documents as `drift-reports/{model}/latest.json|.html`.
 */
import { DEFAULT_MAX_WINDOW_ROWS } from '#contracts/drift.ts';
import { NotFoundError } from '#core/errors.ts';
import type { CaptureReader } from '#core/capture/ports.ts';
import type { CaptureRecord } from '#core/capture/records.ts';
import { Reservoir, SeededRandom } from '#core/data/random.ts';
import { DRIFT_REPORT_PREFIX, datePartition } from '#core/capture/records.ts';
import type { NumericProfile } from '#core/model/metadata.ts';
import type { RegistryReader } from '#core/serving/ports.ts';
import { featureDistributions, numericDistribution } from './distributions.ts';
import { DRIFT_DETAIL_TYPES, type DriftEvent, type DriftEventPublisher } from './events.ts';
import { renderDriftHtml } from './html-report.ts';
import type { DriftReportDocument, DriftRunKind, RetrainOutcome } from './report-document.ts';
import { type PerformanceThresholds, livePerformance } from './performance.ts';
import { type DriftThresholds, driftReport } from './report.ts';
import type { RetrainLedger } from './retrain.ts';
import { retrainInput, type RetrainPromotion, type RetrainTarget } from './retrain-input.ts';
import { assembleWindow } from './window.ts';

export type { DriftReportDocument, DriftRunKind, RetrainOutcome } from './report-document.ts';
export { retrainInput, type RetrainPromotion, type RetrainTarget } from './retrain-input.ts';

/** Writes a report document. */
export interface ReportWriter {
  putText(key: string, text: string, contentType: string): Promise<void>;
}

/** What the job reports for metrics (the handler turns it into Powertools metrics). */
export interface DriftObserver {
  /** `scores`: the window's prediction scores (for the score distribution metric). */
  reported(document: DriftReportDocument, window: { readonly scores: readonly number[] }): void;
}

export interface DriftJobSettings {
  /**
   * The deployment's `appName`, put in every event's `detail.app`: the retrain rule of this deployment matches it, so
   * another deployment's pipeline in the same account never starts on this job's requests. @default - events carry no app
   */
  readonly app?: string;
  readonly thresholds?: Partial<DriftThresholds>;
  readonly performance?: Partial<PerformanceThresholds>;
  /** Minutes after a drift-triggered retrain request during which no other is sent for the model. */
  readonly cooldownMinutes: number;
  /** Whether critical drift requests a retrain. */
  readonly retrainOnCritical: boolean;
  /** Per model, from `pipeline.models`. */
  readonly retrainTargets?: Readonly<Record<string, RetrainTarget>>;
  /**
   * Most captured rows a run reads into memory and compares: a larger window is sampled uniformly down to it
   * (seeded by model and window end, so a retried run reads the same sample). @default DEFAULT_MAX_WINDOW_ROWS
   */
  readonly maxWindowRows?: number;
  /**
   * How the retrained version lands (`drift.retrainPromotion`): the run input's `promotion_mode` and
   * `approval_required`. @default - the pipeline's own defaults for the model
   */
  readonly retrainPromotion?: RetrainPromotion;
}

export interface DriftJobDependencies {
  readonly registry: Pick<RegistryReader, 'getModel' | 'getVersion'>;
  readonly captures: CaptureReader;
  readonly reports: ReportWriter;
  readonly events: DriftEventPublisher;
  readonly ledger: RetrainLedger;
  readonly settings: DriftJobSettings;
  readonly observer?: DriftObserver;
}

export interface DriftJobRequest {
  readonly model: string;
  readonly windowMs: number;
  /** The window's end (a scheduled event's `time`, so a retried run covers the same window). */
  readonly now: Date;
  readonly kind: DriftRunKind;
}

export interface DriftJobResult {
  readonly document: DriftReportDocument;
  readonly events: DriftEvent[];
  readonly retrain: RetrainOutcome;
}

const pad = (n: number): string => String(n).padStart(2, '0');

/** Where a run's reports go. */
export function reportKeys(model: string, to: Date, kind: DriftRunKind): { json: string; html: string; latestJson: string; latestHtml: string } {
  const { date, hour } = datePartition(to);
  const base = `${DRIFT_REPORT_PREFIX}${model}/${date}/${hour}${pad(to.getUTCMinutes())}-${kind}`;
  return {
    json: `${base}.json`,
    html: `${base}.html`,
    latestJson: `${DRIFT_REPORT_PREFIX}${model}/latest.json`,
    latestHtml: `${DRIFT_REPORT_PREFIX}${model}/latest.html`,
  };
}

/**
 * The id of the retrain request of one window: the same on every retry of that run (a scheduled event keeps its
 * `time` across Lambda retries), and different for runs a second or more apart.
 */
export function retrainRunId(model: string, to: Date): string {
  const stamp = to.toISOString().slice(0, 19).replace(/[-:]/g, '');
  return `drift-${model}-${stamp}Z`;
}

/** The sample's seed: the same for every run over the same model and window end (FNV-1a of both). */
function sampleSeed(model: string, to: Date): number {
  let hash = 0x811c9dc5;
  for (const char of `${model}\u0000${to.toISOString()}`) {
    hash ^= char.codePointAt(0) ?? 0;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

async function productionVersion(registry: DriftJobDependencies['registry'], model: string) {
  const record = await registry.getModel(model);
  if (record === undefined) {
    throw new NotFoundError('MODEL_NOT_FOUND', `model "${model}" is not registered`, { model });
  }
  if (record.production_version === null) {
    throw new NotFoundError('NO_PRODUCTION_VERSION', `model "${model}" has no production version`, { model });
  }
  const version = await registry.getVersion(model, record.production_version);
  if (version === undefined) {
    throw new NotFoundError('NO_PRODUCTION_VERSION', `model "${model}" version ${record.production_version} is not in the registry`, {
      model,
      model_version: record.production_version,
    });
  }
  return version;
}

/** Runs the drift check of one model over one window. */
export async function runDriftJob(deps: DriftJobDependencies, request: DriftJobRequest): Promise<DriftJobResult> {
  const { model, now, kind } = request;
  const version = await productionVersion(deps.registry, model);
  const { metadata } = version;
  const from = new Date(now.getTime() - request.windowMs);
  const sample = new Reservoir<CaptureRecord>(deps.settings.maxWindowRows ?? DEFAULT_MAX_WINDOW_ROWS, new SeededRandom(sampleSeed(model, now)));
  const records = await deps.captures.readCaptures(model, version.version, from, now, sample);
  const window = assembleWindow(records, version.version, from, now);

  const scoreProfile: NumericProfile | undefined = metadata.prediction_profile;
  const report = driftReport({
    baseline: metadata.baseline,
    current: window.rows,
    ...(scoreProfile === undefined ? {} : { scores: { baseline: scoreProfile, current: window.scores } }),
    ...(deps.settings.thresholds === undefined ? {} : { thresholds: deps.settings.thresholds }),
    // Versions the pipeline trained carry their global importance: drift is ordered and weighed by it.
    ...(metadata.feature_importance === undefined ? {} : { importance: metadata.feature_importance.mean_abs_shap }),
  });
  // Labels arrive after their predictions: every label received since the window opened counts.
  const feedback = await deps.captures.readFeedback(model, from, new Date(Math.max(now.getTime(), Date.now())));
  const performance = livePerformance({
    captures: window.records,
    feedback,
    output: metadata.output,
    holdout: metadata.metrics,
    ...(deps.settings.performance === undefined ? {} : { thresholds: deps.settings.performance }),
  });

  const keys = reportKeys(model, now, kind);
  const driftedFeatures = report.features.filter((f) => f.verdict === 'warning' || f.verdict === 'critical').map((f) => f.name);
  const base = {
    model,
    model_version: version.version,
    kind,
    generated_at: new Date().toISOString(),
    window: {
      from: from.toISOString(),
      to: now.toISOString(),
      duration_ms: request.windowMs,
      captured_rows: sample.seen,
      sampled_rows: records.length,
    },
    ...report,
    drifted_features: driftedFeatures,
    distributions: featureDistributions(metadata.baseline, window.rows),
    ...(scoreProfile === undefined ? {} : { prediction_distribution: numericDistribution(scoreProfile.quantiles, window.scores) }),
    performance,
    report_keys: { json: keys.json, html: keys.html },
  };

  const events: DriftEvent[] = [];
  const summary = {
    model,
    model_version: version.version,
    window: base.window,
    report: base.report_keys,
  };
  if (report.verdict === 'warning' || report.verdict === 'critical') {
    events.push({
      detailType: DRIFT_DETAIL_TYPES.driftDetected,
      detail: {
        ...summary,
        severity: report.verdict,
        drift_score: report.drift_score,
        drifted_share: report.drifted_share,
        drifted_features: driftedFeatures,
        prediction_verdict: report.prediction?.verdict ?? null,
      },
    });
  }
  if (performance.verdict === 'degraded') {
    events.push({
      detailType: DRIFT_DETAIL_TYPES.performanceDegraded,
      detail: { ...summary, accuracy: performance.accuracy, roc_auc: performance.roc_auc, labelled: performance.labelled },
    });
  }

  let retrain: RetrainOutcome;
  if (report.verdict !== 'critical') retrain = { requested: false, reason: `drift is ${report.verdict}, not critical` };
  else if (!deps.settings.retrainOnCritical) retrain = { requested: false, reason: 'retraining on drift is off (drift.retrainOnCritical)' };
  else {
    const runId = retrainRunId(model, now);
    const { claimed, last } = await deps.ledger.claim(model, { requestId: runId, at: now }, deps.settings.cooldownMinutes * 60_000);
    if (!claimed) {
      retrain = {
        requested: false,
        reason: `cooldown: retrain ${last?.request_id ?? '?'} was requested at ${last?.requested_at ?? '?'} (cooldown ${deps.settings.cooldownMinutes} min)`,
      };
    } else {
      const why = `critical drift (score ${report.drift_score.toFixed(3)}, ${driftedFeatures.length} of ${report.features.length} features drifted) in the ${kind} check`;
      const detail = retrainInput(model, metadata, deps.settings.retrainTargets?.[model], runId, why, deps.settings.retrainPromotion);
      events.push({ detailType: DRIFT_DETAIL_TYPES.retrainRequested, detail });
      // The request's reason: the drift, and what the run could not inherit from the production version.
      retrain = { requested: true, reason: detail.reason, run_id: runId };
    }
  }

  const document: DriftReportDocument = { ...base, retrain };
  const json = `${JSON.stringify(document, null, 2)}\n`;
  const html = renderDriftHtml(document);
  // Reports first: every event points at them.
  await deps.reports.putText(keys.json, json, 'application/json');
  await deps.reports.putText(keys.html, html, 'text/html; charset=utf-8');
  // The HTML first: whoever sees a new latest.json finds the latest.html of the same run (or a newer one).
  await deps.reports.putText(keys.latestHtml, html, 'text/html; charset=utf-8');
  await deps.reports.putText(keys.latestJson, json, 'application/json');
  deps.observer?.reported(document, { scores: window.scores });
  // Every event names the deployment: the retrain rule of this deployment matches it, another deployment's does not.
  const app = deps.settings.app;
  const sent = app === undefined ? events : events.map((e) => ({ ...e, detail: { ...e.detail, app } }));
  if (sent.length > 0) await deps.events.publish(sent);
  return { document, events: sent, retrain };
}
