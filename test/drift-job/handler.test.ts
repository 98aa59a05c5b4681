import { Logger } from '@aws-lambda-powertools/logger';
import { beforeAll, describe, expect, it } from 'vitest';
import type { DriftEvent } from '#core/drift/events.ts';
import type { DriftReportDocument } from '#core/drift/job.ts';
import type { ModelMetadata } from '#core/model/metadata.ts';
import type { ModelRecord, ModelVersionRecord } from '#core/registry/records.ts';
import { trainCreditModel } from '../../examples/credit/train.ts';
import { createDriftJobHandler } from '../../lambdas/drift-job/drift-job-handler.ts';

let metadata: ModelMetadata;
beforeAll(async () => {
  ({ metadata } = await trainCreditModel());
});

/** The drift job's dependencies as plain fakes: `credit` is in production, `draft` has no production version. */
function fakes(options: { failing?: readonly string[] } = {}) {
  const models = [
    { model: 'credit', production_version: 1 },
    { model: 'draft', production_version: null },
    { model: 'fraud', production_version: 2 },
  ] as unknown as ModelRecord[];
  const written = new Map<string, string>();
  const published: DriftEvent[] = [];
  const reported: DriftReportDocument[] = [];
  const windows: { model: string; from: Date; to: Date }[] = [];
  const handler = createDriftJobHandler({
    registry: {
      listModels: async () => models,
      getModel: async (model) => {
        if (options.failing?.includes(model)) throw new Error(`registry unavailable for ${model}`);
        return models.find((m) => m.model === model);
      },
      getVersion: async (model, version) => ({ model, version, metadata }) as unknown as ModelVersionRecord,
    },
    captures: {
      readCaptures: async (model, _version, from, to) => {
        windows.push({ model, from, to });
        return [];
      },
      readFeedback: async () => [],
    },
    reports: { putText: async (key, text) => void written.set(key, text) },
    events: { publish: async (events) => void published.push(...events) },
    ledger: { claim: async () => ({ claimed: true }) },
    settings: { cooldownMinutes: 60, retrainOnCritical: true },
    logger: new Logger({ serviceName: 'drift-monitor', logLevel: 'SILENT' }),
    observer: { reported: (document) => void reported.push(document) },
  });
  return { handler, written, published, reported, windows };
}

describe('createDriftJobHandler', () => {
  it('checks every model with a production version over the scheduled window, reports and observes each', async () => {
    // Prepare
    const { handler, written, reported, windows } = fakes();

    // Act
    const outcome = await handler({ kind: 'hourly', window: '1h', time: '2026-03-01T10:00:00Z' });

    // Assess: `draft` (no production version) is not checked; the window ends at the event's time.
    expect(outcome.failures).toEqual([]);
    expect(outcome.results.map((r) => r.model).sort()).toEqual(['credit', 'fraud']);
    expect(windows.map((w) => [w.model, w.from.toISOString(), w.to.toISOString()]).sort()).toEqual([
      ['credit', '2026-03-01T09:00:00.000Z', '2026-03-01T10:00:00.000Z'],
      ['fraud', '2026-03-01T09:00:00.000Z', '2026-03-01T10:00:00.000Z'],
    ]);
    // No captures: insufficient data, never an alarm; the reports are written all the same.
    expect(outcome.results.every((r) => r.verdict === 'insufficient_data')).toBe(true);
    expect(reported).toHaveLength(2);
    for (const result of outcome.results) {
      expect(written.has(result.report_keys.json)).toBe(true);
      expect(written.has(result.report_keys.html)).toBe(true);
    }
  });

  it('fails a scheduled run whose every model failed (so Lambda retries it), naming the models', async () => {
    const { handler } = fakes({ failing: ['credit', 'fraud'] });
    await expect(handler({ kind: 'daily', time: '2026-03-01T02:00:00Z' })).rejects.toThrow('drift check failed for credit, fraud');
  });

  it('answers the failures of a partly failed run, and of a requested model, without throwing', async () => {
    const partly = fakes({ failing: ['fraud'] });
    const outcome = await partly.handler({ kind: 'hourly' });
    expect(outcome.results.map((r) => r.model)).toEqual(['credit']);
    expect(outcome.failures).toEqual([{ model: 'fraud', error: 'registry unavailable for fraud' }]);

    const requested = fakes({ failing: ['credit'] });
    const manual = await requested.handler({ model: 'credit', window: '30m' });
    expect(manual).toEqual({ results: [], failures: [{ model: 'credit', error: 'registry unavailable for credit' }] });
  });

  it('reports an unknown model as a failure that names it', async () => {
    const { handler } = fakes();
    const outcome = await handler({ model: 'nope' });
    expect(outcome.failures).toEqual([{ model: 'nope', error: 'model "nope" is not registered' }]);
  });

  it('refuses a malformed event before touching anything, naming the field', async () => {
    const { handler, windows } = fakes();
    await expect(handler({ kind: 'weekly' })).rejects.toThrow('drift job input "kind" must be hourly, daily or manual, got "weekly"');
    await expect(handler({ window: 'soon' })).rejects.toThrow(/drift job input "window"/);
    await expect(handler({ time: 'yesterday' })).rejects.toThrow('drift job input "time" must be an ISO 8601 time, got "yesterday"');
    expect(windows).toEqual([]);
  });
});
