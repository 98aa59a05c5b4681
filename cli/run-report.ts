import type { CalibrationBin } from '#core/metrics/classification.ts';
import type { GateDecision } from '#core/pipeline/gate.ts';
import type { FairnessReport } from '#core/pipeline/fairness.ts';
import { rankImportance } from '#core/explain/importance.ts';
import type { FeatureImportance } from '#core/model/metadata.ts';
import type { CommandContext } from './context.ts';
import { CliError } from './errors.ts';
import { emit, formatFields, formatTable, type Cell } from './output.ts';
import type { PipelineClient, RunSnapshot, RunStatus } from './pipeline-client.ts';

/**
 * How a training run is followed and reported: progress lines on stderr while it runs, then
 * its outcome (promoted, rejected or failed) with the candidate's holdout metrics, fairness,
 * the champion's metrics and the gate's checks; `{ run_id, status, outcome, … }` as JSON.
 */

export type RunOutcome = 'running' | 'promoted' | 'rejected' | 'failed';

export interface RunReport {
  readonly run_id: string;
  readonly status: RunStatus;
  readonly outcome: RunOutcome;
  /** The promoted version; for a rejected run, the version registered as rejected (if any). */
  readonly version: number | null;
  /** `production` or `canary at 0.1`, when promoted. */
  readonly mode: string | null;
  /**
   * The candidate's holdout metrics: roc_auc, pr_auc (average precision), log_loss, brier, and at its decision threshold
   * (`threshold`) recall, precision, f1, accuracy and predicted_positive_rate.
   */
  readonly metrics: Record<string, number> | null;
  /** The candidate's 10-bin calibration table on the holdout. */
  readonly calibration: readonly CalibrationBin[] | null;
  readonly fairness: FairnessReport | null;
  /** The candidate's global importance: mean |SHAP| per feature on the holdout (Evaluate). */
  readonly importance: FeatureImportance | null;
  /** The production version's metrics on the same holdout, when there was one. */
  readonly champion: { readonly version: number; readonly metrics: Record<string, number> } | null;
  readonly gate: GateDecision | null;
  /** The promotion, rejection or failure message. */
  readonly message: string | null;
  /** How a failed run ended (the Fail state's error, e.g. DataValidationFailed). */
  readonly error: { readonly name: string; readonly message: string } | null;
  /** The pending approval (`mlops approve|reject ID`), while the run waits for it. */
  readonly approval_id: string | null;
}

/** The final state, as far as the report reads it (see PipelineSteps). */
interface FinalState {
  readonly comparison?: {
    readonly result?: {
      readonly candidate?: {
        readonly seed?: number;
        readonly evaluation?: {
          readonly metrics?: Record<string, number>;
          readonly fairness?: FairnessReport | null;
          readonly importance?: FeatureImportance;
          readonly calibration?: CalibrationBin[];
        };
      };
      readonly champion?: { readonly version: number; readonly metrics: Record<string, number> } | null;
    };
  };
  readonly gate?: { readonly result?: GateDecision };
  readonly promotion?: { readonly result?: { readonly version?: number; readonly mode?: string; readonly message?: string } };
  readonly rejection?: { readonly result?: { readonly message?: string; readonly event?: { readonly version?: number | null } } };
  readonly failure?: { readonly result?: { readonly message?: string } };
}

export const METRIC_ORDER = ['roc_auc', 'pr_auc', 'threshold', 'recall', 'precision', 'f1', 'accuracy', 'brier', 'log_loss', 'predicted_positive_rate'] as const;

export function summarizeRun(snapshot: RunSnapshot): RunReport {
  const state = (typeof snapshot.output === 'object' && snapshot.output !== null ? snapshot.output : {}) as FinalState;
  const comparison = state.comparison?.result;
  const promotion = state.promotion?.result;
  const rejection = state.rejection?.result;
  let outcome: RunOutcome;
  if (snapshot.status === 'running') outcome = 'running';
  else if (snapshot.status === 'failed') outcome = 'failed';
  else if (promotion !== undefined) outcome = 'promoted';
  else if (rejection !== undefined) outcome = 'rejected';
  else outcome = 'failed';
  const version = outcome === 'promoted' ? promotion?.version : outcome === 'rejected' ? rejection?.event?.version : undefined;
  const waiting = snapshot.status === 'running' && snapshot.progress.at(-1) === 'ManualApproval';
  return {
    run_id: snapshot.run_id,
    status: snapshot.status,
    outcome,
    version: version ?? null,
    mode: outcome === 'promoted' ? (promotion?.mode ?? null) : null,
    metrics: comparison?.candidate?.evaluation?.metrics ?? null,
    calibration: comparison?.candidate?.evaluation?.calibration ?? null,
    fairness: comparison?.candidate?.evaluation?.fairness ?? null,
    importance: comparison?.candidate?.evaluation?.importance ?? null,
    champion: comparison?.champion ?? null,
    gate: state.gate?.result ?? null,
    message:
      (outcome === 'promoted' ? promotion?.message : undefined) ??
      rejection?.message ??
      state.failure?.result?.message ??
      snapshot.message ??
      (snapshot.status === 'succeeded' ? 'the run ended without a promotion or a rejection' : null),
    error: snapshot.error ?? null,
    approval_id: waiting ? (snapshot.approval_id ?? null) : null,
  };
}

/** Four decimals, so a column of metrics lines up. */
function number(value: number | null | undefined): Cell {
  return value === null || value === undefined ? null : value.toFixed(4);
}

/** The report for people: fields, the metrics table, fairness and the gate's checks. */
export function renderRun(report: RunReport, hint: { readonly local: boolean }): string {
  const blocks: string[] = [];
  blocks.push(
    formatFields([
      ['run', report.run_id],
      ['status', report.status],
      ['outcome', report.outcome],
      ...(report.outcome === 'promoted' ? ([['version', report.version], ['mode', report.mode]] as const) : []),
      ...(report.outcome === 'rejected' && report.version !== null ? ([['rejected version', report.version]] as const) : []),
      ...(report.error === null ? [] : ([['error', `${report.error.name}${report.error.message === '' ? '' : `: ${report.error.message}`}`]] as const)),
      ...(report.approval_id === null ? [] : ([['approval', `waiting: ${approvalHint(report.approval_id, hint.local)}`]] as const)),
      ...(report.message === null ? [] : ([['message', report.message]] as const)),
    ]),
  );
  if (report.metrics !== null) {
    const { metrics, champion } = report;
    const names = [...METRIC_ORDER.filter((m) => metrics[m] !== undefined), ...Object.keys(metrics).filter((m) => !(METRIC_ORDER as readonly string[]).includes(m))];
    const headers = champion === null ? ['holdout metric', 'candidate'] : ['holdout metric', 'candidate', `champion v${champion.version}`];
    blocks.push(formatTable(headers, names.map((name) => [name, number(metrics[name]), ...(champion === null ? [] : [number(champion.metrics[name])])])));
  }
  if (report.calibration !== null && report.calibration.length > 0) {
    blocks.push(
      formatTable(
        ['probability bin', 'rows', 'mean predicted', 'observed rate'],
        report.calibration.map((b) => [`${b.lower.toFixed(1)}–${b.upper.toFixed(1)}`, b.count, number(b.mean_predicted), number(b.observed_rate)]),
      ),
    );
  }
  if (report.fairness !== null) {
    const f = report.fairness;
    blocks.push(
      formatFields([
        ['fairness', `protected group ${f.protected.count} rows, reference ${f.reference.count} rows`],
        ['  demographic parity ratio', number(f.demographic_parity_ratio)],
        ['  disparate impact', number(f.disparate_impact)],
        ['  equal opportunity difference', number(f.equal_opportunity_difference)],
      ]),
    );
  }
  if (report.importance !== null) {
    const { importance } = report;
    const ranked = rankImportance(importance);
    blocks.push(
      formatTable(
        ['feature', 'mean |SHAP|', 'share'],
        ranked.map((r) => [r.feature, number(r.mean_abs_shap), `${(r.share * 100).toFixed(1)} %`]),
      ).replace(/^/, `global importance: mean |SHAP| in log-odds on ${importance.rows} holdout rows (${importance.method})\n`),
    );
  }
  if (report.gate !== null) {
    blocks.push(
      [`gate ${report.gate.passed ? 'passed' : 'failed'}`, ...report.gate.reasons.map((r) => `  ${r.passed ? '✓' : '✗'} ${r.check}: ${r.message}`)].join('\n') + '\n',
    );
  }
  return blocks.join('\n');
}

export function approvalHint(id: string, local: boolean): string {
  const mlops = local ? 'mlops --local' : 'mlops';
  return `${mlops} approve ${id}  or  ${mlops} reject ${id}`;
}

/** The training pipeline's steps by readable name (step-functions/training-pipeline.asl.json); others are not shown. */
export const STEP_NAMES: Readonly<Record<string, string>> = {
  ValidateData: 'validate the data',
  RecordDataRejection: 'record the data rejection',
  NotifyDataRejected: 'notify: data rejected',
  EmitDataRejected: 'event: data rejected',
  TrainSeeds: 'train and evaluate',
  CompareWithChampion: 'compare with the champion',
  Gate: 'gate',
  ManualApproval: 'wait for approval',
  RecordRejection: 'record the rejection',
  NotifyRejected: 'notify: rejected',
  EmitRejected: 'event: ModelRejected',
  Register: 'register the version',
  Promote: 'promote',
  NotifyPromoted: 'notify: promoted',
  EmitPromoted: 'event: ModelPromoted',
  RecordFailure: 'record the failure',
  NotifyFailure: 'notify: failed',
  EmitFailure: 'event: PipelineFailed',
};

/** States inside the per-seed Map (they run side by side): part of `TrainSeeds`, not steps of their own. */
const MAP_STATES = new Set([
  'Trainer?',
  'Train',
  'TrainOnSageMaker',
  'ImportSageMakerModel',
  'PrepareXgboostData',
  'TrainXgboostOnSageMaker',
  'ConvertXgboostModel',
  'Evaluate',
  'SeedResult',
]);

export interface FinishedStep {
  readonly state: string;
  readonly name: string;
  /** From entering the step to entering the next state (or the run's end); null where the pipeline gives no times. */
  readonly ms: number | null;
}

/** The steps of a run that have finished, in order, with their durations. */
export function finishedSteps(snapshot: RunSnapshot): FinishedStep[] {
  const entries = snapshot.progress
    .map((state, i) => ({ state, at: snapshot.progress_at?.[i] }))
    .filter(({ state }) => !MAP_STATES.has(state));
  const steps: FinishedStep[] = [];
  entries.forEach(({ state, at }, i) => {
    const name = STEP_NAMES[state];
    if (name === undefined) return;
    const end = entries[i + 1]?.at ?? (snapshot.status === 'running' ? undefined : snapshot.ended_at);
    if (end === undefined && snapshot.status === 'running') return;
    const ms = at === undefined || at === '' || end === undefined || end === '' ? null : Math.max(0, Date.parse(end) - Date.parse(at));
    steps.push({ state, name, ms });
  });
  return steps;
}

function duration(ms: number | null): string {
  if (ms === null) return '';
  return ms < 1000 ? `${ms} ms` : ms < 60_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/**
 * Looks at the run every `client.pollMs` until it ends; for people (not with --json) writes
 * each newly entered state on stderr, and how to answer an approval when the run waits for one.
 */
export async function followRun(context: CommandContext, client: PipelineClient, runId: string): Promise<RunSnapshot> {
  let shown = 0;
  let hinted = false;
  for (;;) {
    const snapshot = await client.get(runId);
    const steps = finishedSteps(snapshot);
    if (!context.json) {
      for (const step of steps.slice(shown)) context.io.stderr(`  ✓ ${step.name.padEnd(26)} ${duration(step.ms)}`.trimEnd() + '\n');
      if (!hinted && snapshot.status === 'running' && snapshot.approval_id !== undefined && snapshot.progress.at(-1) === 'ManualApproval') {
        context.io.stderr(`  waiting for approval: ${approvalHint(snapshot.approval_id, client.local)}\n`);
        hinted = true;
      }
    }
    shown = Math.max(shown, steps.length);
    if (snapshot.status !== 'running') return snapshot;
    await context.sleep(client.pollMs);
  }
}

/** `mlops train`'s exit code for a run its gate (or its approver) rejected: the run worked, the model did not pass. */
export const EXIT_REJECTED = 3;

/**
 * Prints a run's report; a failed run (one that did not end promoted or rejected) also ends
 * the command with exit code 1 and one `mlops:` line, and with `failOnRejection` a rejected one with exit code 3.
 */
export function reportRun(
  context: CommandContext,
  client: PipelineClient,
  snapshot: RunSnapshot,
  options: { readonly failOnFailure: boolean; readonly failOnRejection?: boolean },
): void {
  const report = summarizeRun(snapshot);
  emit(context.io, context.json, report, () => renderRun(report, client));
  if (options.failOnFailure && report.outcome === 'failed') {
    const why = report.error === null ? (report.message ?? 'see the report above') : report.error.name;
    throw new CliError(`training run ${report.run_id} failed: ${why}`);
  }
  if (options.failOnRejection === true && report.outcome === 'rejected') {
    throw new CliError(report.message ?? `training run ${report.run_id} was rejected (see the gate above)`, EXIT_REJECTED);
  }
}
