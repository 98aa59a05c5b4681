/**
 * SageMaker training job names: `^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$` (CreateTrainingJob). Model names may hold `_`
 * and run up to 63 characters, and the state machine appends `-{seed}`, so the pipeline derives a prefix that fits.
 */

/** CreateTrainingJob's name rule. */
export const TRAINING_JOB_NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;

/** The largest seed a run accepts (int32, so the job name suffix has at most 10 digits). */
export const MAX_SEED = 2_147_483_647;

/** Longest job name prefix: 63 − `-` − 10 digits of the largest seed. */
export const MAX_JOB_PREFIX_LENGTH = 52;

/** Run ids keep this many of their letters and digits in the prefix (a uuid's first 12 hex digits). */
const RUN_ID_CHARS = 12;

/** Letters, digits and single dashes, no dash at either end. */
function clean(text: string): string {
  return text.replace(/[^a-zA-Z0-9]+/g, '-').replace(/^-+|-+$/g, '');
}

/**
 * `{model}-{run id}`, cleaned to the job name rule and cut so that `{prefix}-{seed}` fits in 63 characters; the state
 * machine names each seed's job `{prefix}-{seed}`.
 */
export function trainingJobPrefix(model: string, runId: string): string {
  const id = runId.replace(/[^a-zA-Z0-9]/g, '').slice(-RUN_ID_CHARS) || 'run';
  const room = MAX_JOB_PREFIX_LENGTH - id.length - 1;
  const name = clean(model).slice(0, room).replace(/-+$/, '') || 'model';
  return `${name}-${id}`;
}
