/**
 * The drift job's settings as they arrive at runtime: the `DRIFT_CONFIG` environment variable of the drift Lambda
 * and the `DriftJobConfig` stack output `mlops drift run` reads, both the JSON `DriftMonitor` writes from the
 * validated CDK config. They are checked again here with the contract's schema (`driftJobSettings`, whose threshold
 * fields are the config's own), because a hand-edited variable or an older stack can disagree with this code, and a
 * drift job running on `undefined` thresholds would report nonsense rather than fail.
 */
import { driftJobSettings } from '#contracts/drift.ts';
import { ENV } from '#contracts/env.ts';
import { ConfigError, parseWith } from '#contracts/schema.ts';
import type { DriftJobSettings } from './job.ts';

/** The settings JSON is not what the drift job can run with; the message names the field and the value received. */
export class DriftSettingsError extends ConfigError {
  constructor(message: string) {
    super(message);
    this.name = 'DriftSettingsError';
  }
}

/**
 * Parses and checks the drift job's settings JSON. `source` names where it came from in messages
 * (`DRIFT_CONFIG`, the `DriftJobConfig` stack output).
 * @throws DriftSettingsError naming the first field that is missing, unknown or out of range.
 */
export function parseDriftJobSettings(json: string, source: string = ENV.DRIFT_CONFIG): DriftJobSettings {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    throw new DriftSettingsError(`${source} must be JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  try {
    return parseWith(driftJobSettings, value, { source });
  } catch (error) {
    if (error instanceof ConfigError) throw new DriftSettingsError(error.message);
    throw error;
  }
}
