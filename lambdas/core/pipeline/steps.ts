import { ConflictError, RequestValidationError } from '#core/errors.ts';
import { type CalibrationBin, calibrationTable, classificationMetrics } from '#core/metrics/classification.ts';
import { encodeRows } from '#core/model/encode.ts';
import type { FeatureImportance, FeatureRow, ModelMetadata } from '#core/model/metadata.ts';
import { globalImportance } from '#core/explain/importance.ts';
import { parseModelMetadata } from '#core/model/metadata-validation.ts';
import { registerArtifact, type ArtifactInspector } from '#core/registry/registration.ts';
import type { RegistryService } from '#core/registry/registry-service.ts';
import type { ScoringEngine } from '#core/serving/ports.ts';
import { splitLabelledCsv, type LabelledRows } from '#core/training/holdout.ts';
import {
  GBDT_TRAINER,
  GBDT_TRAINER_VERSION,
  TRAINER,
  TRAINER_VERSION,
  trainGradientBoosting,
  trainLogisticRegression,
} from '#core/training/train-binary-classifier.ts';
import { validateTrainingData, type DataQualityReport } from './data-validation.ts';
import { fairnessMetrics, groupFromAttribute, type FairnessReport } from './fairness.ts';
import { evaluateGate, type GateDecision } from './gate.ts';
import type { ApprovalStore, ObjectStore } from './ports.ts';
import { DEFAULT_PIPELINE_CONFIG, normalizeRun, type PipelineConfig, type PipelineRun } from './run.ts';
import { seedSpread, summarizeSeeds, type SeedSummary } from './seed-summary.ts';
import { stepCacheKey } from './step-cache.ts';
import { extractTarEntries } from './tar.ts';
import { TrainingDataError } from '#core/data/table.ts';
import { parseXgboostModelBytes } from '#core/onnx/xgboost-binary.ts';
import { xgboostToOnnx, XgboostModelError } from '#core/onnx/xgboost-model.ts';
import {
  completeXgboostMetadata,
  draftXgboostMetadata,
  splitForXgboost,
  xgboostCsvShards,
  xgboostHyperparameters,
  type XgboostSplit,
} from '#core/training/xgboost-data.ts';
import type { XgboostConfig } from '#contracts/pipeline.ts';

/**
 * The training pipeline's steps. Step Functions runs them in the order of
 * step-functions/training-pipeline.asl.json (in AWS through one Lambda, locally through
 * aws-local-stepfunctions); each takes the state it is given and returns what the next needs.
 * Big things (data, artifacts, reports) live in S3; the state carries their keys.
 */

/** A failure worth retrying (the ASL retries `TransientError` with backoff). */
export class TransientError extends Error {
  override readonly name = 'TransientError';
}

/** The data, the config or a candidate cannot go on; not retried, caught by the failure path. */
export class PipelineStepError extends Error {
  override readonly name = 'PipelineStepError';
}

export interface PipelineDeps {
  readonly objects: ObjectStore;
  readonly registry: RegistryService;
  readonly inspector: ArtifactInspector;
  readonly engine: ScoringEngine;
  readonly approvals: ApprovalStore;
  readonly config: PipelineConfig;
  readonly sha256: (bytes: Uint8Array) => string;
  /** @default () => new Date() */
  readonly clock?: () => Date;
  /** Milliseconds for latency measurement. @default performance.now */
  readonly elapsed?: () => number;
  readonly newId: () => string;
}

/** The file SageMaker's built-in XGBoost algorithm saves its booster to, in `model.tar.gz`. */
export const XGBOOST_MODEL_FILE = 'xgboost-model';

/** What `prepare_xgboost_data` leaves for the training job and the conversion (keys in the artifact bucket). */
export interface XgboostData {
  readonly train_prefix: string;
  readonly validation_prefix: string;
  readonly metadata_key: string;
  /** The job's `HyperParameters`. */
  readonly hyperparameters: Readonly<Record<string, string>>;
  /** Objects per channel: one per training instance. */
  readonly shards: number;
  readonly rows: { readonly fit: number; readonly validation: number; readonly holdout: number };
}

/** A trained model waiting to be judged: its artifact and metadata in S3. */
export interface Candidate {
  readonly seed: number;
  readonly artifact_key: string;
  readonly metadata_key: string;
  readonly sha256: string;
  readonly size_bytes: number;
  readonly algorithm: string;
  readonly cache_key: string;
  /** True when a finished run with the same inputs had trained it already. */
  readonly cache_hit: boolean;
}

export interface Evaluation {
  readonly seed: number;
  readonly holdout_rows: number;
  readonly metrics: Record<string, number>;
  readonly fairness: FairnessReport | null;
  /** 10 equal-width probability bins: count, mean predicted probability and observed positive rate on the holdout. */
  readonly calibration: CalibrationBin[];
  /** Scoring the whole holdout in batches of 1000, in onnxruntime. */
  readonly latency: { readonly total_ms: number; readonly ms_per_1000_rows: number };
  /** Mean |SHAP| per feature on (the first rows of) the holdout; stored with the version when it is registered. */
  readonly importance?: FeatureImportance;
}

export interface SeedRun {
  readonly seed: number;
  readonly candidate: Candidate;
  readonly evaluation: Evaluation;
}

export interface Comparison {
  /** The seed whose candidate goes on (the first). */
  readonly candidate: SeedRun;
  readonly champion: { readonly version: number; readonly metrics: Record<string, number> } | null;
  readonly champion_note: string;
  readonly seeds: SeedSummary;
}

/** What the notification states send: a line for people and an event detail for machines. */
export interface Announcement {
  readonly message: string;
  readonly event: Record<string, unknown>;
}

/** The state as the ASL accumulates it; each step reads the parts it needs. */
interface RunState extends PipelineRun {
  readonly validation?: { readonly passed: boolean; readonly report_key: string };
  readonly seed_runs?: readonly SeedRun[];
  readonly comparison?: { readonly result: Comparison };
  readonly gate?: { readonly result: GateDecision };
  readonly approval?: { readonly approved: boolean; readonly decided_by?: string; readonly reason?: string };
  readonly registered?: { readonly result: { readonly version: number } };
  readonly error?: { readonly Error?: string; readonly Cause?: string };
}

const EVALUATION_BATCH = 1000;

function runPrefix(run: PipelineRun): string {
  return `pipeline-runs/${run.model}/${run.run_id}`;
}

function jsonBytes(value: unknown): Uint8Array {
  return new TextEncoder().encode(`${JSON.stringify(value, null, 2)}\n`);
}

function round(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}

export class PipelineSteps {
  private readonly clock: () => Date;
  private readonly elapsed: () => number;

  constructor(private readonly deps: PipelineDeps) {
    this.clock = deps.clock ?? (() => new Date());
    this.elapsed = deps.elapsed ?? (() => performance.now());
  }

  /** Runs the step an event names: `{ "step": "train", ... }`. */
  async dispatch(event: Record<string, unknown>): Promise<unknown> {
    const run = event.run as RunState;
    switch (event.step) {
      case 'validate_data':
        return this.validateData(event.run);
      case 'train':
        return this.train(run, Number(event.seed));
      case 'prepare_xgboost_data':
        return this.prepareXgboostData(run, Number(event.seed));
      case 'import_xgboost_model':
        return this.importXgboostModel(run, Number(event.seed), event.sagemaker as { model_artifacts: string }, event.xgboost_data as XgboostData);
      case 'import_sagemaker_model':
        return this.importSageMakerModel(run, Number(event.seed), event.sagemaker as { model_artifacts: string });
      case 'evaluate':
        return this.evaluate(run, Number(event.seed), event.candidate as Candidate);
      case 'compare_with_champion':
        return this.compareWithChampion(run);
      case 'gate':
        return this.gate(run);
      case 'request_approval':
        return this.requestApproval(run, String(event.token));
      case 'register':
        return this.register(run);
      case 'promote':
        return this.promote(run);
      case 'record_rejection':
        return this.recordRejection(run, String(event.stage));
      case 'record_failure':
        return this.recordFailure(run);
      default:
        throw new PipelineStepError(`unknown pipeline step ${JSON.stringify(event.step)}`);
    }
  }

  /** Fills the run's defaults, checks the data and writes the data quality report. */
  async validateData(input: unknown): Promise<PipelineRun & { validation: { passed: boolean; report_key: string; summary: string } }> {
    const run = normalizeRun(input, this.deps.config, this.clock(), this.deps.newId);
    const bytes = await this.readDataset(run);
    const report: DataQualityReport = validateTrainingData(new TextDecoder().decode(bytes), {
      target: run.target,
      positiveLabel: run.positive_label,
      missingTokens: run.missing_tokens,
    });
    const reportKey = `${runPrefix(run)}/data-quality.json`;
    await this.deps.objects.putBytes(reportKey, jsonBytes(report), 'application/json');
    const failed = report.checks.filter((c) => !c.passed).map((c) => c.message);
    return {
      ...run,
      dataset: { key: run.dataset.key, sha256: this.deps.sha256(bytes) },
      validation: {
        passed: report.passed,
        report_key: reportKey,
        summary: report.passed ? `${report.rows} rows, ${report.columns} columns: every check passed` : failed.join('; '),
      },
    };
  }

  /** Trains one seed with the built-in trainer, or reuses the artifact of a run with the same inputs. */
  async train(run: PipelineRun, seed: number): Promise<Candidate> {
    if (run.trainer === 'sagemaker' || run.trainer === 'xgboost') throw new PipelineStepError(`the ${run.trainer} trainer runs as a SageMaker training job`);
    const [trainer, trainerVersion] = run.trainer === 'gbdt' ? [GBDT_TRAINER, GBDT_TRAINER_VERSION] : [TRAINER, TRAINER_VERSION];
    const dataSha256 = run.dataset.sha256 ?? this.deps.sha256(await this.readDataset(run));
    const cacheKey = stepCacheKey({
      dataSha256,
      parameters: {
        ...run.parameters,
        seed,
        target: run.target,
        positive_label: run.positive_label,
        test_fraction: run.test_fraction,
        decision_threshold: JSON.stringify(run.decision_threshold),
        class_weight: run.class_weight,
        missing_tokens: JSON.stringify(run.missing_tokens),
      },
      trainer,
      trainerVersion,
      step: 'train',
    });
    const artifactKey = `training-cache/${cacheKey}/model.onnx`;
    const metadataKey = `training-cache/${cacheKey}/metadata.json`;
    const cachedArtifact = await this.deps.objects.getBytesIfExists(artifactKey);
    const cachedMetadata = cachedArtifact === undefined ? undefined : await this.deps.objects.getBytesIfExists(metadataKey);
    if (cachedArtifact !== undefined && cachedMetadata !== undefined) {
      const metadata = JSON.parse(new TextDecoder().decode(cachedMetadata)) as ModelMetadata;
      return this.candidate(seed, artifactKey, metadataKey, cachedArtifact, metadata, cacheKey, true);
    }
    const csv = new TextDecoder().decode(await this.readDataset(run));
    const common = {
      csv,
      target: run.target,
      positiveLabel: run.positive_label,
      dataSha256,
      seed,
      testFraction: run.test_fraction,
      thresholdPolicy: run.decision_threshold,
      classWeight: run.class_weight,
      missingTokens: run.missing_tokens,
    };
    // The run's own settings win: a parameter never replaces the seed, the holdout or the data (normalizeRun refuses such names too).
    const trained = run.trainer === 'gbdt' ? trainGradientBoosting({ ...run.parameters, ...common }) : trainLogisticRegression({ ...run.parameters, ...common });
    // Metadata first: an artifact is only ever read together with it.
    await this.deps.objects.putBytes(metadataKey, jsonBytes(trained.metadata), 'application/json');
    await this.deps.objects.putBytes(artifactKey, trained.onnx, 'application/octet-stream');
    return this.candidate(seed, artifactKey, metadataKey, trained.onnx, trained.metadata, cacheKey, false);
  }

  /** Takes `model.onnx` and `metadata.json` out of a SageMaker job's `model.tar.gz`. */
  async importSageMakerModel(run: PipelineRun, seed: number, job: { model_artifacts: string }): Promise<Candidate> {
    const match = /^s3:\/\/[^/]+\/(.+)$/.exec(job.model_artifacts);
    if (match?.[1] === undefined) throw new PipelineStepError(`unexpected model artifacts location ${job.model_artifacts}`);
    const entries = extractTarEntries(await this.deps.objects.getBytes(match[1]));
    const onnx = entries.get('model.onnx');
    const metadataBytes = entries.get('metadata.json');
    if (onnx === undefined || metadataBytes === undefined) {
      throw new PipelineStepError('the training job must write model.onnx and metadata.json to /opt/ml/model');
    }
    const metadata = parseModelMetadata(JSON.parse(new TextDecoder().decode(metadataBytes)));
    const prefix = `${runPrefix(run)}/sagemaker-seed-${seed}`;
    await this.deps.objects.putBytes(`${prefix}/metadata.json`, jsonBytes(metadata), 'application/json');
    await this.deps.objects.putBytes(`${prefix}/model.onnx`, onnx, 'application/octet-stream');
    return this.candidate(seed, `${prefix}/model.onnx`, `${prefix}/metadata.json`, onnx, metadata, this.deps.sha256(onnx), false);
  }

  /**
   * The `xgboost` trainer's input: the seed's training rows (never the holdout) encoded by the preprocessing fitted on
   * them, label first and without a header, one shard per training instance for the `train` and `validation`
   * channels, and the model's metadata draft; the job's hyperparameters come back for the ASL to pass on.
   */
  async prepareXgboostData(run: PipelineRun, seed: number): Promise<XgboostData> {
    if (run.trainer !== 'xgboost') throw new PipelineStepError(`prepare_xgboost_data is a step of the xgboost trainer, not ${run.trainer}`);
    const bytes = await this.readDataset(run);
    const split = this.splitForXgboost(run, seed, bytes);
    const shards = this.deps.config.sagemaker?.instanceCount ?? 1;
    let hyperparameters: Record<string, string>;
    let channels: { train: string[]; validation: string[] };
    try {
      hyperparameters = xgboostHyperparameters({
        config: this.xgboostConfig(),
        seed,
        classWeight: run.class_weight,
        labels: split.fit.labels,
        overrides: run.parameters,
      });
      channels = {
        train: xgboostCsvShards(split.features.preprocessing, split.fit, shards),
        validation: xgboostCsvShards(split.features.preprocessing, split.validation, shards),
      };
    } catch (error) {
      if (error instanceof RangeError || error instanceof TrainingDataError) throw new PipelineStepError(error.message);
      throw error;
    }
    const dataPrefix = `training-data/${run.model}/${run.run_id}/seed-${seed}`;
    for (const [channel, parts] of Object.entries(channels)) {
      for (const [i, text] of parts.entries()) {
        await this.deps.objects.putBytes(`${dataPrefix}/${channel}/part-${String(i).padStart(5, '0')}.csv`, new TextEncoder().encode(text), 'text/csv');
      }
    }
    const metadataKey = `${runPrefix(run)}/xgboost-seed-${seed}/metadata-draft.json`;
    const draft = draftXgboostMetadata(split, {
      dataSha256: run.dataset.sha256 ?? this.deps.sha256(bytes),
      target: run.target,
      seed,
      parameters: {
        ...hyperparameters,
        validation_fraction: String(this.xgboostConfig().validationFraction),
        instance_count: String(shards),
        missing_tokens: JSON.stringify(run.missing_tokens),
        // Read back by a drift-triggered retrain (scale_pos_weight alone does not say whether it came from it).
        class_weight: run.class_weight,
      },
      version: this.xgboostConfig().version,
    });
    await this.deps.objects.putBytes(metadataKey, jsonBytes(draft), 'application/json');
    return {
      train_prefix: `${dataPrefix}/train/`,
      validation_prefix: `${dataPrefix}/validation/`,
      metadata_key: metadataKey,
      hyperparameters,
      shards,
      rows: { fit: split.fit.rows.length, validation: split.validation.rows.length, holdout: split.holdout.rows.length },
    };
  }

  /**
   * Converts the XGBoost model of a built-in algorithm job (`xgboost-model` in its `model.tar.gz`) into the ONNX tree
   * ensemble fed by the draft metadata's preprocessing, chooses the decision threshold by the run's policy on the
   * validation rows, and records the holdout metrics: a candidate like the built-in trainers'.
   */
  async importXgboostModel(run: PipelineRun, seed: number, job: { model_artifacts: string }, data: XgboostData): Promise<Candidate> {
    const match = /^s3:\/\/[^/]+\/(.+)$/.exec(job.model_artifacts);
    if (match?.[1] === undefined) throw new PipelineStepError(`unexpected model artifacts location ${job.model_artifacts}`);
    const entries = extractTarEntries(await this.deps.objects.getBytes(match[1]));
    const modelBytes = entries.get(XGBOOST_MODEL_FILE);
    if (modelBytes === undefined) {
      throw new PipelineStepError(`model.tar.gz holds no ${XGBOOST_MODEL_FILE} (it holds ${[...entries.keys()].join(', ') || 'nothing'})`);
    }
    const draft = parseModelMetadata(JSON.parse(new TextDecoder().decode(await this.deps.objects.getBytes(data.metadata_key))));
    let onnx: Uint8Array;
    try {
      onnx = xgboostToOnnx(parseXgboostModelBytes(modelBytes), draft.preprocessing);
    } catch (error) {
      if (error instanceof XgboostModelError) throw new PipelineStepError(`the training job's ${XGBOOST_MODEL_FILE}: ${error.message}`);
      throw error;
    }
    const split = this.splitForXgboost(run, seed, await this.readDataset(run));
    const [validation, holdout] = await this.scoreBytes(onnx, draft, [split.validation.rows, split.holdout.rows]);
    const metadata = parseModelMetadata(
      completeXgboostMetadata(
        draft,
        run.decision_threshold,
        { labels: split.validation.labels, probabilities: validation as Float64Array },
        { labels: split.holdout.labels, probabilities: holdout as Float64Array },
        split.fit.rows.length,
      ),
    );
    const prefix = `${runPrefix(run)}/xgboost-seed-${seed}`;
    await this.deps.objects.putBytes(`${prefix}/metadata.json`, jsonBytes(metadata), 'application/json');
    await this.deps.objects.putBytes(`${prefix}/model.onnx`, onnx, 'application/octet-stream');
    return this.candidate(seed, `${prefix}/model.onnx`, `${prefix}/metadata.json`, onnx, metadata, this.deps.sha256(onnx), false);
  }

  /** Scores the candidate's ONNX artifact in onnxruntime on the holdout its seed set aside. */
  async evaluate(run: PipelineRun, seed: number, candidate: Candidate): Promise<Evaluation> {
    const holdout = await this.holdout(run, seed);
    const metadata = await this.readMetadata(candidate.metadata_key);
    const { probabilities, totalMs } = await this.score(candidate.artifact_key, metadata, holdout.rows, candidate.sha256);
    const metrics = classificationMetrics(holdout.labels, probabilities, metadata.output.threshold);
    const evaluation: Evaluation = {
      seed,
      holdout_rows: holdout.rows.length,
      metrics: Object.fromEntries(Object.entries(metrics).map(([k, v]) => [k, round(v)])),
      fairness: this.fairness(run, holdout, probabilities, metadata.output.threshold),
      calibration: calibrationTable(holdout.labels, probabilities).map((bin) => ({
        ...bin,
        mean_predicted: bin.mean_predicted === null ? null : round(bin.mean_predicted),
        observed_rate: bin.observed_rate === null ? null : round(bin.observed_rate),
      })),
      latency: { total_ms: round(totalMs), ms_per_1000_rows: round((totalMs / Math.max(1, holdout.rows.length)) * 1000) },
      importance: await this.importance(candidate, metadata, holdout.rows),
    };
    await this.deps.objects.putBytes(`${runPrefix(run)}/evaluation-seed-${seed}.json`, jsonBytes(evaluation), 'application/json');
    return evaluation;
  }

  /** Scores the production version on the same holdout, and summarises the seeds. */
  async compareWithChampion(run: RunState): Promise<Comparison> {
    const seedRuns = run.seed_runs ?? [];
    const first = seedRuns[0];
    if (first === undefined) throw new PipelineStepError('no seed produced a candidate');
    const seeds = summarizeSeeds(seedRuns.map((r) => r.evaluation.metrics));
    const model = (await this.deps.registry.listModels()).find((m) => m.model === run.model);
    if (model?.production_version === null || model === undefined) {
      return { candidate: first, champion: null, champion_note: `model "${run.model}" has no production version yet`, seeds };
    }
    const champion = await this.deps.registry.getVersion(run.model, model.production_version);
    const holdout = await this.holdout(run, first.seed);
    const { probabilities } = await this.score(champion.artifact.key, champion.metadata, holdout.rows, champion.artifact.sha256);
    const metrics = classificationMetrics(holdout.labels, probabilities, champion.metadata.output.threshold);
    return {
      candidate: first,
      champion: { version: champion.version, metrics: Object.fromEntries(Object.entries(metrics).map(([k, v]) => [k, round(v)])) },
      champion_note: `version ${champion.version} scored on the candidate's ${holdout.rows.length}-row holdout`,
      seeds,
    };
  }

  gate(run: RunState): GateDecision {
    const comparison = this.comparison(run);
    const { evaluation } = comparison.candidate;
    // Fairness thresholds apply to models with a protected attribute; the others have nothing to measure.
    const thresholds =
      run.protected_attribute === null
        ? {
            ...run.thresholds,
            minDemographicParityRatio: undefined,
            minDisparateImpact: undefined,
            maxEqualOpportunityDifference: undefined,
          }
        : run.thresholds;
    return evaluateGate({
      candidate: { metrics: evaluation.metrics, ...(evaluation.fairness === null ? {} : { fairness: evaluation.fairness }) },
      ...(comparison.champion === null ? {} : { champion: { metrics: comparison.champion.metrics } }),
      thresholds,
      maxRegression: run.max_regression,
      ...(comparison.seeds.runs > 1 ? { seedSpread: seedSpread(comparison.seeds, 'roc_auc', run.max_seed_spread) } : {}),
    });
  }

  /** Stores who must decide and the token to answer; the state machine waits for the answer. */
  async requestApproval(run: RunState, token: string): Promise<{ approval_id: string }> {
    const id = this.deps.sha256(new TextEncoder().encode(token)).slice(0, 12);
    const comparison = this.comparison(run);
    await this.deps.approvals.create({
      id,
      task_token: token,
      model: run.model,
      run_id: run.run_id,
      summary: `candidate ${comparison.candidate.candidate.sha256.slice(0, 12)} (seed ${comparison.candidate.seed}): ${this.metricsLine(comparison.candidate.evaluation.metrics)}; ${comparison.champion === null ? 'no champion' : `champion v${comparison.champion.version}: ${this.metricsLine(comparison.champion.metrics)}`}`,
      requested_at: this.clock().toISOString(),
    });
    return { approval_id: id };
  }

  /** Registers the candidate through the registry's checks, with the metrics measured here. */
  async register(run: RunState): Promise<{ version: number; deduplicated: boolean; checks: string[] }> {
    const { candidate, evaluation } = this.comparison(run).candidate;
    const metadata = await this.readMetadata(candidate.metadata_key);
    const result = await registerArtifact(
      {
        model: run.model,
        bytes: await this.deps.objects.getBytes(candidate.artifact_key),
        metadata: {
          ...metadata,
          metrics: { ...metadata.metrics, ...evaluation.metrics, ...this.fairnessNumbers(evaluation.fairness) },
          ...(evaluation.importance === undefined ? {} : { feature_importance: evaluation.importance }),
        },
        actor: `pipeline:${run.requested_by}`,
        reason: `training run ${run.run_id}${run.reason === '' ? '' : `: ${run.reason}`}`,
        clientToken: `register-${run.run_id}`,
      },
      { inspector: this.deps.inspector, artifacts: this.artifactWriter(), registry: this.deps.registry, sha256: this.deps.sha256 },
    );
    return { version: result.version.version, deduplicated: result.deduplicated, checks: result.checks };
  }

  /** Promotes to production, or to a canary share when configured and a champion exists. */
  async promote(run: RunState): Promise<Announcement & { version: number; mode: string }> {
    const version = run.registered?.result.version;
    if (version === undefined) throw new PipelineStepError('nothing was registered');
    const request = { model: run.model, version, actor: `pipeline:${run.requested_by}`, reason: `training run ${run.run_id}`, clientToken: `promote-${run.run_id}` };
    const current = await this.deps.registry.getModel(run.model);
    const canary = run.promotion.mode === 'canary' && current.production_version !== null && current.production_version !== version;
    if (current.production_version !== version) {
      if (canary) await this.deps.registry.setCanary({ ...request, share: run.promotion.canary_share });
      else await this.deps.registry.promote(request);
    }
    const mode = canary ? `canary at ${run.promotion.canary_share}` : 'production';
    const metrics = this.comparison(run).candidate.evaluation.metrics;
    await this.writeOutcome(run, { outcome: 'promoted', version, mode, metrics });
    return {
      version,
      mode,
      message: `model ${run.model} version ${version} promoted to ${mode} by training run ${run.run_id}: ${this.metricsLine(metrics)}`,
      event: { model: run.model, version, mode, run_id: run.run_id, metrics },
    };
  }

  /** Writes why a run stopped short; a gate rejection registers the candidate as `rejected`. */
  async recordRejection(run: RunState, stage: string): Promise<Announcement> {
    let reasons: string[];
    let version: number | null = null;
    if (stage === 'ValidateData') {
      reasons = [run.validation === undefined ? 'the data failed its checks' : `data quality: see ${run.validation.report_key}`];
      if (run.validation !== undefined) {
        const report = JSON.parse(new TextDecoder().decode(await this.deps.objects.getBytes(run.validation.report_key))) as DataQualityReport;
        reasons = report.checks.filter((c) => !c.passed).map((c) => c.message);
      }
    } else {
      reasons = run.approval?.approved === false
        ? [`rejected by ${run.approval.decided_by ?? 'a reviewer'}${run.approval.reason ? `: ${run.approval.reason}` : ''}`]
        : (run.gate?.result.reasons ?? []).filter((r) => !r.passed).map((r) => r.message);
      version = await this.registerRejected(run, reasons);
    }
    await this.writeOutcome(run, { outcome: 'rejected', stage, reasons, version });
    return {
      message: `training run ${run.run_id} of model ${run.model} rejected at ${stage}: ${reasons.join('; ')}`,
      event: { model: run.model, run_id: run.run_id, stage, reasons, version },
    };
  }

  async recordFailure(run: RunState): Promise<Announcement> {
    const error = run.error?.Error ?? 'Unknown';
    let cause = run.error?.Cause ?? '';
    try {
      // Lambda errors arrive as JSON text: keep the message, not the stack.
      const parsed = JSON.parse(cause) as { errorMessage?: string };
      cause = parsed.errorMessage ?? cause;
    } catch {
      // a plain message already
    }
    const model = typeof run.model === 'string' ? run.model : 'unknown';
    const runId = typeof run.run_id === 'string' ? run.run_id : 'unknown';
    if (typeof run.model === 'string' && typeof run.run_id === 'string') {
      await this.writeOutcome(run, { outcome: 'failed', error, cause });
    }
    return {
      message: `training run ${runId} of model ${model} failed: ${error}: ${cause}`,
      event: { model, run_id: runId, error, cause },
    };
  }

  // ---- helpers ----

  private comparison(run: RunState): Comparison {
    const comparison = run.comparison?.result;
    if (comparison === undefined) throw new PipelineStepError('the run has no comparison with the champion');
    return comparison;
  }

  private async registerRejected(run: RunState, reasons: string[]): Promise<number | null> {
    const comparison = run.comparison?.result;
    if (comparison === undefined) return null;
    try {
      const { version } = await this.register(run);
      await this.deps.registry.reject({
        model: run.model,
        version,
        actor: `pipeline:${run.requested_by}`,
        reason: reasons.join('; '),
        clientToken: `reject-${run.run_id}`,
      });
      return version;
    } catch (error) {
      // The rejection is recorded in S3 and notified even when the candidate cannot be registered.
      if (error instanceof RequestValidationError) return null;
      // A candidate whose bytes are a version that serves (a retrain on unchanged data reproduces production) is
      // refused for this run only: the serving version is not taken out of service by a rejected rerun of itself.
      if (error instanceof ConflictError && error.code === 'VERSION_SERVING') return null;
      throw error;
    }
  }

  private candidate(
    seed: number,
    artifactKey: string,
    metadataKey: string,
    bytes: Uint8Array,
    metadata: ModelMetadata,
    cacheKey: string,
    cacheHit: boolean,
  ): Candidate {
    return {
      seed,
      artifact_key: artifactKey,
      metadata_key: metadataKey,
      sha256: this.deps.sha256(bytes),
      size_bytes: bytes.byteLength,
      algorithm: metadata.algorithm,
      cache_key: cacheKey,
      cache_hit: cacheHit,
    };
  }

  private async readDataset(run: PipelineRun): Promise<Uint8Array> {
    const bytes = await this.deps.objects.getBytes(run.dataset.key);
    if (run.dataset.sha256 !== null && this.deps.sha256(bytes) !== run.dataset.sha256) {
      throw new PipelineStepError(`dataset ${run.dataset.key} does not match its sha256 ${run.dataset.sha256}`);
    }
    return bytes;
  }

  private async readMetadata(key: string): Promise<ModelMetadata> {
    return JSON.parse(new TextDecoder().decode(await this.deps.objects.getBytes(key))) as ModelMetadata;
  }

  private async holdout(run: PipelineRun, seed: number): Promise<LabelledRows> {
    const csv = new TextDecoder().decode(await this.readDataset(run));
    return splitLabelledCsv({ csv, target: run.target, positiveLabel: run.positive_label, seed, testFraction: run.test_fraction, missingTokens: run.missing_tokens }).holdout;
  }

  private xgboostConfig(): XgboostConfig {
    return this.deps.config.xgboost ?? DEFAULT_PIPELINE_CONFIG.xgboost;
  }

  private splitForXgboost(run: PipelineRun, seed: number, bytes: Uint8Array): XgboostSplit {
    try {
      return splitForXgboost({
        csv: new TextDecoder().decode(bytes),
        target: run.target,
        positiveLabel: run.positive_label,
        seed,
        testFraction: run.test_fraction,
        validationFraction: this.xgboostConfig().validationFraction,
        missingTokens: run.missing_tokens,
      });
    } catch (error) {
      if (error instanceof TrainingDataError || error instanceof RangeError) throw new PipelineStepError(error.message);
      throw error;
    }
  }

  /** Probabilities of an artifact not stored yet, for each list of rows, in one session. */
  private async scoreBytes(bytes: Uint8Array, metadata: ModelMetadata, parts: readonly (readonly FeatureRow[])[]): Promise<Float64Array[]> {
    const session = await this.deps.engine.createSession(bytes, metadata.preprocessing);
    try {
      const out: Float64Array[] = [];
      for (const rows of parts) {
        const probabilities = new Float64Array(rows.length);
        for (let start = 0; start < rows.length; start += EVALUATION_BATCH) {
          const batch = rows.slice(start, start + EVALUATION_BATCH);
          probabilities.set(await session.score(encodeRows(metadata.preprocessing, batch), batch.length), start);
        }
        out.push(probabilities);
      }
      return out;
    } finally {
      await session.release();
    }
  }

  private async score(
    artifactKey: string,
    metadata: ModelMetadata,
    rows: readonly FeatureRow[],
    expectedSha256?: string,
  ): Promise<{ probabilities: Float64Array; totalMs: number }> {
    const bytes = await this.deps.objects.getBytes(artifactKey);
    if (expectedSha256 !== undefined && this.deps.sha256(bytes) !== expectedSha256) {
      throw new PipelineStepError(`artifact ${artifactKey} does not match its recorded sha256`);
    }
    const session = await this.deps.engine.createSession(bytes, metadata.preprocessing);
    try {
      const probabilities = new Float64Array(rows.length);
      let totalMs = 0;
      for (let start = 0; start < rows.length; start += EVALUATION_BATCH) {
        const batch = rows.slice(start, start + EVALUATION_BATCH);
        const input = encodeRows(metadata.preprocessing, batch);
        const began = this.elapsed();
        const scores = await session.score(input, batch.length);
        totalMs += this.elapsed() - began;
        probabilities.set(scores, start);
      }
      return { probabilities, totalMs };
    } finally {
      await session.release();
    }
  }

  /**
   * Mean |SHAP| per feature on the holdout's first rows, with the explain route's method and background; graphs
   * without an exact method are sampled through a session of the candidate.
   */
  private async importance(candidate: Candidate, metadata: ModelMetadata, rows: readonly FeatureRow[]): Promise<FeatureImportance> {
    const bytes = await this.deps.objects.getBytes(candidate.artifact_key);
    let session: Awaited<ReturnType<ScoringEngine['createSession']>> | undefined;
    try {
      const importance = await globalImportance(bytes, metadata, rows, async (input, count) => {
        session ??= await this.deps.engine.createSession(bytes, metadata.preprocessing);
        return session.score(input, count);
      });
      return { ...importance, mean_abs_shap: Object.fromEntries(Object.entries(importance.mean_abs_shap).map(([k, v]) => [k, round(v)])) };
    } finally {
      await session?.release();
    }
  }

  private fairness(run: PipelineRun, holdout: LabelledRows, probabilities: Float64Array, threshold: number): FairnessReport | null {
    if (run.protected_attribute === null) return null;
    const protectedGroup = groupFromAttribute(holdout.rows, run.protected_attribute);
    // Fairness compares how often each group gets the favourable outcome.
    const favourableIsNegative = run.favorable_outcome === 'negative';
    const predicted = Array.from(probabilities, (p) => ((p >= threshold) !== favourableIsNegative ? 1 : 0));
    const labels = Array.from(holdout.labels, (l) => (favourableIsNegative ? 1 - l : l));
    return fairnessMetrics({ labels, predicted, protectedGroup });
  }

  private fairnessNumbers(fairness: FairnessReport | null): Record<string, number> {
    if (fairness === null) return {};
    const numbers: Record<string, number> = {};
    if (fairness.demographic_parity_ratio !== null) numbers.demographic_parity_ratio = round(fairness.demographic_parity_ratio);
    if (fairness.disparate_impact !== null) numbers.disparate_impact = round(fairness.disparate_impact);
    if (fairness.equal_opportunity_difference !== null) numbers.equal_opportunity_difference = round(fairness.equal_opportunity_difference);
    return numbers;
  }

  private metricsLine(metrics: Record<string, number>): string {
    return ['roc_auc', 'accuracy', 'f1']
      .filter((k) => metrics[k] !== undefined)
      .map((k) => `${k} ${(metrics[k] as number).toFixed(4)}`)
      .join(', ');
  }

  private artifactWriter() {
    return {
      putArtifact: (key: string, bytes: Uint8Array, _sha256: string, contentType: string) => this.deps.objects.putBytes(key, bytes, contentType),
    };
  }

  private async writeOutcome(run: PipelineRun, outcome: Record<string, unknown>): Promise<void> {
    await this.deps.objects.putBytes(
      `${runPrefix(run)}/outcome.json`,
      jsonBytes({ model: run.model, run_id: run.run_id, at: this.clock().toISOString(), ...outcome }),
      'application/json',
    );
  }
}
