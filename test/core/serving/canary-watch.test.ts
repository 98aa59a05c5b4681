import { describe, expect, it } from 'vitest';
import { ConflictError } from '#core/errors.ts';
import type { AuditRecord, ModelRecord } from '#core/registry/records.ts';
import {
  CanaryWatch,
  canarySetAt,
  judgeCanary,
  type CanaryRegistry,
  type CanaryThresholds,
  type VariantFigures,
} from '#core/serving/canary-watch.ts';

const THRESHOLDS: CanaryThresholds = {
  maxErrorRatePercent: 1,
  maxP95LatencyMs: 1000,
  maxScoreShift: 0.1,
  minRequests: 20,
  healthyMinutes: 30,
  autoPromote: true,
};
const MINUTE = 60_000;

function figures(overrides: Partial<VariantFigures> = {}): VariantFigures {
  return { requests: 100, errors: 0, p95LatencyMs: 40, meanScore: 0.3, ...overrides };
}

describe('judgeCanary', () => {
  it('keeps watching while the canary has fewer requests than needed, whatever they show', () => {
    const verdict = judgeCanary({ canary: figures({ requests: 19, errors: 19 }), production: figures(), onForMs: 60 * MINUTE }, THRESHOLDS);
    expect(verdict).toEqual({ action: 'watch', reasons: ['canary has 19 requests, fewer than the 20 needed to judge it'] });
  });

  it('rolls back on an error rate above the threshold', () => {
    const verdict = judgeCanary({ canary: figures({ errors: 2 }), production: figures(), onForMs: MINUTE }, THRESHOLDS);
    expect(verdict).toEqual({ action: 'rollback', reasons: ['canary error rate 2 % (2 of 100 requests) is above 1 %'] });
  });

  it('rolls back on p95 latency above the threshold', () => {
    const verdict = judgeCanary({ canary: figures({ p95LatencyMs: 1500 }), production: figures(), onForMs: MINUTE }, THRESHOLDS);
    expect(verdict.action).toBe('rollback');
    expect(verdict.reasons).toEqual(['canary p95 latency 1500 ms is above 1000 ms']);
  });

  it('rolls back on a mean score shift against production in either direction, and gives every breach', () => {
    const up = judgeCanary({ canary: figures({ meanScore: 0.95, errors: 5 }), production: figures({ meanScore: 0.3 }), onForMs: MINUTE }, THRESHOLDS);
    expect(up.action).toBe('rollback');
    expect(up.reasons).toEqual([
      'canary error rate 5 % (5 of 100 requests) is above 1 %',
      "canary mean score 0.95 differs from production's 0.3 by 0.65, more than 0.1",
    ]);
    const down = judgeCanary({ canary: figures({ meanScore: 0.1 }), production: figures({ meanScore: 0.3 }), onForMs: MINUTE }, THRESHOLDS);
    expect(down.action).toBe('rollback');
  });

  it('does not judge the score shift when either side scored nothing', () => {
    const verdict = judgeCanary({ canary: figures({ meanScore: 0.9 }), production: figures({ meanScore: null, requests: 0 }), onForMs: MINUTE }, THRESHOLDS);
    expect(verdict.action).toBe('watch');
  });

  it('keeps watching a healthy canary until its healthy time, then promotes it', () => {
    const early = judgeCanary({ canary: figures(), production: figures(), onForMs: 12 * MINUTE }, THRESHOLDS);
    expect(early).toEqual({ action: 'watch', reasons: ['canary is healthy after 12 of 30 minutes'] });
    const due = judgeCanary({ canary: figures({ errors: 1 }), production: figures(), onForMs: 30 * MINUTE }, THRESHOLDS);
    expect(due).toEqual({ action: 'promote', reasons: ['canary healthy for 30 minutes over 100 requests (error rate 1 %)'] });
  });

  it('leaves a healthy canary in place when automatic promotion is off', () => {
    const verdict = judgeCanary({ canary: figures(), production: figures(), onForMs: 90 * MINUTE }, { ...THRESHOLDS, autoPromote: false });
    expect(verdict.action).toBe('watch');
    expect(verdict.reasons[0]).toMatch(/automatic promotion is off$/);
  });
});

describe('judgeCanary at its thresholds', () => {
  it('judges a canary with exactly the requests needed', () => {
    expect(judgeCanary({ canary: figures({ requests: 20, errors: 2 }), production: figures(), onForMs: MINUTE }, THRESHOLDS).action).toBe('rollback');
    expect(judgeCanary({ canary: figures({ requests: 20 }), production: figures(), onForMs: 30 * MINUTE }, THRESHOLDS).action).toBe('promote');
  });

  it('breaches only above the latency and score-shift thresholds, not at them', () => {
    const at = judgeCanary(
      { canary: figures({ p95LatencyMs: 1000, meanScore: 0.75 }), production: figures({ meanScore: 0.5 }), onForMs: 30 * MINUTE },
      { ...THRESHOLDS, maxScoreShift: 0.25 },
    );
    expect(at.action).toBe('promote');
    const above = judgeCanary(
      { canary: figures({ p95LatencyMs: 1000.5, meanScore: 0.75 }), production: figures({ meanScore: 0.5 }), onForMs: 30 * MINUTE },
      { ...THRESHOLDS, maxScoreShift: 0.125 },
    );
    expect(above).toEqual({
      action: 'rollback',
      reasons: ['canary p95 latency 1000.5 ms is above 1000 ms', "canary mean score 0.75 differs from production's 0.5 by 0.25, more than 0.125"],
    });
  });

  it('does not judge latency or score shift that the canary has no figure for', () => {
    const verdict = judgeCanary({ canary: figures({ p95LatencyMs: null, meanScore: null }), production: figures({ meanScore: 0.9 }), onForMs: 30 * MINUTE }, THRESHOLDS);
    expect(verdict.action).toBe('promote');
  });
});

function modelRecord(overrides: Partial<ModelRecord> = {}): ModelRecord {
  return {
    model: 'credit',
    description: '',
    production_version: 1,
    canary: { version: 2, share: 0.2 },
    shadow_version: null,
    previous_production_versions: [],
    latest_version: 2,
    revision: 7,
    created_at: '2026-01-01T00:00:00.000Z',
    updated_at: '2026-01-01T10:00:00.000Z',
    ...overrides,
  };
}

function audit(action: AuditRecord['action'], version: number, at: string, outcome: AuditRecord['outcome'] = 'applied'): AuditRecord {
  return { model: 'credit', at, actor: 'alice', action, version, from: null, to: null, reason: '', outcome, client_token: at };
}

describe('canarySetAt', () => {
  it('is the last applied canary_set of the current canary version', () => {
    const history = [
      audit('canary_set', 2, '2026-01-01T09:00:00.000Z'),
      audit('canary_clear', 2, '2026-01-01T09:10:00.000Z'),
      audit('canary_set', 2, '2026-01-01T09:20:00.000Z'),
      audit('canary_set', 3, '2026-01-01T09:30:00.000Z', 'refused'),
    ];
    expect(canarySetAt(history, modelRecord())).toBe('2026-01-01T09:20:00.000Z');
    expect(canarySetAt(history, modelRecord({ canary: { version: 3, share: 0.1 } }))).toBeUndefined();
    expect(canarySetAt(history, modelRecord({ canary: null }))).toBeUndefined();
  });

  it('ignores later records of the same version that did not set the canary', () => {
    const history = [audit('canary_set', 2, '2026-01-01T09:00:00.000Z'), audit('canary_clear', 2, '2026-01-01T09:10:00.000Z'), audit('promote', 2, '2026-01-01T09:20:00.000Z')];
    expect(canarySetAt(history, modelRecord())).toBe('2026-01-01T09:00:00.000Z');
    expect(canarySetAt([], modelRecord())).toBeUndefined();
  });
});

describe('CanaryWatch', () => {
  function setup(options: { canary: VariantFigures; production?: VariantFigures; clearError?: Error; nowIso?: string }) {
    const calls: { method: string; request: Record<string, unknown> }[] = [];
    const notifications: { subject: string; message: string }[] = [];
    const queries: unknown[] = [];
    const registry: CanaryRegistry = {
      listModels: async () => [modelRecord(), modelRecord({ model: 'other', canary: null })],
      history: async () => [audit('canary_set', 2, '2026-01-01T09:00:00.000Z')],
      clearCanary: async (request) => {
        calls.push({ method: 'clearCanary', request });
        if (options.clearError !== undefined) throw options.clearError;
      },
      promote: async (request) => {
        calls.push({ method: 'promote', request });
      },
    };
    const watch = new CanaryWatch({
      registry,
      figures: {
        figures: async (query) => {
          queries.push(query);
          return { canary: options.canary, production: options.production ?? figures() };
        },
      },
      notifier: { notify: async (subject, message) => void notifications.push({ subject, message }) },
      thresholds: THRESHOLDS,
      clock: () => new Date(options.nowIso ?? '2026-01-01T09:10:00.000Z'),
    });
    return { watch, calls, notifications, queries };
  }

  it('reads the figures since the canary was set and only for models with a canary', async () => {
    const { watch, queries } = setup({ canary: figures() });
    const checks = await watch.checkAll();
    expect(checks.map((c) => c.model)).toEqual(['credit']);
    expect(queries).toEqual([
      { model: 'credit', canaryVersion: 2, productionVersion: 1, since: new Date('2026-01-01T09:00:00.000Z'), until: new Date('2026-01-01T09:10:00.000Z') },
    ]);
    expect(checks[0]?.evidence.onForMs).toBe(10 * MINUTE);
    expect(checks[0]?.verdict.action).toBe('watch');
    expect(checks[0]?.outcome).toBeUndefined();
  });

  it('clears a failing canary on the revision it read, with the reasons, and notifies', async () => {
    const { watch, calls, notifications } = setup({ canary: figures({ errors: 50 }) });
    const [check] = await watch.checkAll();
    expect(check?.outcome).toBe('applied');
    expect(calls).toEqual([
      {
        method: 'clearCanary',
        request: {
          model: 'credit',
          actor: 'canary-watch',
          reason: 'automatic rollback of canary version 2: canary error rate 50 % (50 of 100 requests) is above 1 %',
          clientToken: 'canary-watch:credit:7:rollback',
          expectedRevision: 7,
        },
      },
    ]);
    expect(notifications).toHaveLength(1);
    expect(notifications[0]?.subject).toBe('[credit] canary version 2 rolled back');
    expect(notifications[0]?.message).toContain('canary: 100 requests, 50 errors, p95 40 ms, mean score 0.3');
    expect(notifications[0]?.message).toContain('docs/operations/automatic-rollback.md');
  });

  it('promotes a canary healthy for its time', async () => {
    const { watch, calls, notifications } = setup({ canary: figures(), nowIso: '2026-01-01T09:45:00.000Z' });
    const [check] = await watch.checkAll();
    expect(check?.verdict.action).toBe('promote');
    expect(calls[0]?.method).toBe('promote');
    expect(calls[0]?.request).toMatchObject({ model: 'credit', version: 2, expectedRevision: 7, clientToken: 'canary-watch:credit:7:promote' });
    expect(notifications[0]?.subject).toBe('[credit] canary version 2 promoted');
  });

  it('leaves the model alone when it changed meanwhile, without notifying', async () => {
    const { watch, notifications } = setup({
      canary: figures({ errors: 50 }),
      clearError: new ConflictError('CONCURRENT_CHANGE', 'moved'),
    });
    const [check] = await watch.checkAll();
    expect(check?.outcome).toBe('skipped');
    expect(notifications).toEqual([]);
  });

  it('notifies the reasons and both sides\' figures, with the runbook on a rollback', async () => {
    const { watch, notifications } = setup({ canary: figures({ errors: 50, p95LatencyMs: null, meanScore: null }), production: figures({ p95LatencyMs: 12.345, meanScore: 0.123456 }) });
    await watch.checkAll();
    expect(notifications).toEqual([
      {
        subject: '[credit] canary version 2 rolled back',
        message: [
          'automatic rollback of canary version 2: canary error rate 50 % (50 of 100 requests) is above 1 %',
          '',
          'canary: 100 requests, 50 errors, p95 n/a, mean score n/a',
          'production (version 1): 100 requests, 0 errors, p95 12.3 ms, mean score 0.1235',
          'on canary for 600 s',
          'runbook: docs/operations/automatic-rollback.md',
        ].join('\n'),
      },
    ]);
  });

  it('gives every breach in the reason it records, separated by semicolons', async () => {
    const { watch, calls } = setup({ canary: figures({ errors: 50, p95LatencyMs: 2000 }) });
    await watch.checkAll();
    expect(calls[0]?.request['reason']).toBe(
      'automatic rollback of canary version 2: canary error rate 50 % (50 of 100 requests) is above 1 %; canary p95 latency 2000 ms is above 1000 ms',
    );
  });

  it('notifies a promotion with how to go back', async () => {
    const { watch, notifications } = setup({ canary: figures(), nowIso: '2026-01-01T09:45:00.000Z' });
    await watch.checkAll();
    expect(notifications[0]?.message.split('\n')).toEqual([
      'automatic promote of canary version 2: canary healthy for 30 minutes over 100 requests (error rate 0 %)',
      '',
      'canary: 100 requests, 0 errors, p95 40 ms, mean score 0.3',
      'production (version 1): 100 requests, 0 errors, p95 40 ms, mean score 0.3',
      'on canary for 2700 s',
      'the previous production version is archived; `mlops rollback` returns to it',
    ]);
  });

  it('skips a model with a canary but no production version', async () => {
    const queries: unknown[] = [];
    const watch = new CanaryWatch({
      registry: {
        listModels: async () => [modelRecord({ production_version: null })],
        history: async () => [],
        clearCanary: async () => undefined,
        promote: async () => undefined,
      },
      figures: {
        figures: async (query) => {
          queries.push(query);
          return { canary: figures(), production: figures() };
        },
      },
      notifier: { notify: async () => undefined },
      thresholds: THRESHOLDS,
    });
    expect(await watch.checkAll()).toEqual([]);
    expect(queries).toEqual([]);
  });

  it('measures the time on canary against the real clock by default, from the model\'s update time when the trail is silent', async () => {
    const calls: string[] = [];
    const watch = new CanaryWatch({
      registry: {
        listModels: async () => [modelRecord({ updated_at: '2020-01-01T00:00:00.000Z' })],
        history: async () => [],
        clearCanary: async () => undefined,
        promote: async (request) => void calls.push(`promote by ${request.actor}`),
      },
      figures: { figures: async () => ({ canary: figures(), production: figures() }) },
      notifier: { notify: async () => undefined },
      thresholds: THRESHOLDS,
      actor: 'night-watch',
    });
    const [check] = await watch.checkAll();
    expect(check?.evidence.onForMs).toBeGreaterThan(Date.parse('2025-01-01T00:00:00.000Z') - Date.parse('2020-01-01T00:00:00.000Z'));
    expect(check?.outcome).toBe('applied');
    expect(calls).toEqual(['promote by night-watch']);
  });

  it('lets other failures through, to be retried', async () => {
    const { watch } = setup({ canary: figures({ errors: 50 }), clearError: new Error('network') });
    await expect(watch.checkAll()).rejects.toThrow('network');
  });
});
