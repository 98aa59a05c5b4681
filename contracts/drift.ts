/**
 * Prediction capture and the drift job: the `drift` block of the deployment config, and the `DRIFT_CONFIG` JSON the
 * drift function (and `mlops drift run`, from the `DriftJobConfig` stack output) runs with. Both use the same
 * threshold fields, so a bad threshold reads the same at synth and at cold start.
 */
import * as z from 'zod';
import { CLASS_WEIGHTS, TRAINERS, decisionThresholdConfig, missingTokensConfig, type PipelineModelConfig } from './pipeline.ts';
import { addIssue, boolean, integerIn, nonEmptyString, numberIn, oneOf, stringMatching, strictObject } from './schema.ts';

/** Per-feature and overall drift levels (the drift core's `DriftThresholds`). */
export interface DriftThresholdsConfig {
  /** A feature's test is significant below this p-value. */
  readonly pValue: number;
  /** PSI above which a significant feature has drifted (and the model's drift is a warning). */
  readonly psiWarning: number;
  /** PSI above which a significant feature makes the drift critical. */
  readonly psiCritical: number;
  /** Share of drifted features for a warning. */
  readonly shareWarning: number;
  /** Share of drifted features for critical drift. */
  readonly shareCritical: number;
  /** Fewer captured rows (or values of a feature) than this is "insufficient data", never an alarm. */
  readonly minRows: number;
  /**
   * Wasserstein-1 over the baseline std, beyond the level sampling noise alone gives at the two sizes, above which a
   * significant numeric feature has drifted (0.1: a 0.2 std shift is found at 3 000 rows, docs/drift.md).
   */
  readonly wassersteinBound: number;
}

/** The default drift thresholds (of the config, of the drift job, of the drift core). */
export const DEFAULT_DRIFT_THRESHOLDS: DriftThresholdsConfig = {
  pValue: 0.05,
  psiWarning: 0.1,
  psiCritical: 0.25,
  shareWarning: 0.2,
  shareCritical: 0.3,
  minRows: 50,
  wassersteinBound: 0.1,
};

/** Live performance from feedback labels (the drift core's `PerformanceThresholds`). */
export interface PerformanceThresholdsConfig {
  /** Largest tolerated drop of live accuracy or ROC AUC below the holdout metric, absolute. */
  readonly maxDrop: number;
  /** Fewest labelled rows before live performance is judged. */
  readonly minLabels: number;
}

/** The default live-performance thresholds. */
export const DEFAULT_PERFORMANCE_THRESHOLDS: PerformanceThresholdsConfig = { maxDrop: 0.05, minLabels: 50 };

const thresholdField = {
  pValue: () => numberIn(0, 1, true).meta({ description: 'A feature\'s KS or chi-square test is significant below it.' }),
  psiWarning: () => numberIn(0, 10, true).meta({ description: 'A significant feature with PSI above it has drifted; a significant feature above it makes the model\'s drift a warning.' }),
  psiCritical: () => numberIn(0, 10).meta({ description: 'A significant feature above it makes the drift critical.' }),
  shareWarning: () => numberIn(0, 1, true).meta({ description: 'Share of drifted features for a warning.' }),
  shareCritical: () => numberIn(0, 1).meta({ description: 'Share of drifted features for critical drift.' }),
  minRows: () => integerIn(2, 1_000_000).meta({ description: 'Fewer captured rows (or values of a feature, or feedback labels) give `insufficient_data`, never an alarm.' }),
  wassersteinBound: () =>
    numberIn(0, 100, true).meta({
      description: 'A significant numeric feature whose Wasserstein-1 distance exceeds the distance sampling noise gives at the two sizes by more than this many baseline standard deviations has drifted (even with a small PSI).',
    }),
};

/** The critical levels are at least the warning levels (when both are given). */
function checkLevels(thresholds: Partial<DriftThresholdsConfig>, ctx: z.core.$RefinementCtx): void {
  const { psiWarning, psiCritical, shareWarning, shareCritical } = thresholds;
  if (psiWarning !== undefined && psiCritical !== undefined && psiCritical < psiWarning) {
    addIssue(ctx, ['psiCritical'], `must be a number from ${psiWarning} to 10`, psiCritical);
  }
  if (shareWarning !== undefined && shareCritical !== undefined && shareCritical < shareWarning) {
    addIssue(ctx, ['shareCritical'], `must be a number from ${shareWarning} to 1`, shareCritical);
  }
}

const D = DEFAULT_DRIFT_THRESHOLDS;

/** `drift.thresholds`: every field with its default. */
export const driftThresholdsConfig = strictObject({
  pValue: thresholdField.pValue().default(D.pValue),
  psiWarning: thresholdField.psiWarning().default(D.psiWarning),
  psiCritical: thresholdField.psiCritical().default(D.psiCritical),
  shareWarning: thresholdField.shareWarning().default(D.shareWarning),
  shareCritical: thresholdField.shareCritical().default(D.shareCritical),
  minRows: thresholdField.minRows().default(D.minRows),
  wassersteinBound: thresholdField.wassersteinBound().default(D.wassersteinBound),
}).superRefine(checkLevels);

/** `thresholds` of `DRIFT_CONFIG`: each field may be left out (the job's default applies). */
export const driftThresholdsOverride = strictObject({
  pValue: thresholdField.pValue().optional(),
  psiWarning: thresholdField.psiWarning().optional(),
  psiCritical: thresholdField.psiCritical().optional(),
  shareWarning: thresholdField.shareWarning().optional(),
  shareCritical: thresholdField.shareCritical().optional(),
  minRows: thresholdField.minRows().optional(),
  wassersteinBound: thresholdField.wassersteinBound().optional(),
}).superRefine(checkLevels);

/** EventBridge `rate(...)` or `cron(...)`. */
const SCHEDULE_EXPRESSION = /^(rate\(\d+ (minute|minutes|hour|hours|day|days)\)|cron\([^()]+\))$/;
/** A drift window: 1 minute to 7 days. */
const DRIFT_WINDOW = /^(\d+)([mhd])$/;
const WINDOW_UNIT_MINUTES = { m: 1, h: 60, d: 1440 } as const;

/** Minutes of a drift window (`30m`, `1h`, `7d`), or undefined when it is not one. */
export function windowMinutes(window: string): number | undefined {
  const match = DRIFT_WINDOW.exec(window);
  if (match === null) return undefined;
  return Number(match[1]) * WINDOW_UNIT_MINUTES[match[2] as keyof typeof WINDOW_UNIT_MINUTES];
}

const windowError = 'must be a duration such as "30m", "1h" or "7d", from 1m to 7d';
const scheduleExpression = () => stringMatching(SCHEDULE_EXPRESSION, 'an eventbridge schedule expression, rate(...) or cron(...)');

/** The drift job's row cap: enough for the tests' power, small enough for the function's memory and time. */
const maxWindowRows = () => integerIn(1000, 5_000_000);
/** The default row cap of a drift check. */
export const DEFAULT_MAX_WINDOW_ROWS = 50_000;

/**
 * How a drift-triggered training run promotes its version (`drift.retrainPromotion`, and `retrainPromotion` of
 * `DRIFT_CONFIG`): the run input's `promotion_mode` and `approval_required`. Nobody is watching when drift fires, so
 * the default is a canary that waits for a person.
 */
export const retrainPromotionConfig = strictObject({
  mode: oneOf(['production', 'canary'])
    .default('canary')
    .meta({ description: 'Whether the retrained version becomes production at once or starts as a canary.' }),
  approvalRequired: boolean().default(true).meta({ description: "Whether the retrained version waits for a person's approval." }),
});

export type RetrainPromotionConfig = z.output<typeof retrainPromotionConfig>;

/** The default `drift.retrainPromotion`: a canary that waits for a person's approval. */
export const DEFAULT_RETRAIN_PROMOTION: RetrainPromotionConfig = retrainPromotionConfig.parse({});

/** The `source` of the events the drift job puts on the default bus. */
/**
 * The partition key (`pk`) prefix of the drift job's own items in the registry table: its single-flight lease
 * (`DRIFT#LEASE`) and each model's retrain cooldown (`DRIFT#{model}`). The drift function may write those items only
 * (an IAM `dynamodb:LeadingKeys` condition); model names are lowercase, so no model's cooldown is the lease.
 */
export const DRIFT_ITEM_KEY_PREFIX = 'DRIFT#';

export const DRIFT_EVENT_SOURCE = 'serverless-mlops.drift';

/** The detail types of the drift job's events. */
export const DRIFT_DETAIL_TYPES = {
  /** Warning or critical drift of a model's inputs or predictions. */
  driftDetected: 'DriftDetected',
  /** Live accuracy or ROC AUC (from feedback) fell more than the margin below the holdout metric. */
  performanceDegraded: 'PerformanceDegraded',
  /** Starts a training run (critical drift, once per cooldown). */
  retrainRequested: 'RetrainRequested',
} as const;

/**
 * The `requested_by` of a drift-triggered run input. The pipeline holds such a run to `drift.retrainPromotion` (its own
 * `RETRAIN_PROMOTION`) whatever the input asks, and the retrain rule starts no run whose input says otherwise: an
 * event on the bus cannot ask for more than the configured policy.
 */
export const RETRAIN_REQUESTER = 'drift';

/**
 * An EventBridge event pattern of exact values (arrays of allowed values, objects for nested fields), as the CDK
 * writes it to the template (`detail-type`).
 */
export interface ExactEventPattern {
  readonly [field: string]: readonly string[] | ExactEventPattern;
}

/**
 * The pattern of the training pipeline's retrain rule: a `RetrainRequested` from this deployment's drift job (its
 * `detail.app`, the deployment's `appName`) that asks for a drift run. Another deployment's drift job in the same
 * account and region sends its own `app`, and starts only its own pipeline. The CDK and the local bus both use it.
 */
export function retrainEventPattern(app: string) {
  return {
    source: [DRIFT_EVENT_SOURCE],
    'detail-type': [DRIFT_DETAIL_TYPES.retrainRequested],
    detail: { app: [app], requested_by: [RETRAIN_REQUESTER] },
  } as const satisfies ExactEventPattern;
}

/**
 * Whether an event matches an exact-value pattern, as EventBridge matches one: every field of the pattern is present
 * in the event, with one of the listed values (a nested pattern on a nested object).
 */
export function matchesEventPattern(pattern: ExactEventPattern, event: Readonly<Record<string, unknown>>): boolean {
  return Object.entries(pattern).every(([field, expected]) => {
    const value = event[field];
    if (Array.isArray(expected)) return typeof value === 'string' && expected.includes(value);
    return typeof value === 'object' && value !== null && !Array.isArray(value) && matchesEventPattern(expected as ExactEventPattern, value as Record<string, unknown>);
  });
}

/** The `drift` block. */
export const driftConfig = strictObject({
  captureSampleRate: numberIn(0, 1).default(1).meta({ description: 'Share of predict requests captured (by request id: a retried request is captured the same way); 0 turns capture off. Env `CAPTURE_SAMPLE_RATE` of the predict function.' }),
  captureRetentionDays: integerIn(1, 3650)
    .default(90)
    .meta({ description: 'Lifecycle expiry of everything in the capture bucket (captures, feedback, drift reports).' }),
  schedule: scheduleExpression().default('rate(1 hour)').meta({ description: 'EventBridge schedule of the regular drift check.' }),
  window: z
    .string({ error: windowError })
    .refine((window) => {
      const minutes = windowMinutes(window);
      return minutes !== undefined && minutes >= 1 && minutes <= 10_080;
    }, { error: windowError })
    .default('1h')
    .meta({ description: 'How far back the regular check looks.' }),
  dailySchedule: scheduleExpression()
    .default('cron(0 2 * * ? *)')
    .meta({ description: 'Schedule of the daily full report (24 h window).' }),
  thresholds: driftThresholdsConfig.prefault({}).meta({ description: 'Per-feature and overall drift levels.' }),
  performanceMaxDrop: numberIn(0, 1)
    .default(DEFAULT_PERFORMANCE_THRESHOLDS.maxDrop)
    .meta({ description: 'Live accuracy or ROC AUC (from feedback) more than this below the holdout metric (absolute) emits `PerformanceDegraded`.' }),
  retrainOnCritical: boolean()
    .default(true)
    .meta({
      description:
        "Critical drift puts `RetrainRequested` on the bus (the pipeline's retrain rule starts a run), at most once per model per `pipeline.cooldownMinutes`. The run trains as the production version was trained (its trainer, hyperparameters, threshold policy, class weight and missing tokens, from its metadata) unless `pipeline.models.NAME` sets them ([drift.md](drift.md#what-a-retrain-inherits)).",
    }),
  maxWindowRows: maxWindowRows()
    .default(DEFAULT_MAX_WINDOW_ROWS)
    .meta({
      description:
        'Most captured rows one drift check holds and compares: a window holding more is sampled uniformly (seeded by model and window end) down to it; the report gives `captured_rows` and `sampled_rows`. In `DRIFT_CONFIG`.',
    }),
  retrainPromotion: retrainPromotionConfig
    .prefault({})
    .meta({ description: 'How a drift-triggered training run lands: by default as a canary that waits for a person\'s approval.' }),
  reservedConcurrency: integerIn(1, 100_000)
    .optional()
    .meta({
      description:
        "Reserved concurrency of the drift function. Single-flight does not need it (a lease in the registry table keeps one run at a time); reserving fails on accounts whose unreserved concurrency is at its minimum. Default: none.",
    }),
});

export type DriftConfig = z.output<typeof driftConfig>;

/**
 * What a drift-triggered retrain of one model trains on, and how: the settings `pipeline.models.NAME` gives for the
 * model. A setting given here wins over what the production version's lineage records; one absent is inherited from
 * the lineage (docs/drift.md#what-a-retrain-inherits).
 */
const retrainTarget = strictObject({
  datasetKey: nonEmptyString().optional(),
  target: nonEmptyString().optional(),
  positiveLabel: nonEmptyString().optional(),
  trainer: oneOf(TRAINERS).optional(),
  decisionThreshold: decisionThresholdConfig.optional(),
  classWeight: oneOf(CLASS_WEIGHTS).optional(),
  missingTokens: missingTokensConfig.optional(),
});

/** One model's retrain target as `DRIFT_CONFIG` carries it. */
export type RetrainTargetConfig = z.output<typeof retrainTarget>;

/**
 * The retrain targets of `DRIFT_CONFIG` from the pipeline's models: each model's label, data and the training settings
 * its config gives itself (never the pipeline-wide defaults: a retrain keeps the production version's unless the model's
 * own config says otherwise). The CDK and the local platform both build them here.
 */
export function retrainTargetsOf(models: Readonly<Record<string, PipelineModelConfig>>): Record<string, RetrainTargetConfig> {
  const targets: Record<string, RetrainTargetConfig> = {};
  for (const [name, model] of Object.entries(models)) {
    targets[name] = {
      target: model.target,
      positiveLabel: model.positiveLabel,
      ...(model.datasetKey === undefined ? {} : { datasetKey: model.datasetKey }),
      ...(model.trainer === undefined ? {} : { trainer: model.trainer }),
      ...(model.decisionThreshold === undefined ? {} : { decisionThreshold: model.decisionThreshold }),
      ...(model.classWeight === undefined ? {} : { classWeight: model.classWeight }),
      ...(model.missingTokens === undefined ? {} : { missingTokens: model.missingTokens }),
    };
  }
  return targets;
}

/** The `DRIFT_CONFIG` JSON (and the `DriftJobConfig` stack output): what the drift job runs with. */
export const driftJobSettings = strictObject({
  app: nonEmptyString().meta({
    description: "The deployment's `appName`: the `app` of every event the job puts on the bus, which the retrain rule matches.",
  }),
  thresholds: driftThresholdsOverride.optional(),
  performance: strictObject({
    maxDrop: numberIn(0, 1).optional(),
    minLabels: integerIn(1, 1_000_000).optional(),
  }).optional(),
  cooldownMinutes: integerIn(0, 10_080),
  retrainOnCritical: boolean(),
  retrainTargets: z.record(z.string(), retrainTarget, { error: 'must be an object of model name to target' }).optional(),
  maxWindowRows: maxWindowRows().optional(),
  retrainPromotion: strictObject({ mode: oneOf(['production', 'canary']), approvalRequired: boolean() }).optional(),
});

export type DriftJobSettingsInput = z.input<typeof driftJobSettings>;
export type DriftJobSettingsConfig = z.output<typeof driftJobSettings>;
