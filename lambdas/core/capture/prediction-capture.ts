import type { FeatureRow } from '#core/model/metadata.ts';
import type { CaptureSink } from './ports.ts';
import { captureRecords, isSampled } from './records.ts';

/** What the API layer knows about a served predict request. */
export interface ServedPrediction {
  readonly requestId: string;
  readonly model: string;
  readonly modelVersion: number;
  readonly variant: string;
  /** The API consumer that called. */
  readonly consumer?: string;
  readonly instances: readonly FeatureRow[];
  readonly predictions: readonly { readonly label: string; readonly probability: number }[];
}

export interface PredictionCaptureOptions {
  readonly sink: CaptureSink;
  /** Share of requests captured, 0 … 1 (by request id, see `isSampled`). */
  readonly sampleRate: number;
  readonly now?: () => Date;
}

/**
 * Sends a sample of served predictions to the capture sink. Called by the API handler after a
 * successful predict (never inside the serving core), so capture cannot change what is scored.
 */
export class PredictionCapture {
  constructor(private readonly options: PredictionCaptureOptions) {}

  /** Captures the request when it is sampled; resolves to the number of records sent. */
  async capture(served: ServedPrediction): Promise<number> {
    if (!isSampled(served.requestId, this.options.sampleRate)) return 0;
    const records = captureRecords({ ...served, at: (this.options.now ?? (() => new Date()))() });
    if (records.length === 0) return 0;
    await this.options.sink.put(records);
    return records.length;
  }
}
