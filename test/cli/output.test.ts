import { describe, expect, it } from 'vitest';
import { formatFields, formatTable } from '../../cli/output.ts';
import { historyTable } from '../../cli/views.ts';
import { parseShare, parseVersion } from '../../cli/arguments.ts';

describe('output', () => {
  it('pads columns, right-aligns numbers and shows empty cells as -', () => {
    expect(
      formatTable(
        ['model', 'production', 'description'],
        [
          ['credit', 12, 'scores loans'],
          ['fraud', null, ''],
        ],
      ),
    ).toBe(['MODEL   PRODUCTION  DESCRIPTION', 'credit          12  scores loans', 'fraud            -  -', ''].join('\n'));
  });

  it('aligns key/value fields', () => {
    expect(formatFields([['model', 'credit'], ['latest version', 3]])).toBe('model           credit\nlatest version  3\n');
  });
});

describe('output of text others wrote', () => {
  it('shows terminal escape sequences and other control characters as \\u escapes, never raw', () => {
    const reason = 'ok\u001b[2J\u001b]0;pwned\u0007\rover\nwritten\u009b31m';
    const text = historyTable([
      { model: 'credit', at: '2026-01-01T00:00:00Z', actor: 'eve\u001b[8m', action: 'promote', version: 2, from: 'stage=staging', to: 'stage=production', reason, outcome: 'applied', client_token: 't' },
    ]);
    // eslint-disable-next-line no-control-regex
    for (const line of text.split('\n')) expect(line).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
    expect(text).toContain('ok\\u001b[2J\\u001b]0;pwned\\u0007\\u000dover\\u000awritten\\u009b31m');
    expect(text).toContain('eve\\u001b[8m');
    expect(formatFields([['reason\u001b[1m', 'x\u0007']])).toBe('reason\\u001b[1m  x\\u0007\n');
  });
});

describe('arguments', () => {
  it('parses versions and canary shares', () => {
    expect(parseVersion('2')).toBe(2);
    expect(() => parseVersion('0')).toThrow(/whole number/);
    expect(() => parseVersion('1.5')).toThrow(/whole number/);
    expect(parseShare('0.25')).toBe(0.25);
    expect(parseShare('10%')).toBeCloseTo(0.1);
    expect(() => parseShare('100%')).toThrow(/between 0 and 1/);
    expect(() => parseShare('abc')).toThrow(/between 0 and 1/);
  });
});
