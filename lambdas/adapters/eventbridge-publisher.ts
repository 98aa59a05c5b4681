import { type EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { DRIFT_EVENT_SOURCE, type DriftEvent, type DriftEventPublisher } from '#core/drift/events.ts';

/** PutEvents takes at most 10 entries per call. */
const MAX_ENTRIES = 10;

/**
 * Puts drift events on an EventBridge bus (source `serverless-mlops.drift`; the details name the deployment's `app`). Entries a call reports
 * as failed are retried with backoff; what still fails is thrown, so the drift job fails and its
 * retry (same window, same retrain request id) sends them again.
 */
export class EventBridgePublisher implements DriftEventPublisher {
  constructor(
    private readonly client: EventBridgeClient,
    private readonly busName: string = 'default',
    private readonly options: { maxAttempts?: number; baseDelayMs?: number } = {},
  ) {}

  async publish(events: readonly DriftEvent[]): Promise<void> {
    for (let i = 0; i < events.length; i += MAX_ENTRIES) await this.putChunk(events.slice(i, i + MAX_ENTRIES));
  }

  private async putChunk(events: readonly DriftEvent[]): Promise<void> {
    let pending: PutEventsRequestEntry[] = events.map((e) => ({
      Source: DRIFT_EVENT_SOURCE,
      DetailType: e.detailType,
      Detail: JSON.stringify(e.detail),
      EventBusName: this.busName,
    }));
    const maxAttempts = this.options.maxAttempts ?? 3;
    let lastError = '';
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      if (attempt > 1) await new Promise((resolve) => setTimeout(resolve, (this.options.baseDelayMs ?? 100) * 2 ** (attempt - 2)));
      const response = await this.client.send(new PutEventsCommand({ Entries: pending }));
      if ((response.FailedEntryCount ?? 0) === 0) return;
      const results = response.Entries ?? [];
      const retry: PutEventsRequestEntry[] = [];
      pending.forEach((entry, i) => {
        const code = results[i]?.ErrorCode;
        if (code !== undefined && code !== null) {
          retry.push(entry);
          lastError = `${code}: ${results[i]?.ErrorMessage ?? ''}`;
        }
      });
      pending = retry;
    }
    throw new Error(`${pending.length} drift events were not put on bus ${this.busName} (${lastError})`);
  }
}
