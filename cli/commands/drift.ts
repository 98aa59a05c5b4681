import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { CsvFormatError, parseCsv } from '#core/data/csv.ts';
import { DEFAULT_MISSING_TOKENS } from '#contracts/missing-values.ts';
import { ColumnMismatchError, compareCsv } from '#core/drift/csv-compare.ts';
import type { DriftReportDocument } from '#core/drift/job.ts';
import { WindowFormatError, parseWindow, windowSince } from '#core/drift/window.ts';
import type { Session } from '../context.ts';
import { CliError } from '../errors.ts';
import { emit, formatFields, formatTable } from '../output.ts';
import type { DriftSpan } from '../drift-client.ts';
import { asError } from '#core/errors.ts';

const fmt = (value: number | null | undefined, digits = 4): string =>
  value === null || value === undefined ? '-' : Math.abs(value) > 0 && Math.abs(value) < 1e-4 ? value.toExponential(2) : value.toFixed(digits);

function readCsv(cwd: string, file: string, option: string) {
  const path = resolve(cwd, file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new CliError(`${option} ${file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : asError(error).message}`);
  }
  try {
    return parseCsv(text);
  } catch (error) {
    if (error instanceof CsvFormatError) throw new CliError(`${option} ${file} is not valid CSV: ${error.message}`);
    throw error;
  }
}

const percent = (rate: number): string => `${(rate * 100).toFixed(1)}%`;

interface FeatureLine {
  readonly feature: string;
  readonly test: string;
  readonly statistic: number | null;
  readonly p_value: number | null;
  readonly psi: number | null;
  readonly distance: number | null;
  readonly missing?: { readonly reference_rate: number; readonly current_rate: number; readonly p_value: number };
  readonly verdict: string;
}

function featureTable(rows: readonly FeatureLine[]): string {
  return formatTable(
    ['feature', 'test', 'statistic', 'p-value', 'PSI', 'W/std', 'missing ref → cur', 'p (missing)', 'verdict'],
    rows.map((f) => [
      f.feature,
      f.test,
      fmt(f.statistic),
      fmt(f.p_value, 6),
      fmt(f.psi),
      fmt(f.distance),
      f.missing === undefined ? '-' : `${percent(f.missing.reference_rate)} → ${percent(f.missing.current_rate)}`,
      f.missing === undefined ? '-' : fmt(f.missing.p_value, 6),
      f.verdict,
    ]),
  );
}

function documentSummary(doc: DriftReportDocument, where: (key: string) => string): string {
  return (
    formatFields([
      ['model', `${doc.model} version ${doc.model_version}`],
      ['window', `${doc.window.from} → ${doc.window.to}`],
      ['rows', doc.rows],
      ['verdict', doc.verdict],
      ['drifted', `${doc.drifted_features.length} of ${doc.features.length}${doc.drifted_features.length > 0 ? ` (${doc.drifted_features.join(', ')})` : ''}`],
      ['drift score', fmt(doc.drift_score)],
      ['prediction', doc.prediction === undefined ? '-' : `${doc.prediction.verdict} (KS ${fmt(doc.prediction.statistic)}, p ${fmt(doc.prediction.p_value, 6)})`],
      ['live accuracy', doc.performance.accuracy.live === null ? `- (${doc.performance.labelled} labels)` : `${fmt(doc.performance.accuracy.live)} (holdout ${fmt(doc.performance.accuracy.holdout)})`],
      ['retraining', doc.retrain === undefined ? '-' : `${doc.retrain.requested ? `requested, run ${doc.retrain.run_id ?? ''}` : 'not requested'}: ${doc.retrain.reason}`],
      ['html report', where(doc.report_keys.html)],
      ['json report', where(doc.report_keys.json)],
    ]) +
    '\n' +
    featureTable(
      doc.features.map((f) => ({
        feature: f.name,
        test: f.test,
        statistic: f.statistic,
        p_value: f.p_value,
        psi: f.psi,
        distance: f.wasserstein_normalised ?? null,
        // Reports written before the missing-rate test have no `missing`.
        ...(f.missing === undefined ? {} : { missing: f.missing }),
        verdict: f.verdict,
      })),
    )
  );
}

/** Exit code of a drift check at or above `--fail-on` (and of a training run rejected by its gate). */
export const EXIT_CHECK_FAILED = 3;

const LEVELS = ['ok', 'warning', 'critical'] as const;
type FailOn = 'warning' | 'critical';

function parseFailOn(value: string): FailOn {
  if (value === 'warning' || value === 'critical') return value;
  throw new CliError(`--fail-on must be warning or critical, got "${value}"`, 2);
}

/** Ends the command with exit code 3 when `verdict` reaches `failOn` (after the report is printed). */
function failOnVerdict(verdict: string, failOn: FailOn | undefined, what: string): void {
  if (failOn === undefined) return;
  const level = LEVELS.indexOf(verdict as (typeof LEVELS)[number]);
  if (level >= LEVELS.indexOf(failOn)) throw new CliError(`${what}: verdict ${verdict}, at or above --fail-on ${failOn}`, EXIT_CHECK_FAILED);
}

/** `mlops drift run` and `mlops drift compare`. */
export function driftCommand(program: Command, session: Session): void {
  const drift = program.command('drift').description('drift monitoring: run the drift job, or compare two CSV files');
  drift
    .command('run')
    .description("run the drift job for a model now: its production version's captured traffic against its training baseline")
    .requiredOption('--model <name>', 'the model')
    .option('--window <duration>', 'how far back: 30m, 1h, 24h, 7d', '1h')
    .addOption(new Option('--since <time>', 'only the traffic from this ISO 8601 time on (instead of --window): a check of your own requests').conflicts('window'))
    .option('--fail-on <level>', 'exit 3 when the verdict is this level or worse: warning or critical (for CI jobs)', parseFailOn)
    .action(async (options: { model: string; window: string; since?: string; failOn?: FailOn }, command: Command) => {
      let span: DriftSpan;
      try {
        if (options.since === undefined) {
          parseWindow(options.window);
          span = { window: options.window };
        } else {
          windowSince(options.since, new Date());
          span = { since: options.since };
        }
      } catch (error) {
        if (error instanceof WindowFormatError) throw new CliError(`--${options.since === undefined ? 'window' : 'since'}: ${error.message}`, 2);
        throw error;
      }
      const context = session.context(command);
      const client = await (await context.connect()).drift();
      const doc = await client.run(options.model, span);
      emit(context.io, context.json, { ...doc, report_urls: { html: client.locate(doc.report_keys.html), json: client.locate(doc.report_keys.json) } }, () =>
        documentSummary(doc, (key) => client.locate(key)),
      );
      failOnVerdict(doc.verdict, options.failOn, `drift of ${options.model}`);
    });
  drift
    .command('compare')
    .description('the drift statistics on two CSV files with the same columns (no deployment): KS, chi-square, PSI, Wasserstein')
    .requiredOption('--reference <file>', 'the reference (baseline) CSV')
    .requiredOption('--current <file>', 'the current CSV, with the same columns')
    .option('--missing-tokens <list>', `comma-separated cells read as missing in a numeric column, besides empty ones (default ${DEFAULT_MISSING_TOKENS.join(',')})`)
    .option('--fail-on <level>', 'exit 3 when the verdict is this level or worse: warning or critical (for CI jobs)', parseFailOn)
    .action((options: { reference: string; current: string; missingTokens?: string; failOn?: FailOn }, command: Command) => {
      const context = session.context(command);
      const reference = readCsv(context.cwd, options.reference, '--reference');
      const current = readCsv(context.cwd, options.current, '--current');
      let comparison;
      try {
        comparison = compareCsv(reference, current, options.missingTokens === undefined ? {} : { missingTokens: options.missingTokens.split(',') });
      } catch (error) {
        if (error instanceof ColumnMismatchError) throw new CliError(error.message);
        throw error;
      }
      const { report: _report, distributions: _distributions, ...summary } = comparison;
      emit(context.io, context.json, summary, () =>
        formatFields([
          ['reference rows', comparison.reference_rows],
          ['current rows', comparison.current_rows],
          ['verdict', comparison.verdict],
          ['drifted share', fmt(comparison.drifted_share)],
          ['drift score', fmt(comparison.drift_score)],
        ]) +
          '\n' +
          featureTable(comparison.features),
      );
      failOnVerdict(comparison.verdict, options.failOn, `${options.current} against ${options.reference}`);
    });
}
