import type { Reservoir } from '#core/data/random.ts';
import type { CaptureRecord, FeedbackRecord } from './records.ts';

/**
 * What capture and the drift job need from the outside world: Firehose or an S3 batch writer
 * for captures, S3 for reading them back and for feedback labels. Adapters in lambdas/adapters/.
 */

/** Where captured predictions go. Throws only when records could not be delivered after its retries. */
export interface CaptureSink {
  put(records: readonly CaptureRecord[]): Promise<void>;
}

/** Reads captured predictions and feedback back from their partitions. */
export interface CaptureReader {
  /**
   * Records of one model version captured in [from, to). With `sample`, each record is offered to it as it is read
   * and what it kept is returned: memory stays bounded by its capacity whatever the window holds.
   */
  readCaptures(model: string, version: number, from: Date, to: Date, sample?: Reservoir<CaptureRecord>): Promise<CaptureRecord[]>;
  /** Feedback labels of a model received in [from, to). */
  readFeedback(model: string, from: Date, to: Date): Promise<FeedbackRecord[]>;
}

/** Stores one feedback label (durably, before the API answers). */
export interface FeedbackSink {
  putFeedback(record: FeedbackRecord): Promise<void>;
}
