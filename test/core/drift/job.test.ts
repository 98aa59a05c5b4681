import { describe, expect, it } from 'vitest';
import type { CaptureReader } from '#core/capture/ports.ts';
import type { CaptureRecord, FeedbackRecord } from '#core/capture/records.ts';
import type { Reservoir } from '#core/data/random.ts';
import { NotFoundError } from '#core/errors.ts';
import { DRIFT_DETAIL_TYPES, DRIFT_EVENT_SOURCE, type DriftEvent } from '#core/drift/events.ts';
import { matchesEventPattern, retrainEventPattern } from '#contracts/drift.ts';
import { reportKeys, retrainInput, retrainRunId, runDriftJob, type DriftJobDependencies, type DriftJobSettings, type DriftReportDocument } from '#core/drift/job.ts';
import type { CategoricalProfile, FeatureRow, ModelMetadata } from '#core/model/metadata.ts';
import type { ModelRecord, ModelVersionRecord } from '#core/registry/records.ts';
import { profileValues } from '#core/profile/baseline.ts';

/** The drift job with plain fakes: what it reads, the reports it writes, the events it emits and when it asks for a retrain. */

const NOW = new Date('2026-12-01T09:05:00.000Z');
const HOUR = 3_600_000;

const HOME: CategoricalProfile = { type: 'categorical', count: 1000, missing_rate: 0, missing: 0, frequencies: { own: 0.5, rent: 0.5 }, counts: { own: 500, rent: 500 } };
const SCORES = Array.from({ length: 200 }, (_, i) => (i + 0.5) / 200);

function metadata(over: Partial<ModelMetadata> = {}): ModelMetadata {
  return {
    algorithm: 'logistic_regression',
    input_schema: {} as ModelMetadata['input_schema'],
    preprocessing: {} as ModelMetadata['preprocessing'],
    output: { positive_label: 'bad', negative_label: 'good', threshold: 0.5 },
    metrics: { accuracy: 0.9, roc_auc: 0.9 },
    baseline: { home: HOME, tenure: { ...HOME, counts: { short: 500, long: 500 }, frequencies: { short: 0.5, long: 0.5 } } },
    lineage: { data_sha256: 'abc123', rows: 1000, target: 'Status', seed: 1, parameters: {}, trainer: 'builtin-logreg', trainer_version: '1.1.0' },
    ...over,
  };
}

/** `n` production records of version 2 over the hour before NOW, features from `row(i)`, scores from `score(i)`. */
function records(n: number, row: (i: number) => FeatureRow, score: (i: number) => number = (i) => SCORES[(i * 2) % 200] as number): CaptureRecord[] {
  return Array.from({ length: n }, (_, i) => ({
    request_id: `r${i}`,
    row: 0,
    model: 'credit',
    model_version: 2,
    variant: 'production',
    captured_at: new Date(NOW.getTime() - HOUR + Math.floor((i * HOUR) / n)).toISOString(),
    features: row(i),
    prediction: { label: 'good', probability: score(i) },
  }));
}
const steady = (i: number): FeatureRow => ({ home: i % 2 === 0 ? 'own' : 'rent', tenure: i % 2 === 0 ? 'short' : 'long' });
const homeFlipped = (i: number): FeatureRow => ({ home: i % 10 === 0 ? 'own' : 'rent', tenure: i % 2 === 0 ? 'short' : 'long' });

interface Recorded {
  reads: unknown[][];
  feedbackReads: unknown[][];
  puts: { key: string; text: string; contentType: string }[];
  published: DriftEvent[][];
  claims: unknown[][];
  observed: { document: DriftReportDocument; scores: readonly number[] }[];
  /** The request ids of the rows each read kept in its sample. */
  sampled: string[][];
}

function harness(options: {
  metadata?: ModelMetadata;
  records?: CaptureRecord[];
  feedback?: FeedbackRecord[];
  settings?: Partial<DriftJobSettings>;
  claim?: { claimed: boolean; last?: { request_id: string; requested_at: string } };
  model?: ModelRecord | undefined;
  version?: ModelVersionRecord | undefined;
}): { deps: DriftJobDependencies; recorded: Recorded } {
  const recorded: Recorded = { reads: [], feedbackReads: [], puts: [], published: [], claims: [], observed: [], sampled: [] };
  const model = 'model' in options ? options.model : ({ model: 'credit', production_version: 2 } as ModelRecord);
  const version = 'version' in options ? options.version : ({ model: 'credit', version: 2, metadata: options.metadata ?? metadata() } as ModelVersionRecord);
  const captures: CaptureReader = {
    async readCaptures(name: string, v: number, from: Date, to: Date, sample?: Reservoir<CaptureRecord>) {
      recorded.reads.push([name, v, from.toISOString(), to.toISOString()]);
      for (const r of options.records ?? []) sample?.offer(r);
      if (sample !== undefined) recorded.sampled.push(sample.items.map((r) => r.request_id));
      return sample === undefined ? (options.records ?? []) : sample.items;
    },
    async readFeedback(name: string, from: Date, to: Date) {
      recorded.feedbackReads.push([name, from.toISOString(), to.getTime()]);
      return options.feedback ?? [];
    },
  };
  return {
    recorded,
    deps: {
      registry: { getModel: async () => model, getVersion: async (_m, v) => (v === 2 ? version : undefined) },
      captures,
      reports: { putText: async (key, text, contentType) => void recorded.puts.push({ key, text, contentType }) },
      events: { publish: async (events) => void recorded.published.push([...events]) },
      ledger: {
        claim: async (...args) => {
          recorded.claims.push(args);
          return options.claim ?? { claimed: true };
        },
      },
      settings: { cooldownMinutes: 60, retrainOnCritical: true, ...options.settings },
      observer: { reported: (document, window) => void recorded.observed.push({ document, scores: window.scores }) },
    },
  };
}

const run = (deps: DriftJobDependencies, kind: 'hourly' | 'daily' | 'manual' = 'hourly') => runDriftJob(deps, { model: 'credit', windowMs: HOUR, now: NOW, kind });

describe('report keys and retrain ids', () => {
  it('files reports by the window end\'s UTC date, hour and minute, and the kind', () => {
    expect(reportKeys('credit', new Date('2026-03-04T07:09:59.999Z'), 'daily')).toEqual({
      json: 'drift-reports/credit/2026-03-04/0709-daily.json',
      html: 'drift-reports/credit/2026-03-04/0709-daily.html',
      latestJson: 'drift-reports/credit/latest.json',
      latestHtml: 'drift-reports/credit/latest.html',
    });
  });

  it('names a retrain run by model and window end to the second', () => {
    expect(retrainRunId('credit', new Date('2026-12-01T09:05:07.999Z'))).toBe('drift-credit-20261201T090507Z');
  });

  it('fills the training run input from the pipeline\'s settings, else from the production version\'s lineage', () => {
    expect(retrainInput('credit', metadata(), undefined, 'run-1', 'why')).toEqual({
      run_id: 'run-1',
      model: 'credit',
      dataset: { key: 'datasets/credit/abc123.csv' },
      target: 'Status',
      positive_label: 'bad',
      trainer: 'logreg',
      requested_by: 'drift',
      reason: 'why',
    });
    expect(
      retrainInput('credit', metadata(), { datasetKey: 'd/new.csv', target: 'Default', positiveLabel: 'yes' }, 'run-2', 'why', { mode: 'canary', approvalRequired: true }),
    ).toEqual({
      promotion_mode: 'canary',
      approval_required: true,
      run_id: 'run-2',
      model: 'credit',
      dataset: { key: 'd/new.csv' },
      target: 'Default',
      positive_label: 'yes',
      trainer: 'logreg',
      requested_by: 'drift',
      reason: 'why',
    });
  });
});

describe('runDriftJob', () => {
  it('refuses a model that is not registered, has no production version, or whose version is gone', async () => {
    const cases: [Partial<Parameters<typeof harness>[0]>, string, string, Record<string, unknown>][] = [
      [{ model: undefined }, 'MODEL_NOT_FOUND', 'model "credit" is not registered', { model: 'credit' }],
      [{ model: { model: 'credit', production_version: null } as ModelRecord }, 'NO_PRODUCTION_VERSION', 'model "credit" has no production version', { model: 'credit' }],
      [{ version: undefined }, 'NO_PRODUCTION_VERSION', 'model "credit" version 2 is not in the registry', { model: 'credit', model_version: 2 }],
    ];
    for (const [options, code, message, details] of cases) {
      const { deps, recorded } = harness(options);
      const error = await run(deps).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(NotFoundError);
      expect(error).toMatchObject({ code, message, details });
      expect(recorded.reads).toEqual([]);
    }
  });

  it('reads the window of the production version, writes the reports (HTML before latest.json), and emits nothing when all is ok', async () => {
    const { deps, recorded } = harness({ records: records(100, steady), metadata: metadata({ prediction_profile: profileValues(SCORES) }) });
    const before = Date.now();

    const { document, events, retrain } = await run(deps);

    expect(recorded.reads).toEqual([['credit', 2, '2026-12-01T08:05:00.000Z', '2026-12-01T09:05:00.000Z']]);
    // Labels that arrive after the window still count: feedback is read up to the present.
    expect(recorded.feedbackReads[0]?.slice(0, 2)).toEqual(['credit', '2026-12-01T08:05:00.000Z']);
    expect(recorded.feedbackReads[0]?.[2]).toBeGreaterThanOrEqual(Math.max(NOW.getTime(), before));
    expect(document).toMatchObject({
      model: 'credit',
      model_version: 2,
      kind: 'hourly',
      verdict: 'ok',
      rows: 100,
      drifted_features: [],
      window: { from: '2026-12-01T08:05:00.000Z', to: '2026-12-01T09:05:00.000Z', duration_ms: HOUR, captured_rows: 100, sampled_rows: 100 },
      report_keys: { json: 'drift-reports/credit/2026-12-01/0905-hourly.json', html: 'drift-reports/credit/2026-12-01/0905-hourly.html' },
    });
    expect(Date.parse(document.generated_at)).toBeGreaterThanOrEqual(before);
    expect(Object.keys(document.distributions)).toEqual(['home', 'tenure']);
    expect(document.distributions.home?.current).toEqual([0.5, 0.5]);
    expect(document.prediction?.count).toBe(100);
    expect(document.prediction_distribution?.current.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(document.performance.verdict).toBe('insufficient_data');
    expect(events).toEqual([]);
    expect(retrain).toEqual({ requested: false, reason: 'drift is ok, not critical' });
    expect(document.retrain).toEqual(retrain);
    expect(recorded.puts.map((p) => [p.key, p.contentType])).toEqual([
      ['drift-reports/credit/2026-12-01/0905-hourly.json', 'application/json'],
      ['drift-reports/credit/2026-12-01/0905-hourly.html', 'text/html; charset=utf-8'],
      ['drift-reports/credit/latest.html', 'text/html; charset=utf-8'],
      ['drift-reports/credit/latest.json', 'application/json'],
    ]);
    expect(recorded.puts[0]?.text).toBe(`${JSON.stringify(document, null, 2)}\n`);
    expect(recorded.puts[3]?.text).toBe(recorded.puts[0]?.text);
    expect(recorded.puts[1]?.text).toMatch(/^<!doctype html>/i);
    expect(recorded.puts[2]?.text).toBe(recorded.puts[1]?.text);
    expect(recorded.observed).toHaveLength(1);
    expect(recorded.observed[0]?.document).toBe(document);
    expect(recorded.observed[0]?.scores).toHaveLength(100);
    expect(recorded.published).toEqual([]);
    expect(recorded.claims).toEqual([]);
  });

  it('runs without an observer', async () => {
    const { deps } = harness({ records: records(100, steady) });
    const { observer: _observer, ...unobserved } = deps;
    expect((await run(unobserved)).document.verdict).toBe('ok');
  });

  it('leaves the prediction out without a prediction profile', async () => {
    const { deps } = harness({ records: records(100, steady) });
    const { document } = await run(deps);
    expect(document).not.toHaveProperty('prediction');
    expect(document).not.toHaveProperty('prediction_distribution');
  });

  it('emits DriftDetected for critical drift and requests one retrain, claimed for the cooldown', async () => {
    const { deps, recorded } = harness({ records: records(100, homeFlipped) });

    const { document, events, retrain } = await run(deps);

    expect(document.verdict).toBe('critical');
    expect(document.drifted_features).toEqual(['home']);
    const runId = 'drift-credit-20261201T090500Z';
    expect(recorded.claims).toEqual([['credit', { requestId: runId, at: NOW }, 60 * 60_000]]);
    const reason = `critical drift (score ${document.drift_score.toFixed(3)}, 1 of 2 features drifted) in the hourly check`;
    expect(retrain).toEqual({ requested: true, reason, run_id: runId });
    const summary = {
      model: 'credit',
      model_version: 2,
      window: document.window,
      report: document.report_keys,
    };
    // Exactly these details: without settings.app they carry no `app` key at all.
    expect(events).toStrictEqual([
      {
        detailType: DRIFT_DETAIL_TYPES.driftDetected,
        detail: { ...summary, severity: 'critical', drift_score: document.drift_score, drifted_share: 0.5, drifted_features: ['home'], prediction_verdict: null },
      },
      { detailType: DRIFT_DETAIL_TYPES.retrainRequested, detail: retrainInput('credit', metadata(), undefined, runId, reason) },
    ]);
    expect(recorded.published).toStrictEqual([events]);
  });

  it('sends the pipeline\'s retrain target and promotion for the model', async () => {
    const { deps } = harness({
      records: records(100, homeFlipped),
      settings: { retrainTargets: { credit: { datasetKey: 'data/credit.csv' }, other: { datasetKey: 'x' } }, retrainPromotion: { mode: 'canary', approvalRequired: false } },
    });
    const { events } = await run(deps);
    expect(events[1]?.detail).toMatchObject({ dataset: { key: 'data/credit.csv' }, promotion_mode: 'canary', approval_required: false });
  });

  it("names the deployment (settings.app) in every event, so only its own pipeline's retrain rule starts the run", async () => {
    const { deps, recorded } = harness({ records: records(100, homeFlipped), settings: { app: 'staging' } });
    const { events } = await run(deps);
    expect(events.map((e) => e.detailType)).toEqual([DRIFT_DETAIL_TYPES.driftDetected, DRIFT_DETAIL_TYPES.retrainRequested]);
    expect(recorded.published).toEqual([events]);
    for (const event of events) expect(event.detail).toMatchObject({ app: 'staging' });
    const request = { source: DRIFT_EVENT_SOURCE, 'detail-type': events[1]?.detailType, detail: events[1]?.detail };
    expect(matchesEventPattern(retrainEventPattern('staging'), request)).toBe(true);
    expect(matchesEventPattern(retrainEventPattern('serverless-mlops'), request)).toBe(false);
  });

  it('retrains with the production version\'s trainer, and says in the report when the pipeline cannot run it', async () => {
    const gbdt = harness({ records: records(100, homeFlipped), metadata: metadata({ lineage: { ...metadata().lineage, trainer: 'builtin-gbdt', parameters: { trees: 20 } } }) });
    const trained = await run(gbdt.deps);
    expect(trained.events[1]?.detail).toMatchObject({ trainer: 'gbdt', parameters: { trees: 20 } });
    expect(trained.retrain.reason).toMatch(/^critical drift \(score [0-9.]+, 1 of 2 features drifted\) in the hourly check$/);

    const byHand = harness({ records: records(100, homeFlipped), metadata: metadata({ lineage: { ...metadata().lineage, trainer: 'hand-made' } }) });
    const { document, events, retrain } = await run(byHand.deps);
    const note = `the production version's trainer "hand-made" is not one the pipeline runs (logreg, gbdt, sagemaker, xgboost), so the run uses the pipeline's trainer for the model (set pipeline.models.credit.trainer to choose it)`;
    expect(retrain).toMatchObject({ requested: true, reason: expect.stringContaining(`check; ${note}`) });
    // The report and the request say the same: whoever approves the candidate reads why it is another family.
    expect(document.retrain?.reason).toBe(retrain.reason);
    expect(events[1]?.detail).toMatchObject({ reason: retrain.reason });
    expect(events[1]?.detail).not.toHaveProperty('trainer');
  });

  it('requests no retrain in the cooldown, and says whose request holds it', async () => {
    const { deps } = harness({ records: records(100, homeFlipped), claim: { claimed: false, last: { request_id: 'drift-credit-x', requested_at: '2026-12-01T08:30:00.000Z' } }, settings: { cooldownMinutes: 90 } });
    const { events, retrain } = await run(deps);
    expect(retrain).toEqual({ requested: false, reason: 'cooldown: retrain drift-credit-x was requested at 2026-12-01T08:30:00.000Z (cooldown 90 min)' });
    expect(events.map((e) => e.detailType)).toEqual([DRIFT_DETAIL_TYPES.driftDetected]);
    const unknown = harness({ records: records(100, homeFlipped), claim: { claimed: false } });
    expect((await run(unknown.deps)).retrain.reason).toBe('cooldown: retrain ? was requested at ? (cooldown 60 min)');
  });

  it('does not ask the ledger when retraining on drift is off', async () => {
    const { deps, recorded } = harness({ records: records(100, homeFlipped), settings: { retrainOnCritical: false } });
    const { events, retrain } = await run(deps);
    expect(retrain).toEqual({ requested: false, reason: 'retraining on drift is off (drift.retrainOnCritical)' });
    expect(recorded.claims).toEqual([]);
    expect(events.map((e) => e.detailType)).toEqual([DRIFT_DETAIL_TYPES.driftDetected]);
  });

  it('emits DriftDetected without a retrain for a warning, with the prediction\'s verdict', async () => {
    // Home moved to 40 / 60: drifted (PSI about 0.04, above psiWarning 0.01 here), below psiCritical; half the features is
    // below shareCritical 0.6.
    const { deps, recorded } = harness({
      records: records(1000, (i) => ({ home: i % 5 < 2 ? 'own' : 'rent', tenure: i % 2 === 0 ? 'short' : 'long' })),
      metadata: metadata({ prediction_profile: profileValues(SCORES) }),
      settings: { thresholds: { psiWarning: 0.01, psiCritical: 0.2, shareCritical: 0.6 } },
    });
    const { document, events, retrain } = await run(deps, 'daily');
    expect(document.verdict).toBe('warning');
    expect(document.drifted_features).toEqual(['home']);
    expect(document.thresholds).toMatchObject({ psiWarning: 0.01, psiCritical: 0.2 });
    expect(events).toHaveLength(1);
    expect(events[0]?.detail).toMatchObject({ severity: 'warning', prediction_verdict: 'ok' });
    expect(retrain).toEqual({ requested: false, reason: 'drift is warning, not critical' });
    expect(recorded.claims).toEqual([]);
    expect(recorded.puts[0]?.key).toBe('drift-reports/credit/2026-12-01/0905-daily.json');
  });

  it('emits PerformanceDegraded when live accuracy falls more than the allowed drop below the holdout', async () => {
    const window = records(100, steady, (i) => (i % 2 === 0 ? 0.9 : 0.1));
    // Half the labels contradict the prediction: accuracy 0.5 against 0.9.
    const feedback: FeedbackRecord[] = window.map((r, i) => ({ request_id: r.request_id, row: 0, model: 'credit', label: i % 4 < 2 ? 'bad' : 'good', received_at: NOW.toISOString() }));
    const { deps } = harness({ records: window, feedback });
    const { document, events } = await run(deps);
    expect(document.performance.accuracy).toMatchObject({ live: 0.5, holdout: 0.9, verdict: 'degraded' });
    expect(events).toEqual([
      {
        detailType: DRIFT_DETAIL_TYPES.performanceDegraded,
        detail: {
          model: 'credit',
          model_version: 2,
          window: document.window,
          report: document.report_keys,
          accuracy: document.performance.accuracy,
          roc_auc: document.performance.roc_auc,
          labelled: 100,
        },
      },
    ]);
    // The performance thresholds of the settings apply.
    const lenient = harness({ records: window, feedback, settings: { performance: { maxDrop: 0.5 } } });
    expect((await run(lenient.deps)).events).toEqual([]);
  });

  it('weighs drift by the version\'s feature importance', async () => {
    const importance = { method: 'linear_exact', rows: 100, background_rows: 10, mean_abs_shap: { home: 0.001, tenure: 1 } } as unknown as ModelMetadata['feature_importance'];
    const { deps } = harness({ records: records(100, homeFlipped), metadata: metadata(importance === undefined ? {} : { feature_importance: importance }) });
    const { document, events } = await run(deps);
    expect(document.weighted_by_importance).toBe(true);
    expect(document.features.map((f) => f.name)).toEqual(['tenure', 'home']);
    expect(document.verdict).toBe('ok');
    expect(events).toEqual([]);
  });

  it('reads at most maxWindowRows into the report', async () => {
    const { deps } = harness({ records: records(300, steady), settings: { maxWindowRows: 120 } });
    const { document } = await run(deps);
    expect(document.window).toMatchObject({ captured_rows: 300, sampled_rows: 120 });
    expect(document.rows).toBe(120);
  });

  it('draws the same sample on every run over the same model and window end, and another for another model or end', async () => {
    const { deps, recorded } = harness({ records: records(300, steady), settings: { maxWindowRows: 5 } });
    const at = (model: string, now: Date) => runDriftJob(deps, { model, windowMs: HOUR, now, kind: 'hourly' });
    await at('credit', NOW);
    await at('credit', new Date(NOW.getTime()));
    await at('credit', new Date(NOW.getTime() + 1000));
    await at('scoring', NOW);
    const [first, again, later, other] = recorded.sampled;
    // Pinned: a rerun of a past window after an upgrade draws the rows it drew then.
    expect(first).toEqual(['r52', 'r218', 'r2', 'r199', 'r63']);
    expect(again).toEqual(first);
    expect(later).not.toEqual(first);
    expect(other).not.toEqual(first);
    expect(other).not.toEqual(later);
  });
});
