import { randomUUID } from 'node:crypto';
import { matchesEventPattern, retrainEventPattern } from '#contracts/drift.ts';
import { DRIFT_EVENT_SOURCE, type DriftEvent, type DriftEventPublisher } from '#core/drift/events.ts';

/**
 * The local default event bus: keeps every event the drift job puts, and applies the one rule the
 * stack has for them, the training pipeline's retrain rule (`retrainEventPattern` of the deployment's app: a
 * `RetrainRequested` from `serverless-mlops.drift` with this app and `requested_by: drift` → start a run with the
 * detail as input; lib/constructs/training-pipeline.ts).
 */

export type BusEvent = {
  readonly id: string;
  readonly time: string;
  readonly source: string;
  readonly 'detail-type': string;
  readonly detail: Readonly<Record<string, unknown>>;
};

export class LocalEventBus implements DriftEventPublisher {
  readonly events: BusEvent[] = [];

  private readonly retrainPattern: ReturnType<typeof retrainEventPattern>;

  /** @param app the local deployment's app name: only retrain requests carrying it start a run */
  constructor(
    app: string,
    private readonly startRun: (input: Record<string, unknown>) => void,
    private readonly onEvent?: (event: BusEvent) => void,
  ) {
    this.retrainPattern = retrainEventPattern(app);
  }

  async publish(events: readonly DriftEvent[]): Promise<void> {
    for (const e of events) {
      const event: BusEvent = { id: randomUUID(), time: new Date().toISOString(), source: DRIFT_EVENT_SOURCE, 'detail-type': e.detailType, detail: e.detail };
      this.events.push(event);
      this.onEvent?.(event);
      if (matchesEventPattern(this.retrainPattern, event)) this.startRun({ ...e.detail });
    }
  }
}
