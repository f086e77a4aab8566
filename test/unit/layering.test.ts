// Layering: the top-level folders of firmware/src import each other without
// cycles (config does not need policy or log back, and so on), so each layer
// can be read, tested and replaced from the bottom up. Walks every .ts file's
// relative imports and exports (type-only ones too: a cycle of types is still
// a cycle of concepts) and fails naming one cycle with a file on each edge.

import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../firmware/src');

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? tsFiles(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

const folder = (file: string): string => path.relative(SRC, file).split(path.sep)[0]!;

/** Folder graph: from -> to -> one file that makes the edge. */
function folderGraph(): Map<string, Map<string, string>> {
  const g = new Map<string, Map<string, string>>();
  for (const file of tsFiles(SRC)) {
    const from = folder(file);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^;'"]*?(?:from\s*)?['"](\.{1,2}\/[^'"]+)['"]/g)) {
      const to = folder(path.resolve(path.dirname(file), m[1]!));
      if (to === from || to.startsWith('..')) continue;
      if (!g.has(from)) g.set(from, new Map());
      if (!g.get(from)!.has(to)) g.get(from)!.set(to, path.relative(SRC, file));
    }
  }
  return g;
}

/** One cycle as [a, b, ..., a], or null. */
function findCycle(g: Map<string, Map<string, string>>): string[] | null {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (n: string): string[] | null => {
    state.set(n, 'open');
    stack.push(n);
    for (const m of g.get(n)?.keys() ?? []) {
      if (state.get(m) === 'open') return [...stack.slice(stack.indexOf(m)), m];
      if (!state.has(m)) {
        const c = visit(m);
        if (c) return c;
      }
    }
    stack.pop();
    state.set(n, 'done');
    return null;
  };
  for (const n of g.keys()) {
    if (state.has(n)) continue;
    const c = visit(n);
    if (c) return c;
  }
  return null;
}

t.test('no import cycle between the top-level folders of firmware/src', async (t) => {
  const g = folderGraph();
  t.ok(g.size >= 8, `${g.size} folders import others`);
  t.ok(g.get('daemon')?.has('ike'), 'the walk sees imports (daemon -> ike)');
  const cycle = findCycle(g);
  const explain = cycle ? cycle.slice(1).map((to, i) => `${cycle[i]} -> ${to} (${g.get(cycle[i]!)!.get(to)})`).join(', ') : '';
  t.equal(cycle, null, cycle ? `cycle: ${explain}` : 'acyclic');
});

t.test('the cycle finder finds a planted cycle', async (t) => {
  const g = new Map([
    ['config', new Map([['base', 'config/a.ts']])],
    ['policy', new Map([['config', 'policy/b.ts']])],
    ['base', new Map([['policy', 'base/c.ts']])],
  ]);
  t.same(findCycle(g), ['config', 'base', 'policy', 'config']);
  g.get('base')!.delete('policy');
  t.equal(findCycle(g), null);
});
