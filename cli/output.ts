/**
 * How the CLI writes: tables and key/value blocks for people, JSON for scripts.
 * Writers are injected so the program runs in-process in tests.
 */

export interface Io {
  /** Writes to standard output (text is written as given; callers add newlines). */
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

export type Cell = string | number | boolean | null | undefined;

/** C0 and C1 control characters (ESC, CSI, BEL, backspace, carriage return, newline…). */
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/g;

/**
 * `text` with every control character shown as its `\u` escape: a reason, actor or model name typed by someone else
 * cannot move the cursor, rewrite earlier lines or retitle the terminal (`\u001b[2J`, OSC 52) when a table prints it.
 */
export function printable(text: string): string {
  return text.replace(CONTROL_CHARACTERS, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function show(cell: Cell): string {
  if (cell === null || cell === undefined || cell === '') return '-';
  return printable(String(cell));
}

/** Left-aligned padded columns with a header row; numbers are right-aligned. */
export function formatTable(headers: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const text = rows.map((row) => headers.map((_, i) => show(row[i])));
  const widths = headers.map((header, i) => Math.max(header.length, ...text.map((row) => (row[i] ?? '').length)));
  const numeric = headers.map((_, i) => rows.length > 0 && rows.every((row) => typeof row[i] === 'number' || row[i] === null || row[i] === undefined));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => {
        const width = widths[i] ?? cell.length;
        return numeric[i] === true ? cell.padStart(width) : cell.padEnd(width);
      })
      .join('  ')
      .trimEnd();
  return [line(headers.map((h) => h.toUpperCase())), ...text.map(line)].join('\n') + '\n';
}

/** `key   value` lines, keys padded to the longest. */
export function formatFields(fields: readonly (readonly [string, Cell])[]): string {
  const width = Math.max(0, ...fields.map(([key]) => key.length));
  return fields.map(([key, value]) => `${printable(key).padEnd(width)}  ${show(value)}`.trimEnd()).join('\n') + '\n';
}

export function formatJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** Writes `value` as JSON when asked, else the human text `render` makes. */
export function emit(io: Io, json: boolean, value: unknown, render: () => string): void {
  io.stdout(json ? formatJson(value) : render());
}
