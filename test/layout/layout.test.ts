import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { projectRoot } from '../../src/util/paths.ts';
// test: no cluster

// The layout's rules, checked on the code itself: src/ has no import cycles,
// and no folder imports one above it on the path of data (controllers ->
// source, render, helm, apply, health -> runtime, kube, api, util). Tests are
// left out: they may reach anywhere.

const src = join(projectRoot, 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return name === 'testdata' ? [] : sourceFiles(p);
    return name.endsWith('.ts') && !name.endsWith('.test.ts') ? [p] : [];
  });
}

/** src-relative file -> the src-relative files it imports (type-only imports included: they tie the code together too). */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  const spec = /(?:^|\n)\s*(?:import|export)\s[^'"`;]*?from\s+'(\.{1,2}\/[^']+)'|import\(\s*'(\.{1,2}\/[^']+)'\s*\)/g;
  for (const file of sourceFiles(src)) {
    const text = readFileSync(file, 'utf8');
    const deps = new Set<string>();
    for (const m of text.matchAll(spec)) deps.add(relative(src, normalize(join(dirname(file), m[1] ?? m[2]!))));
    graph.set(relative(src, file), [...deps]);
  }
  return graph;
}

/** Strongly connected components with more than one file (Tarjan's algorithm). */
function cycles(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1) out.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return out;
}

/** What each top-level folder of src/ may import, besides itself. */
const allowed: Record<string, string[]> = {
  util: [],
  api: ['kube'],
  kube: ['util'],
  tools: ['util'],
  runtime: ['api', 'kube', 'util'],
  health: ['kube', 'util'],
  apply: ['kube', 'health', 'util'],
  render: ['api', 'tools', 'util'],
  source: ['api', 'kube', 'runtime', 'tools', 'util'],
  helm: ['api', 'kube', 'tools', 'util'],
  notify: ['api', 'kube', 'runtime', 'util'],
  controllers: ['api', 'kube', 'runtime', 'source', 'render', 'helm', 'apply', 'health', 'notify', 'tools', 'util'],
  install: ['api', 'kube', 'util'],
  bootstrap: ['api', 'kube', 'source', 'apply', 'health', 'install', 'util'],
  ui: ['api', 'kube', 'runtime', 'health', 'controllers', 'util'],
  dev: ['api', 'kube', 'apply', 'controllers', 'install', 'tools', 'util'],
  cli: ['api', 'kube', 'runtime', 'source', 'render', 'helm', 'apply', 'health', 'controllers', 'install', 'bootstrap', 'dev', 'tools', 'ui', 'util'],
};

const top = (f: string) => f.split('/')[0]!;

test('src/ has no import cycles', () => {
  assert.deepEqual(cycles(importGraph()), []);
});

test('no folder of src/ imports one above it', () => {
  const wrong: string[] = [];
  for (const [file, deps] of importGraph()) {
    const from = top(file);
    for (const dep of deps) {
      const to = top(dep);
      if (to !== from && !(allowed[from] ?? []).includes(to)) wrong.push(`${file} -> ${dep}`);
    }
  }
  assert.deepEqual(wrong, []);
});

test('the rules above know every folder of src/', () => {
  const folders = readdirSync(src).filter((n) => statSync(join(src, n)).isDirectory());
  assert.deepEqual(folders.filter((f) => !(f in allowed)), []);
});

test('the cycle finder finds a cycle', () => {
  const g = new Map([['a.ts', ['b.ts']], ['b.ts', ['c.ts']], ['c.ts', ['a.ts']], ['d.ts', ['a.ts']]]);
  assert.deepEqual(cycles(g), [['a.ts', 'b.ts', 'c.ts']]);
});

test('no source file of src/ is over 600 lines', () => {
  // A longer file must say in its opening comment why it has to be one file,
  // and be listed here with that reason.
  const longer: Record<string, string> = {};
  const over = sourceFiles(src)
    .map((f) => [relative(src, f), readFileSync(f, 'utf8').split('\n').length] as const)
    .filter(([f, n]) => n > 600 && !(f in longer))
    .map(([f, n]) => `${f}: ${n} lines`);
  assert.deepEqual(over, []);
});
