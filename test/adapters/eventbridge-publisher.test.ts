import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { EventBridgePublisher } from '#adapters/eventbridge-publisher.ts';
import { DRIFT_DETAIL_TYPES, DRIFT_EVENT_SOURCE, type DriftEvent } from '#core/drift/events.ts';

/**
 * The EventBridge publisher with PutEvents answers injected by aws-sdk-client-mock (there is no local EventBridge
 * server; locally the drift job publishes to local/event-bus.ts). PutEvents answers 200 while failing single
 * entries (`FailedEntryCount`): those must be retried, and what still fails must fail the drift job, whose retry
 * sends the same events again.
 */

const client = new EventBridgeClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
const eventBridge = mockClient(client);

afterEach(() => {
  eventBridge.reset();
});

const drift = (model: string): DriftEvent => ({
  detailType: DRIFT_DETAIL_TYPES.driftDetected,
  detail: { model, model_version: 1, severity: 'critical', drift_score: 0.4 },
});

const entriesOf = (call: number) => eventBridge.commandCalls(PutEventsCommand)[call]?.args[0].input.Entries ?? [];

describe('EventBridgePublisher', () => {
  it('puts each event with the drift source, its detail-type, its detail as JSON and the bus name', async () => {
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: '1' }, { EventId: '2' }] });
    const retrain: DriftEvent = { detailType: DRIFT_DETAIL_TYPES.retrainRequested, detail: { run_id: 'drift-credit-20261201T080000Z', model: 'credit' } };

    await new EventBridgePublisher(client, 'default').publish([drift('credit'), retrain]);

    expect(entriesOf(0)).toEqual([
      { Source: DRIFT_EVENT_SOURCE, DetailType: 'DriftDetected', Detail: JSON.stringify(drift('credit').detail), EventBusName: 'default' },
      { Source: DRIFT_EVENT_SOURCE, DetailType: 'RetrainRequested', Detail: JSON.stringify(retrain.detail), EventBusName: 'default' },
    ]);
  });

  it('sends at most 10 entries per PutEvents call', async () => {
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0 });
    await new EventBridgePublisher(client).publish(Array.from({ length: 23 }, (_, i) => drift(`model-${i}`)));
    expect(eventBridge.commandCalls(PutEventsCommand).map((c) => c.args[0].input.Entries?.length)).toEqual([10, 10, 3]);
  });

  it('retries only the entries a call failed, then succeeds', async () => {
    eventBridge
      .on(PutEventsCommand)
      .resolvesOnce({ FailedEntryCount: 1, Entries: [{ EventId: '1' }, { ErrorCode: 'InternalFailure', ErrorMessage: 'try again' }, { EventId: '3' }] })
      .resolvesOnce({ FailedEntryCount: 0, Entries: [{ EventId: '2' }] });

    await new EventBridgePublisher(client, 'default', { baseDelayMs: 0 }).publish([drift('a'), drift('b'), drift('c')]);

    expect(eventBridge.commandCalls(PutEventsCommand)).toHaveLength(2);
    expect(entriesOf(1).map((e) => JSON.parse(e.Detail ?? '{}').model)).toEqual(['b']);
  });

  it('throws, naming the count and the last error, when entries still fail after every attempt', async () => {
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'ThrottlingException', ErrorMessage: 'rate exceeded' }] });

    await expect(new EventBridgePublisher(client, 'default', { maxAttempts: 3, baseDelayMs: 0 }).publish([drift('credit')])).rejects.toThrow(
      '1 drift events were not put on bus default (ThrottlingException: rate exceeded)',
    );
    expect(eventBridge.commandCalls(PutEventsCommand)).toHaveLength(3);
  });
});
