import { describe, expect, it } from 'vitest';
import { formatFields, formatTable } from '../../cli/output.ts';
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
