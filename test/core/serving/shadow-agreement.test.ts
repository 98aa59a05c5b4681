import { describe, expect, it } from 'vitest';
import type { ShadowComparison } from '#core/serving/ports.ts';
import { shadowAgreements } from '#core/serving/shadow-agreement.ts';

function comparison(overrides: Partial<ShadowComparison> & { absDiffs: readonly number[] }): ShadowComparison {
  return { model: 'credit', production_version: 1, shadow_version: 2, rows: overrides.absDiffs.length, disagreements: 0, meanAbsDiff: 0, ...overrides };
}

describe('shadowAgreements', () => {
  it('answers nothing for no comparisons', () => {
    expect(shadowAgreements([])).toEqual([]);
  });

  it('sums the rows and disagreements of every request of one model and version pair', () => {
    const [agreement, ...rest] = shadowAgreements([
      comparison({ rows: 3, disagreements: 1, absDiffs: [0.1, 0.2, 0.3] }),
      comparison({ rows: 5, disagreements: 1, absDiffs: [0.4, 0.5, 0.6, 0.7, 0.8] }),
    ]);
    expect(rest).toEqual([]);
    expect(agreement).toEqual({
      model: 'credit',
      productionVersion: 1,
      shadowVersion: 2,
      requests: 2,
      rows: 8,
      labelAgreement: 0.75,
      scoreDiff: { p50: 0.4, p95: 0.8, max: 0.8 },
    });
  });

  it('agrees fully when no row was compared, with no score differences', () => {
    const [agreement] = shadowAgreements([comparison({ rows: 0, disagreements: 0, absDiffs: [] })]);
    expect(agreement).toMatchObject({ requests: 1, rows: 0, labelAgreement: 1, scoreDiff: { p50: null, p95: null, max: null } });
  });

  it('disagrees fully when every label differs', () => {
    const [agreement] = shadowAgreements([comparison({ rows: 4, disagreements: 4, absDiffs: [0.9, 0.9, 0.9, 0.9] })]);
    expect(agreement?.labelAgreement).toBe(0);
  });

  it('takes nearest-rank percentiles of the differences in numeric order, whatever the request order', () => {
    // 20 differences: p50 is the 10th smallest, p95 the 19th, the max the 20th. 1e-7 would sort last as text ("1e-7").
    const diffs = Array.from({ length: 19 }, (_, i) => (i + 1) / 100);
    const [agreement] = shadowAgreements([
      comparison({ absDiffs: diffs.slice(10).reverse() }),
      comparison({ absDiffs: [1e-7, ...diffs.slice(0, 10).reverse()] }),
    ]);
    expect(agreement?.scoreDiff).toEqual({ p50: 0.09, p95: 0.18, max: 0.19 });
  });

  it('takes the only difference as every percentile', () => {
    const [agreement] = shadowAgreements([comparison({ absDiffs: [0.25] })]);
    expect(agreement?.scoreDiff).toEqual({ p50: 0.25, p95: 0.25, max: 0.25 });
  });

  it('takes the lower middle as p50 of an even count and the top as p95 of a small one', () => {
    const [agreement] = shadowAgreements([comparison({ absDiffs: [0.4, 0.1, 0.3, 0.2] })]);
    expect(agreement?.scoreDiff).toEqual({ p50: 0.2, p95: 0.4, max: 0.4 });
  });

  it('leaves non-finite differences (a row one side could not score) out of the percentiles but counts the row', () => {
    const [agreement] = shadowAgreements([comparison({ rows: 4, disagreements: 0, absDiffs: [Number.NaN, 0.3, Number.POSITIVE_INFINITY, 0.1] })]);
    expect(agreement).toMatchObject({ rows: 4, scoreDiff: { p50: 0.1, p95: 0.3, max: 0.3 } });
  });

  it('keeps each (model, production, shadow) triple apart and orders them by model, then production, then shadow version', () => {
    const agreements = shadowAgreements([
      comparison({ model: 'fraud', production_version: 1, shadow_version: 2, absDiffs: [0.5] }),
      comparison({ model: 'credit', production_version: 2, shadow_version: 3, absDiffs: [0.3] }),
      comparison({ model: 'credit', production_version: 1, shadow_version: 4, absDiffs: [0.2] }),
      comparison({ model: 'credit', production_version: 1, shadow_version: 3, absDiffs: [0.1] }),
      comparison({ model: 'credit', production_version: 2, shadow_version: 3, absDiffs: [0.4] }),
    ]);
    expect(agreements.map((a) => [a.model, a.productionVersion, a.shadowVersion, a.requests, a.scoreDiff.max])).toEqual([
      ['credit', 1, 3, 1, 0.1],
      ['credit', 1, 4, 1, 0.2],
      ['credit', 2, 3, 2, 0.4],
      ['fraud', 1, 2, 1, 0.5],
    ]);
  });

  it('does not merge a model whose name contains the other parts of the key', () => {
    const agreements = shadowAgreements([
      comparison({ model: 'a', production_version: 1, shadow_version: 2, absDiffs: [0.1] }),
      comparison({ model: 'a', production_version: 12, shadow_version: 2, absDiffs: [0.2] }),
      comparison({ model: 'a', production_version: 1, shadow_version: 22, absDiffs: [0.3] }),
    ]);
    expect(agreements.map((a) => [a.productionVersion, a.shadowVersion, a.requests])).toEqual([
      [1, 2, 1],
      [1, 22, 1],
      [12, 2, 1],
    ]);
  });
});
