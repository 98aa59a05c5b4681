/**
 * A small RFC 4180 CSV parser: comma-separated fields, optional double quotes around a field,
 * `""` for a quote inside a quoted field, LF or CRLF line ends, an optional trailing newline
 * and an optional UTF-8 byte order mark.
 *
 * An empty cell (quoted or not) is a missing value and becomes `null`. Lines that are
 * completely empty are skipped. Every row must have as many cells as the header.
 */

export class CsvFormatError extends Error {
  override readonly name = 'CsvFormatError';
  /** 1-based line of the input where the problem is, when known. */
  readonly line: number | undefined;

  constructor(message: string, line?: number) {
    super(line === undefined ? message : `line ${line}: ${message}`);
    this.line = line;
  }
}

export type CsvCell = string | null;

export interface ParsedCsv {
  readonly header: readonly string[];
  readonly rows: readonly (readonly CsvCell[])[];
}

const QUOTE = 34; // "
const COMMA = 44; // ,
const CR = 13;
const LF = 10;

/** Parses the records of `text` without interpreting the first one as a header. */
export function parseCsvRecords(text: string): CsvCell[][] {
  return readRecords(text).map((record) => record.cells);
}

interface CsvRecord {
  readonly cells: CsvCell[];
  /** 1-based line where the record starts. */
  readonly line: number;
}

function readRecords(text: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  const length = text.length;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 1;

  while (i < length) {
    const recordLine = line;
    const record: CsvCell[] = [];
    let recordIsEmptyLine = true;

    // One record: fields until an unquoted line end or the end of the text.
    for (;;) {
      let value: string;
      const c = text.charCodeAt(i);
      if (c === QUOTE) {
        recordIsEmptyLine = false;
        i++;
        let out = '';
        let start = i;
        for (;;) {
          if (i >= length) throw new CsvFormatError('unterminated quoted field', recordLine);
          const q = text.charCodeAt(i);
          if (q === QUOTE) {
            out += text.slice(start, i);
            if (text.charCodeAt(i + 1) === QUOTE) {
              out += '"';
              i += 2;
              start = i;
              continue;
            }
            i++;
            break;
          }
          if (q === LF) line++;
          i++;
        }
        const next = text.charCodeAt(i);
        if (i < length && next !== COMMA && next !== CR && next !== LF) {
          throw new CsvFormatError('unexpected character after a closing quote', line);
        }
        value = out;
      } else {
        const start = i;
        while (i < length) {
          const u = text.charCodeAt(i);
          if (u === COMMA || u === LF || u === CR) break;
          if (u === QUOTE) throw new CsvFormatError('a quote inside an unquoted field', line);
          i++;
        }
        value = text.slice(start, i);
        if (value.length > 0) recordIsEmptyLine = false;
      }
      record.push(value === '' ? null : value);

      if (i >= length) break;
      const sep = text.charCodeAt(i);
      if (sep === COMMA) {
        recordIsEmptyLine = false;
        i++;
        continue;
      }
      // Line end: LF or CRLF (a lone CR is accepted as a line end too).
      i += sep === CR && text.charCodeAt(i + 1) === LF ? 2 : 1;
      line++;
      break;
    }

    if (!recordIsEmptyLine) records.push({ cells: record, line: recordLine });
  }
  return records;
}

/**
 * Parses a CSV document whose first record is the header.
 * Header names must be non-empty and unique; every row must have as many cells as the header.
 */
export function parseCsv(text: string): ParsedCsv {
  const records = readRecords(text);
  const headerRecord = records[0];
  if (headerRecord === undefined) throw new CsvFormatError('the CSV is empty: no header');

  const header: string[] = [];
  const seen = new Set<string>();
  headerRecord.cells.forEach((name, column) => {
    if (name === null) throw new CsvFormatError(`header column ${column + 1} has no name`, headerRecord.line);
    if (seen.has(name)) throw new CsvFormatError(`duplicate header name "${name}"`, headerRecord.line);
    seen.add(name);
    header.push(name);
  });

  const rows: CsvCell[][] = [];
  for (let r = 1; r < records.length; r++) {
    const record = records[r] as CsvRecord;
    if (record.cells.length !== header.length) {
      throw new CsvFormatError(
        `data row ${r} has ${record.cells.length} cells but the header has ${header.length}`,
        record.line,
      );
    }
    rows.push(record.cells);
  }
  return { header, rows };
}
