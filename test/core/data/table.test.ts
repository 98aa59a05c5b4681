import { describe, expect, it } from 'vitest';
import { parseCsv } from '#core/data/csv.ts';
import { TrainingDataError, inferColumnKinds, isNumericCell, missingTokens, toLabelledTable } from '#core/data/table.ts';

describe('toLabelledTable', () => {
  const csv = parseCsv('y,num,cat,mixed\nyes,1.5,a,1\nno,,b,x\nyes,-2e3,,3\n');

  it('types columns, keeps missing values as null and maps the target to 0/1', () => {
    const table = toLabelledTable(csv, 'y', 'yes');
    expect(table.features).toEqual([
      { name: 'num', kind: 'numeric' },
      { name: 'cat', kind: 'categorical' },
      { name: 'mixed', kind: 'categorical' },
    ]);
    expect(table.rows).toEqual([
      { num: 1.5, cat: 'a', mixed: '1' },
      { num: null, cat: 'b', mixed: 'x' },
      { num: -2000, cat: null, mixed: '3' },
    ]);
    expect([...table.labels]).toEqual([1, 0, 1]);
    expect(table.negativeLabel).toBe('no');
  });

  it('reads missing tokens as missing in a numeric column, so it stays numeric', () => {
    const tokens = parseCsv('y,tenure,region\nyes,12,NA\nno,NA,eu\nyes,n/a,us\nno, NaN ,eu\nyes,null,us\nno,None,eu\nyes,?,us\nno,3,eu\n');
    const table = toLabelledTable(tokens, 'y', 'yes');
    expect(table.features).toEqual([
      { name: 'tenure', kind: 'numeric' },
      { name: 'region', kind: 'categorical' },
    ]);
    expect(table.rows.map((r) => r.tenure)).toEqual([12, null, null, null, null, null, null, 3]);
    // In a categorical column a token is a category like any other (NA may be North America).
    expect(table.rows[0]?.region).toBe('NA');
  });

  it('takes its missing tokens from the options, and a cell outside them makes the column categorical', () => {
    const custom = parseCsv('y,x\nyes,1\nno,-\nyes,NA\nno,2\n');
    expect(inferColumnKinds(custom)).toEqual(['categorical', 'categorical']);
    expect(inferColumnKinds(custom, missingTokens(['-', 'NA']))).toEqual(['categorical', 'numeric']);
    expect(toLabelledTable(custom, 'y', 'yes', { missingTokens: ['-', 'NA'] }).rows.map((r) => r.x)).toEqual([1, null, null, 2]);
    expect(toLabelledTable(custom, 'y', 'yes', { missingTokens: ['NA'] }).features).toEqual([{ name: 'x', kind: 'categorical' }]);
  });

  it('recognises finite decimal numbers only', () => {
    expect(['0', '-1', '+2.5', '.5', '3.', '1e-3', ' 7 '].every(isNumericCell)).toBe(true);
    expect(['abc', 'Infinity', 'NaN', '0x10', '1,5', '1e999'].some(isNumericCell)).toBe(false);
  });

  it('rejects a missing target column, missing target values, a non-binary target and an absent positive label', () => {
    expect(() => toLabelledTable(csv, 'nope', 'yes')).toThrow(TrainingDataError);
    expect(() => toLabelledTable(parseCsv('y,x\na,1\n,2\nb,3\n'), 'y', 'a')).toThrow(/missing in data row 2/);
    expect(() => toLabelledTable(parseCsv('y,x\na,1\nb,2\nc,3\n'), 'y', 'a')).toThrow(/exactly 2 distinct values, found 3/);
    expect(() => toLabelledTable(csv, 'y', 'maybe')).toThrow(/positive label "maybe"/);
  });
});
