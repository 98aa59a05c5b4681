/**
 * The drift job's settings as they arrive at runtime: the `DRIFT_CONFIG` environment variable of the drift Lambda
 * and the `DriftJobConfig` stack output `mlops drift run` reads, both the JSON `DriftMonitor` writes from the
 * validated CDK config. They are checked again here, field by field, because a hand-edited variable or an older
 * stack can disagree with this code, and a drift job running on `undefined` thresholds would report nonsense
 * rather than fail.
 */
import type { DriftJobSettings, RetrainTarget } from './job.ts';
import type { PerformanceThresholds } from './performance.ts';
import type { DriftThresholds } from './report.ts';

/** The settings JSON is not what the drift job can run with; the message names the field and the value received. */
export class DriftSettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DriftSettingsError';
  }
}

type Raw = Record<string, unknown>;

const show = (value: unknown): string => (value === undefined ? 'nothing' : JSON.stringify(value));

function isObject(value: unknown): value is Raw {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

interface Checker {
  fail(field: string, expectation: string, value: unknown): never;
}

function checker(source: string): Checker {
  return {
    fail(field, expectation, value) {
      throw new DriftSettingsError(`${source} field "${field}" ${expectation}, got ${show(value)}`);
    },
  };
}

function objectOf(check: Checker, value: unknown, field: string, allowed: readonly string[]): Raw {
  if (!isObject(value)) check.fail(field, 'must be an object', value);
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) check.fail(field === '' ? key : `${field}.${key}`, `is not a known field (known: ${allowed.join(', ')})`, value[key]);
  }
  return value;
}

function numberOf(check: Checker, value: unknown, field: string, min: number, max: number, exclusiveMin = false): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || (exclusiveMin ? value <= min : value < min) || value > max) {
    check.fail(field, `must be a number ${exclusiveMin ? 'above' : 'from'} ${min} ${exclusiveMin ? 'and at most' : 'to'} ${max}`, value);
  }
  return value;
}

function integerOf(check: Checker, value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) check.fail(field, `must be an integer from ${min} to ${max}`, value);
  return value;
}

function stringOf(check: Checker, value: unknown, field: string): string {
  if (typeof value !== 'string' || value.trim() === '') check.fail(field, 'must be a non-empty string', value);
  return value;
}

const THRESHOLD_KEYS = ['pValue', 'psiWarning', 'psiCritical', 'shareWarning', 'shareCritical', 'minRows', 'wassersteinBound'] as const;

/** The same ranges as `drift.thresholds` in lib/config.ts; each field may be left out (the job's default applies). */
function thresholdsOf(check: Checker, value: unknown): Partial<DriftThresholds> {
  const raw = objectOf(check, value, 'thresholds', THRESHOLD_KEYS);
  const out: { -readonly [K in keyof DriftThresholds]?: number } = {};
  const optional = (key: keyof DriftThresholds, read: (v: unknown, field: string) => number): void => {
    if (raw[key] !== undefined) out[key] = read(raw[key], `thresholds.${key}`);
  };
  optional('pValue', (v, f) => numberOf(check, v, f, 0, 1, true));
  optional('psiWarning', (v, f) => numberOf(check, v, f, 0, 10, true));
  optional('psiCritical', (v, f) => numberOf(check, v, f, out.psiWarning ?? 0, 10));
  optional('shareWarning', (v, f) => numberOf(check, v, f, 0, 1, true));
  optional('shareCritical', (v, f) => numberOf(check, v, f, out.shareWarning ?? 0, 1));
  optional('minRows', (v, f) => integerOf(check, v, f, 2, 1_000_000));
  optional('wassersteinBound', (v, f) => numberOf(check, v, f, 0, 100, true));
  return out;
}

function performanceOf(check: Checker, value: unknown): Partial<PerformanceThresholds> {
  const raw = objectOf(check, value, 'performance', ['maxDrop', 'minLabels']);
  return {
    ...(raw.maxDrop === undefined ? {} : { maxDrop: numberOf(check, raw.maxDrop, 'performance.maxDrop', 0, 1) }),
    ...(raw.minLabels === undefined ? {} : { minLabels: integerOf(check, raw.minLabels, 'performance.minLabels', 1, 1_000_000) }),
  };
}

function retrainTargetsOf(check: Checker, value: unknown): Record<string, RetrainTarget> {
  if (!isObject(value)) check.fail('retrainTargets', 'must be an object of model name to target', value);
  const out: Record<string, RetrainTarget> = {};
  for (const [model, target] of Object.entries(value)) {
    const field = `retrainTargets.${model}`;
    const raw = objectOf(check, target, field, ['datasetKey', 'target', 'positiveLabel']);
    out[model] = {
      ...(raw.datasetKey === undefined ? {} : { datasetKey: stringOf(check, raw.datasetKey, `${field}.datasetKey`) }),
      ...(raw.target === undefined ? {} : { target: stringOf(check, raw.target, `${field}.target`) }),
      ...(raw.positiveLabel === undefined ? {} : { positiveLabel: stringOf(check, raw.positiveLabel, `${field}.positiveLabel`) }),
    };
  }
  return out;
}

/**
 * Parses and checks the drift job's settings JSON. `source` names where it came from in messages
 * (`DRIFT_CONFIG`, the `DriftJobConfig` stack output).
 * @throws DriftSettingsError naming the first field that is missing, unknown or out of range.
 */
export function parseDriftJobSettings(json: string, source = 'DRIFT_CONFIG'): DriftJobSettings {
  const check: Checker = checker(source);
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    throw new DriftSettingsError(`${source} must be JSON: ${(error as Error).message}`);
  }
  const raw = objectOf(check, value, '', ['thresholds', 'performance', 'cooldownMinutes', 'retrainOnCritical', 'retrainTargets']);
  const retrainOnCritical = raw.retrainOnCritical;
  if (typeof retrainOnCritical !== 'boolean') check.fail('retrainOnCritical', 'must be true or false', retrainOnCritical);
  return {
    cooldownMinutes: integerOf(check, raw.cooldownMinutes, 'cooldownMinutes', 0, 10_080),
    retrainOnCritical,
    ...(raw.thresholds === undefined ? {} : { thresholds: thresholdsOf(check, raw.thresholds) }),
    ...(raw.performance === undefined ? {} : { performance: performanceOf(check, raw.performance) }),
    ...(raw.retrainTargets === undefined ? {} : { retrainTargets: retrainTargetsOf(check, raw.retrainTargets) }),
  };
}
