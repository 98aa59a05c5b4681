import { describe, expect, it } from 'vitest';
import { CsvFormatError, parseCsv, parseCsvRecords } from '#core/data/csv.ts';

describe('parseCsv', () => {
  it('parses quoted and unquoted fields, turning empty cells into null', () => {
    const csv = parseCsv('"a","b",c\n1,"x",\n,,"3"\n');
    expect(csv.header).toEqual(['a', 'b', 'c']);
    expect(csv.rows).toEqual([
      ['1', 'x', null],
      [null, null, '3'],
    ]);
  });

  it('handles escaped quotes, commas and newlines inside quotes', () => {
    const csv = parseCsv('name,note\n"say ""hi""","a,b\nc"\n');
    expect(csv.rows).toEqual([['say "hi"', 'a,b\nc']]);
  });

  it('accepts CRLF line ends, no trailing newline and a byte order mark', () => {
    expect(parseCsv('\uFEFFa,b\r\n1,2\r\n3,4').rows).toEqual([
      ['1', '2'],
      ['3', '4'],
    ]);
    expect(parseCsv('a,b\r\n1,2\r\n').header).toEqual(['a', 'b']);
  });

  it('skips empty lines, including several trailing newlines', () => {
    expect(parseCsv('a,b\n1,2\n\n3,4\n\n\n').rows).toEqual([
      ['1', '2'],
      ['3', '4'],
    ]);
  });

  it('treats a quoted empty string as missing', () => {
    expect(parseCsv('a,b\n"",1\n').rows).toEqual([[null, '1']]);
  });

  it('keeps whitespace inside fields', () => {
    expect(parseCsvRecords(' a , b ')).toEqual([[' a ', ' b ']]);
  });

  it('rejects ragged rows with the line number', () => {
    expect(() => parseCsv('a,b\n1,2\n3\n')).toThrow(CsvFormatError);
    expect(() => parseCsv('a,b\n1,2\n3\n')).toThrow(/line 3: data row 2 has 1 cells but the header has 2/);
    expect(() => parseCsv('a,b\n1,2,3\n')).toThrow(CsvFormatError);
  });

  it('rejects malformed quoting', () => {
    expect(() => parseCsv('a\n"open\n')).toThrow(/unterminated quoted field/);
    expect(() => parseCsv('a\n"x"y\n')).toThrow(/after a closing quote/);
    expect(() => parseCsv('a\nx"y\n')).toThrow(/quote inside an unquoted field/);
  });

  it('rejects an empty document, empty and duplicate header names', () => {
    expect(() => parseCsv('')).toThrow(/empty/);
    expect(() => parseCsv('a,,c\n1,2,3\n')).toThrow(/header column 2 has no name/);
    expect(() => parseCsv('a,a\n1,2\n')).toThrow(/duplicate header name "a"/);
  });
});
