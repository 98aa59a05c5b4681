import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ENV } from '../../contracts/env.ts';
import * as metrics from '../../contracts/metrics.ts';
import { API_ROUTES, LOCAL_ROUTES } from '../../contracts/routes.ts';

const ROOT = join(import.meta.dirname, '..', '..');
/** The code that emits, reads or sets what contracts/ declares (tests and contracts/ itself are not scanned). */
const SCANNED = ['bin', 'lib', 'lambdas', 'local', 'cli', 'bench', 'scripts', 'examples'];

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules') out.push(...sourceFiles(path));
    } else if (/\.(ts|mts|mjs)$/.test(entry.name)) {
      out.push(path);
    }
  }
  return out;
}

/** Each scanned file's code lines (comment lines dropped: prose may name a metric or a variable). */
const files = SCANNED.flatMap((dir) => sourceFiles(join(ROOT, dir))).map((path) => ({
  path: relative(ROOT, path),
  lines: readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => !/^\s*(\*|\/\/|\/\*)/.test(line)),
}));

/** `file:line` of every code line matching `pattern`. */
function spelledAt(pattern: RegExp): string[] {
  return files.flatMap(({ path, lines }) => lines.flatMap((line) => (pattern.test(line) ? [`${path}: ${line.trim()}`] : [])));
}

const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('names declared once in contracts/', () => {
  // Dimension names (`model`, `code`, ...) are ordinary words of the code too: only the metric names are checked.
  const { METRIC_DIMENSIONS: _dimensions, METRICS_NAMESPACE, ...groups } = metrics;
  const metricNames: string[] = [METRICS_NAMESPACE, ...Object.values(groups).flatMap((group) => Object.values(group))];

  it('scans the code it guards', () => {
    expect(files.length).toBeGreaterThan(50);
    expect(metricNames).toContain('VariantErrors');
  });

  it.each(metricNames)('metric %s is spelled only in contracts/metrics.ts', (name) => {
    expect(spelledAt(new RegExp(`['"\`]${escape(name)}['"\`]`))).toEqual([]);
  });

  it.each(Object.values(ENV))('environment variable %s is spelled only in contracts/env.ts', (name) => {
    // A quoted name, `process.env.NAME`, or an object key `NAME:`: each should be `ENV.NAME`.
    expect(spelledAt(new RegExp(`['"\`]${name}['"\`]|process\\.env\\.${name}\\b|^\\s*${name}\\s*:`))).toEqual([]);
  });

  const resources = [...Object.values(API_ROUTES), ...Object.values(LOCAL_ROUTES)].map((route) => route.resource);

  it.each(resources)('route %s is spelled only in contracts/routes.ts', (resource) => {
    // In a string or after a `${url}`: the template itself, or its path written out up to the first parameter
    // (`/local/v1/approvals/${id}`).
    const prefix = resource.split('{')[0] ?? resource;
    const start = '[\'"`}]';
    expect(spelledAt(new RegExp(`${start}${escape(resource)}(?![\\w/.-])|${start}${escape(prefix)}\\$\\{`))).toEqual([]);
  });
});
