import { describe, expect, it } from 'vitest';
import { DriftSettingsError, parseDriftJobSettings } from '#core/drift/job-settings.ts';

/** What DriftMonitor writes from the default config (lib/constructs/drift-monitor.ts). */
const DEPLOYED = {
  app: 'serverless-mlops',
  thresholds: { pValue: 0.05, psiWarning: 0.1, psiCritical: 0.25, shareWarning: 0.2, shareCritical: 0.3, minRows: 50, wassersteinBound: 0.1 },
  performance: { maxDrop: 0.05, minLabels: 50 },
  cooldownMinutes: 60,
  retrainOnCritical: true,
  retrainTargets: { credit: { target: 'Status', positiveLabel: 'bad', datasetKey: 'datasets/credit/a.csv' } },
  retrainPromotion: { mode: 'canary', approvalRequired: true },
};

const withField = (path: string[], value: unknown): string => {
  const copy = structuredClone(DEPLOYED) as Record<string, unknown>;
  let node = copy;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string, unknown>;
  const last = path[path.length - 1] as string;
  // undefined leaves the field out: JSON.stringify drops it.
  node[last] = value;
  return JSON.stringify(copy);
};

const errorOf = (json: string): string => {
  try {
    parseDriftJobSettings(json);
  } catch (error) {
    expect(error).toBeInstanceOf(DriftSettingsError);
    expect((error as Error).name).toBe('DriftSettingsError');
    return (error as Error).message;
  }
  throw new Error('parseDriftJobSettings accepted it');
};

describe('parseDriftJobSettings', () => {
  it('returns the settings DriftMonitor writes, unchanged', () => {
    expect(parseDriftJobSettings(JSON.stringify(DEPLOYED))).toEqual(DEPLOYED);
  });

  it('accepts the minimum: the app, cooldown and the retrain switch, the job defaults doing the rest', () => {
    expect(parseDriftJobSettings('{"app":"a1","cooldownMinutes":0,"retrainOnCritical":false}')).toEqual({ app: 'a1', cooldownMinutes: 0, retrainOnCritical: false });
    expect(parseDriftJobSettings('{"app":"a1","cooldownMinutes":5,"retrainOnCritical":true,"thresholds":{"minRows":10}}')).toEqual({
      app: 'a1',
      cooldownMinutes: 5,
      retrainOnCritical: true,
      thresholds: { minRows: 10 },
    });
  });

  it('refuses what is not JSON, or not an object, saying where it came from', () => {
    expect(() => parseDriftJobSettings('{thresholds', 'stack output DriftJobConfig')).toThrow(/^stack output DriftJobConfig must be JSON: /);
    expect(errorOf('[]')).toBe('DRIFT_CONFIG field "" must be an object, got []');
  });

  it.each([
    [['cooldownMinutes'], undefined, 'DRIFT_CONFIG field "cooldownMinutes" must be an integer from 0 to 10080, got undefined'],
    [['cooldownMinutes'], 1.5, 'DRIFT_CONFIG field "cooldownMinutes" must be an integer from 0 to 10080, got 1.5'],
    [['retrainOnCritical'], 'yes', 'DRIFT_CONFIG field "retrainOnCritical" must be true or false, got "yes"'],
    [['thresholds', 'pValue'], 0, 'DRIFT_CONFIG field "thresholds.pValue" must be a number above 0 and at most 1, got 0'],
    [['thresholds', 'pValue'], '0.05', 'DRIFT_CONFIG field "thresholds.pValue" must be a number above 0 and at most 1, got "0.05"'],
    [['thresholds', 'psiCritical'], 0.05, 'DRIFT_CONFIG field "thresholds.psiCritical" must be a number from 0.1 to 10, got 0.05'],
    [['thresholds', 'shareCritical'], 0.1, 'DRIFT_CONFIG field "thresholds.shareCritical" must be a number from 0.2 to 1, got 0.1'],
    [['thresholds', 'minRows'], 1, 'DRIFT_CONFIG field "thresholds.minRows" must be an integer from 2 to 1000000, got 1'],
    [['thresholds', 'wassersteinBound'], null, 'DRIFT_CONFIG field "thresholds.wassersteinBound" must be a number above 0 and at most 100, got null'],
    [['thresholds', 'psi'], 0.1, 'DRIFT_CONFIG field "thresholds.psi" is not a known field (known: pValue, psiWarning, psiCritical, shareWarning, shareCritical, minRows, wassersteinBound), got 0.1'],
    [['performance', 'maxDrop'], 2, 'DRIFT_CONFIG field "performance.maxDrop" must be a number from 0 to 1, got 2'],
    [['performance', 'minLabels'], 0, 'DRIFT_CONFIG field "performance.minLabels" must be an integer from 1 to 1000000, got 0'],
    [['retrainTargets'], [], 'DRIFT_CONFIG field "retrainTargets" must be an object of model name to target, got []'],
    [['retrainTargets', 'credit', 'target'], '', 'DRIFT_CONFIG field "retrainTargets.credit.target" must be a non-empty string, got ""'],
    [['retrainTargets', 'credit', 'bucket'], 'x', 'DRIFT_CONFIG field "retrainTargets.credit.bucket" is not a known field (known: datasetKey, target, positiveLabel, trainer, decisionThreshold, classWeight, missingTokens), got "x"'],
    [['retrainTargets', 'credit', 'trainer'], 'svm', 'DRIFT_CONFIG field "retrainTargets.credit.trainer" must be one of "logreg", "gbdt", "sagemaker", "xgboost", got "svm"'],
    [['retrainPromotion', 'mode'], 'shadow', 'DRIFT_CONFIG field "retrainPromotion.mode" must be one of "production", "canary", got "shadow"'],
    [['retrainPromotion'], { mode: 'canary' }, 'DRIFT_CONFIG field "retrainPromotion.approvalRequired" must be true or false, got undefined'],
    [['app'], undefined, 'DRIFT_CONFIG field "app" must be a non-empty string, got undefined'],
    [['app'], '', 'DRIFT_CONFIG field "app" must be a non-empty string, got ""'],
    [['window'], '1h', 'DRIFT_CONFIG field "window" is not a known field (known: app, thresholds, performance, cooldownMinutes, retrainOnCritical, retrainTargets, maxWindowRows, retrainPromotion), got "1h"'],
  ] as [string[], unknown, string][])('refuses %j = %j, naming the field', (path, value, message) => {
    expect(errorOf(withField(path, value))).toBe(message);
  });
});

describe('retrain input of a drift-triggered run', () => {
  it('asks for a canary that waits for approval when the settings say so, and leaves the pipeline defaults otherwise', async () => {
    const { retrainInput } = await import('#core/drift/job.ts');
    const metadata = { lineage: { data_sha256: 'a'.repeat(64), target: 'Status' }, output: { positive_label: 'bad' } } as never;
    expect(retrainInput('credit', metadata, undefined, 'drift-credit-1', 'critical drift', { mode: 'canary', approvalRequired: true })).toMatchObject({
      promotion_mode: 'canary',
      approval_required: true,
      requested_by: 'drift',
    });
    const plain = retrainInput('credit', metadata, undefined, 'drift-credit-1', 'critical drift');
    expect(plain).not.toHaveProperty('promotion_mode');
    expect(plain).not.toHaveProperty('approval_required');
    expect(parseDriftJobSettings(JSON.stringify({ ...DEPLOYED, retrainPromotion: { mode: 'canary', approvalRequired: true } })).retrainPromotion).toEqual({
      mode: 'canary',
      approvalRequired: true,
    });
  });
});
