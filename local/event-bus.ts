import { randomUUID } from 'node:crypto';
import { DRIFT_DETAIL_TYPES, DRIFT_EVENT_SOURCE, type DriftEvent, type DriftEventPublisher } from '#core/drift/events.ts';

/**
 * The local default event bus: keeps every event the drift job puts, and applies the one rule the
 * stack has for them, the training pipeline's retrain rule (`RetrainRequested` from
 * `serverless-mlops.drift` → start a run with the detail as input; lib/constructs/training-pipeline.ts).
 */

export interface BusEvent {
  readonly id: string;
  readonly time: string;
  readonly source: string;
  readonly 'detail-type': string;
  readonly detail: Readonly<Record<string, unknown>>;
}

export class LocalEventBus implements DriftEventPublisher {
  readonly events: BusEvent[] = [];

  constructor(
    private readonly startRun: (input: Record<string, unknown>) => void,
    private readonly onEvent?: (event: BusEvent) => void,
  ) {}

  async publish(events: readonly DriftEvent[]): Promise<void> {
    for (const e of events) {
      const event: BusEvent = { id: randomUUID(), time: new Date().toISOString(), source: DRIFT_EVENT_SOURCE, 'detail-type': e.detailType, detail: e.detail };
      this.events.push(event);
      this.onEvent?.(event);
      if (e.detailType === DRIFT_DETAIL_TYPES.retrainRequested) this.startRun({ ...e.detail });
    }
  }
}
