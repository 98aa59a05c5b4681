/**
 * The events the drift job puts on the default EventBridge bus (source, detail types and the retrain rule's pattern
 * are declared in contracts/drift.ts). Every detail carries the deployment's `app`; `RetrainRequested`'s detail is the
 * run input.
 */

import type { DRIFT_DETAIL_TYPES } from '#contracts/drift.ts';

export { DRIFT_DETAIL_TYPES, DRIFT_EVENT_SOURCE } from '#contracts/drift.ts';

export type DriftDetailType = (typeof DRIFT_DETAIL_TYPES)[keyof typeof DRIFT_DETAIL_TYPES];

export interface DriftEvent {
  readonly detailType: DriftDetailType;
  readonly detail: Readonly<Record<string, unknown>>;
}

/** Puts events on the bus; throws when one could not be put after the adapter's retries. */
export interface DriftEventPublisher {
  publish(events: readonly DriftEvent[]): Promise<void>;
}
