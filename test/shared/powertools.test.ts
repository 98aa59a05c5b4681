import { afterEach, describe, expect, it, vi } from 'vitest';
import { TextLogger } from '#shared/powertools.ts';

describe('TextLogger', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('prints one line per log: the level, the message and the keys of the call, not the keys every line repeats', () => {
    const out = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    const logger = new TextLogger({ serviceName: 'inference-api', logLevel: 'INFO' });
    logger.info('shadow scored', { model: 'credit', production_version: 1, shadow_version: 2, rows: 50, note: 'two words' });
    expect(out.mock.calls).toEqual([['INFO shadow scored model=credit production_version=1 shadow_version=2 rows=50 note="two words"']]);
  });

  it('writes warnings and errors to stderr, an error as its name and message without the stack', () => {
    const err = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const logger = new TextLogger({ serviceName: 'inference-api', logLevel: 'INFO' });
    logger.warn('out-of-range values served', { count: 2, first: [{ feature: 'Income', value: 99999999 }] });
    logger.error('model load failed', { error: new Error('no such key') });
    expect(err.mock.calls).toEqual([
      ['WARN out-of-range values served count=2 first=[{"feature":"Income","value":99999999}]'],
      ['ERROR model load failed error="Error: no such key"'],
    ]);
  });

  it('honours the log level', () => {
    const out = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    new TextLogger({ serviceName: 'inference-api', logLevel: 'WARN' }).info('hidden');
    expect(out).not.toHaveBeenCalled();
  });
});
