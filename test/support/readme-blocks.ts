/**
 * The README's shell blocks and their marks, for test/readme.test.ts. A ```sh block is marked by an HTML comment on
 * the line above it (invisible on GitHub):
 *
 *   <!-- readme-test: run -->                       run it, in order with the other run blocks; each command must exit 0
 *   <!-- readme-test: run, expect-json -->          also: the last command prints the JSON of the ```json block that
 *                                                   follows ("…" stands for any value; a number matches to the
 *                                                   decimals written)
 *   <!-- readme-test: run, id=NAME -->              also: the test's check NAME reads what the commands print
 *   <!-- readme-test: skip: REASON -->              not run, for the reason given (AWS only, npm itself)
 */

export type ReadmeMarker =
  | { readonly kind: 'run'; readonly expectJson: boolean; readonly id?: string }
  | { readonly kind: 'skip'; readonly reason: string };

export interface ReadmeBlock {
  /** 1-based line of the block's opening fence. */
  readonly line: number;
  readonly code: string;
  readonly marker?: ReadmeMarker;
  /** The ```json block right after this one (blank lines between allowed), if any. */
  readonly followingJson?: string;
}

const MARKER = /^<!--\s*readme-test:\s*(.*?)\s*-->$/;

/** Parses a mark's text (what follows `readme-test:`). @throws Error for a mark it does not know. */
export function parseMarker(text: string): ReadmeMarker {
  const skip = /^skip:\s*(.+)$/.exec(text);
  if (skip !== null) return { kind: 'skip', reason: skip[1] as string };
  const [head, ...options] = text.split(',').map((part) => part.trim());
  if (head !== 'run') throw new Error(`unknown readme-test mark "${text}": run[, expect-json][, id=NAME] or skip: REASON`);
  let expectJson = false;
  let id: string | undefined;
  for (const option of options) {
    if (option === 'expect-json') expectJson = true;
    else if (/^id=[\w-]+$/.test(option)) id = option.slice(3);
    else throw new Error(`unknown readme-test option "${option}" in "${text}"`);
  }
  return { kind: 'run', expectJson, ...(id === undefined ? {} : { id }) };
}

/** Every ```sh block of `markdown`, in order, with its mark and the ```json block after it. */
export function extractReadmeBlocks(markdown: string): ReadmeBlock[] {
  const lines = markdown.split('\n');
  const blocks: ReadmeBlock[] = [];
  const fenceEnd = (from: number): number => {
    let end = from + 1;
    while (end < lines.length && lines[end] !== '```') end++;
    return end;
  };
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] !== '```sh') continue;
    const end = fenceEnd(i);
    let above = i - 1;
    while (above >= 0 && (lines[above] ?? '').trim() === '') above--;
    const mark = MARKER.exec((lines[above] ?? '').trim());
    let next = end + 1;
    while (next < lines.length && (lines[next] ?? '').trim() === '') next++;
    const followingJson = lines[next] === '```json' ? lines.slice(next + 1, fenceEnd(next)).join('\n') : undefined;
    blocks.push({
      line: i + 1,
      code: lines.slice(i + 1, end).join('\n'),
      ...(mark === null ? {} : { marker: parseMarker(mark[1] as string) }),
      ...(followingJson === undefined ? {} : { followingJson }),
    });
    i = end;
  }
  return blocks;
}

/** The commands of a block: a command's continuation lines (`\` at the end) kept with it, blank and comment-only lines dropped. */
export function splitCommands(code: string): string[] {
  const commands: string[] = [];
  let current = '';
  for (const line of code.split('\n')) {
    if (current === '' && (line.trim() === '' || line.trim().startsWith('#'))) continue;
    if (line.endsWith('\\')) {
      current += `${line}\n`;
      continue;
    }
    commands.push(current + line);
    current = '';
  }
  if (current !== '') commands.push(current);
  return commands;
}

export const COMMAND_DONE = '@@readme-test command done@@';

/** One bash script running `commands` in order (so a variable set by one is there for the next), stopping at a failure, with a line after each command's output. */
export function runnableScript(commands: readonly string[]): string {
  return ['set -euo pipefail', ...commands.flatMap((command) => [command, `printf '\\n${COMMAND_DONE}\\n'`])].join('\n');
}

function decimals(n: number): number {
  const text = String(n);
  const exponent = /e-(\d+)$/.exec(text);
  if (exponent !== null) return Number(exponent[1]) + (text.split('e')[0]?.split('.')[1]?.length ?? 0);
  return text.split('.')[1]?.length ?? 0;
}

/**
 * Where `actual` differs from the README's `expected` JSON, or undefined when it matches: the same keys and array
 * lengths, the string "…" for any value, a number equal to the decimals the README writes (`0.4640` matches 0.46398).
 */
export function matchesExpectedJson(actual: unknown, expected: unknown, path = '$'): string | undefined {
  if (expected === '…') return undefined;
  if (typeof expected === 'number') {
    if (typeof actual !== 'number') return `${path}: expected the number ${expected}, got ${JSON.stringify(actual)}`;
    if (actual === expected) return undefined;
    return Math.abs(actual - expected) <= 0.5 * 10 ** -decimals(expected) ? undefined : `${path}: expected ${expected}, got ${actual}`;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual.length !== expected.length) return `${path}: expected ${expected.length} items, got ${JSON.stringify(actual)}`;
    for (let i = 0; i < expected.length; i++) {
      const mismatch = matchesExpectedJson(actual[i], expected[i], `${path}[${i}]`);
      if (mismatch !== undefined) return mismatch;
    }
    return undefined;
  }
  if (typeof expected === 'object' && expected !== null) {
    if (typeof actual !== 'object' || actual === null || Array.isArray(actual)) return `${path}: expected an object, got ${JSON.stringify(actual)}`;
    const keys = Object.keys(expected);
    const extra = Object.keys(actual).filter((k) => !keys.includes(k));
    if (extra.length > 0) return `${path}: unexpected keys ${extra.join(', ')}`;
    for (const key of keys) {
      if (!(key in actual)) return `${path}.${key}: missing`;
      const mismatch = matchesExpectedJson((actual as Record<string, unknown>)[key], (expected as Record<string, unknown>)[key], `${path}.${key}`);
      if (mismatch !== undefined) return mismatch;
    }
    return undefined;
  }
  return actual === expected ? undefined : `${path}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`;
}
