import { describe, expect, it } from 'vitest';
import { DEFAULT_MISSING_TOKENS } from '#contracts/missing-values.ts';
import { pipelineConfig } from '#contracts/pipeline.ts';
import { normalizeRun } from '#core/pipeline/run.ts';

const config = pipelineConfig.parse({
  defaults: { missingTokens: ['NA', '-999'] },
  models: { plain: { target: 'y', positiveLabel: '1' }, own: { target: 'y', positiveLabel: '1', missingTokens: ['unknown'] } },
});
const now = new Date('2026-12-02T00:00:00Z');
const run = (input: Record<string, unknown>) => normalizeRun({ dataset: { key: 'datasets/x.csv' }, ...input }, config, now, () => 'id');

describe('normalizeRun: missing tokens', () => {
  it('takes the defaults, a model override, then the run input', () => {
    expect(run({ model: 'plain' }).missing_tokens).toEqual(['NA', '-999']);
    expect(run({ model: 'own' }).missing_tokens).toEqual(['unknown']);
    expect(run({ model: 'own', missing_tokens: [' n/a ', '?'] }).missing_tokens).toEqual(['n/a', '?']);
    expect(run({ model: 'new', target: 'y', positive_label: '1' }).missing_tokens).toEqual(['NA', '-999']);
  });

  it('has the contract default when the config does not set them', () => {
    const bare = normalizeRun({ model: 'm', target: 'y', positive_label: '1', dataset: { key: 'datasets/x.csv' } }, pipelineConfig.parse({}), now, () => 'id');
    expect(bare.missing_tokens).toEqual(DEFAULT_MISSING_TOKENS);
  });

  it.each([['NA'], [['']], [[1]], [Array.from({ length: 21 }, (_, i) => `t${i}`)], [['x'.repeat(21)]]])('refuses missing_tokens %j naming the field', (tokens) => {
    expect(() => run({ model: 'plain', missing_tokens: tokens })).toThrow(/missing_tokens.*must be an array of at most 20 non-empty strings/);
  });
});
