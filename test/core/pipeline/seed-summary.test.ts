import { describe, expect, it } from 'vitest';
import { evaluateGate } from '#core/pipeline/gate.ts';
import { seedSpread, summarizeSeeds } from '#core/pipeline/seed-summary.ts';

describe('summarizeSeeds', () => {
  // roc_auc 0.80, 0.82, 0.84: mean 0.82, sample variance (0.0004 + 0 + 0.0004) / 2 = 0.0004, std 0.02.
  // accuracy 0.7, 0.7, 0.7: std 0.
  const runs = [
    { roc_auc: 0.8, accuracy: 0.7 },
    { roc_auc: 0.82, accuracy: 0.7 },
    { roc_auc: 0.84, accuracy: 0.7 },
  ];

  it('gives the mean, sample std, min and max of every metric', () => {
    const summary = summarizeSeeds(runs);
    expect(summary.runs).toBe(3);
    expect(Object.keys(summary.metrics)).toEqual(['roc_auc', 'accuracy']);
    expect(summary.metrics.roc_auc?.mean).toBeCloseTo(0.82, 12);
    expect(summary.metrics.roc_auc?.std).toBeCloseTo(0.02, 12);
    expect(summary.metrics.roc_auc).toMatchObject({ min: 0.8, max: 0.84 });
    expect(summary.metrics.accuracy).toEqual({ mean: 0.7, std: 0, min: 0.7, max: 0.7 });
  });

  it('uses n − 1: two runs 1 and 3 have std √2', () => {
    expect(summarizeSeeds([{ m: 1 }, { m: 3 }]).metrics.m).toEqual({ mean: 2, std: Math.SQRT2, min: 1, max: 3 });
  });

  it('gives a single run a zero spread', () => {
    expect(summarizeSeeds([{ m: 0.5 }]).metrics.m).toEqual({ mean: 0.5, std: 0, min: 0.5, max: 0.5 });
  });

  it('throws when there are no runs, the runs disagree on metrics, or a value is not finite', () => {
    expect(() => summarizeSeeds([])).toThrow(/no seed runs/);
    expect(() => summarizeSeeds([{ a: 1, b: 2 }, { a: 1, c: 2 }])).toThrow('seed run 2 reports different metrics than run 1 (missing: b; extra: c)');
    expect(() => summarizeSeeds([{ a: 1 }, { a: Number.NaN }])).toThrow(/metric "a" is not a finite number/);
  });
});

describe('seedSpread', () => {
  const spread = () => summarizeSeeds([{ roc_auc: 0.8 }, { roc_auc: 0.82 }, { roc_auc: 0.84 }]);

  it('passes when the std is at most the max, and fails above it', () => {
    const summary = spread();
    const ok = seedSpread(summary, 'roc_auc', 0.03);
    expect(ok).toMatchObject({ metric: 'roc_auc', runs: 3, max: 0.03, passed: true, message: 'roc_auc std across 3 seeds is 0.0200, within the 0.03 allowed' });
    expect(ok.mean).toBeCloseTo(0.82, 12);
    const tooWide = seedSpread(summary, 'roc_auc', 0.01);
    expect(tooWide).toMatchObject({ passed: false, message: 'roc_auc std across 3 seeds is 0.0200, more than the 0.01 allowed' });
  });

  it('feeds the gate directly', () => {
    const summary = spread();
    const decision = evaluateGate({ candidate: { metrics: { roc_auc: 0.82 } }, thresholds: {}, maxRegression: 0.01, seedSpread: seedSpread(summary, 'roc_auc', 0.01) });
    expect(decision.passed).toBe(false);
    expect(decision.reasons.map((r) => r.check)).toEqual(['seed_spread']);
  });

  it('throws for an unknown metric or an invalid max', () => {
    const summary = spread();
    expect(() => seedSpread(summary, 'f1', 0.01)).toThrow('metric "f1" is not in the seed summary (metrics: roc_auc)');
    expect(() => seedSpread(summary, 'roc_auc', -1)).toThrow(RangeError);
  });
});

describe('seed summaries, exactly', () => {
  it('names the run that misses a metric, or adds one, and says none for the other side', () => {
    expect(() => summarizeSeeds([{ a: 1, b: 2 }, { a: 1, b: 2 }, { a: 1 }])).toThrow('seed run 3 reports different metrics than run 1 (missing: b; extra: none)');
    expect(() => summarizeSeeds([{ a: 1 }, { a: 1, b: 2 }])).toThrow('seed run 2 reports different metrics than run 1 (missing: none; extra: b)');
    expect(() => summarizeSeeds([{ a: 1, b: 2, c: 3 }, { a: 1, d: 4, e: 5 }])).toThrow('seed run 2 reports different metrics than run 1 (missing: b, c; extra: d, e)');
  });

  it('names the run and the metric that is not finite', () => {
    expect(() => summarizeSeeds([{ a: 1 }, { a: 2 }, { a: Number.POSITIVE_INFINITY }])).toThrow('seed run 3: metric "a" is not a finite number (Infinity)');
  });

  it('passes a spread exactly at the max, and accepts a max of 0 for identical runs', () => {
    const summary = summarizeSeeds([{ m: 1 }, { m: 3 }]);
    expect(seedSpread(summary, 'm', Math.SQRT2).passed).toBe(true);
    expect(seedSpread(summarizeSeeds([{ m: 0.5 }, { m: 0.5 }]), 'm', 0)).toMatchObject({ passed: true, message: 'm std across 2 seeds is 0.0000, within the 0 allowed' });
  });

  it('refuses a negative or infinite max, and an unknown metric, with their messages', () => {
    const summary = summarizeSeeds([{ m: 1 }, { n: 2, m: 2 }].map(({ m }) => ({ m })));
    expect(() => seedSpread(summary, 'm', -0.01)).toThrow('max spread must be a non-negative number, got -0.01');
    expect(() => seedSpread(summary, 'm', Number.POSITIVE_INFINITY)).toThrow('max spread must be a non-negative number, got Infinity');
    expect(() => seedSpread(summarizeSeeds([{ a: 1, b: 2 }]), 'c', 0.1)).toThrow('metric "c" is not in the seed summary (metrics: a, b)');
  });
});
