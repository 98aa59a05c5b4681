import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
/** The code of the project (tests may import anything, and are not part of the graph). */
const SOURCE_DIRS = ['bin', 'lib', 'lambdas', 'local', 'cli', 'contracts', 'scripts', 'bench', 'examples'];

function sourceFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : sourceFiles(path);
    return /\.(ts|mts)$/.test(entry.name) && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** package.json `imports` aliases (`#core/*` -> `./lambdas/core/*`). */
const aliases = Object.entries((JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { imports: Record<string, string> }).imports).map(
  ([alias, target]) => ({ prefix: alias.replace(/\*$/, ''), target: join(ROOT, target.replace(/\*$/, '')) }),
);

function resolveImport(from: string, specifier: string): string | undefined {
  const bare = specifier.split('?')[0] ?? specifier;
  let path: string | undefined;
  if (bare.startsWith('.')) path = resolve(dirname(from), bare);
  else {
    const alias = aliases.find((a) => bare.startsWith(a.prefix));
    if (alias !== undefined) path = join(alias.target, bare.slice(alias.prefix.length));
  }
  return path !== undefined && existsSync(path) ? path : undefined;
}

/** Every project file and the project files it imports (static, dynamic and type-only imports alike). */
export function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of SOURCE_DIRS.flatMap((dir) => sourceFiles(join(ROOT, dir)))) {
    const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    const targets = importedFiles.map((imported) => resolveImport(file, imported.fileName)).filter((path): path is string => path !== undefined);
    graph.set(file, [...new Set(targets)]);
  }
  return graph;
}

/** The strongly connected components of more than one file (Tarjan), each a set of files importing one another. */
export function cycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  let index = 0;
  const indices = new Map<string, number>();
  const lowlinks = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const connect = (node: string): void => {
    indices.set(node, index);
    lowlinks.set(node, index);
    index++;
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!indices.has(next)) {
        connect(next);
        lowlinks.set(node, Math.min(lowlinks.get(node) ?? 0, lowlinks.get(next) ?? 0));
      } else if (onStack.has(next)) {
        lowlinks.set(node, Math.min(lowlinks.get(node) ?? 0, indices.get(next) ?? 0));
      }
    }
    if (lowlinks.get(node) === indices.get(node)) {
      const component: string[] = [];
      let member: string | undefined;
      do {
        member = stack.pop();
        if (member === undefined) break;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      const selfImport = component.length === 1 && (graph.get(node) ?? []).includes(node);
      if (component.length > 1 || selfImport) found.push(component.map((file) => relative(ROOT, file)).sort());
    }
  };
  for (const node of graph.keys()) if (!indices.has(node)) connect(node);
  return found;
}

describe('import graph', () => {
  it('finds the project files and their imports (aliases included)', () => {
    const graph = importGraph();
    expect(graph.size).toBeGreaterThan(100);
    const handler = graph.get(join(ROOT, 'lambdas/inference-api/handler.ts')) ?? [];
    expect(handler.map((file) => relative(ROOT, file))).toContain('lambdas/shared/powertools.ts');
  });

  it('has no cycle: no set of files imports one another, type-only imports included', () => {
    expect(cycles(importGraph())).toEqual([]);
  });

  it('has no arrow back up: local/ never imports cli/, and no runtime code (lambdas/, local/, cli/) imports lib/', () => {
    const arrows = [...importGraph()].flatMap(([file, imports]) =>
      imports.map((target) => `${relative(ROOT, file)} -> ${relative(ROOT, target)}`),
    );
    expect(arrows.filter((arrow) => /^local\/.* -> cli\//.test(arrow))).toEqual([]);
    expect(arrows.filter((arrow) => /^(lambdas|local|cli)\/.* -> lib\//.test(arrow))).toEqual([]);
  });

  it('finds a cycle when there is one', () => {
    const graph = new Map([
      ['/a.ts', ['/b.ts']],
      ['/b.ts', ['/c.ts']],
      ['/c.ts', ['/a.ts']],
      ['/d.ts', ['/a.ts']],
    ]);
    expect(cycles(graph).map((component) => component.length)).toEqual([3]);
  });
});
