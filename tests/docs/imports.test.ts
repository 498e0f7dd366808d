// The folders of native/ depend on each other one way (docs/ARCHITECTURE.md "Layout"): the imports of every
// native/**/*.ts file (static, re-exports and dynamic import()) read as edges between top-level folders, and that
// graph has no cycle. It is how switch/ (shadow) and parity/ (the harness) stay apart: both use compare/ (the
// normalisers and known differences), neither imports the other.
import { readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO, repoFiles } from './repo-files.js';

const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)'(\.{1,2}\/[^']+)'/gm;

/** The top-level part of native/ a file belongs to: its folder, or the file's name for one at the top (registry). */
function partOf(path: string): string {
  const [, part = ''] = path.split('/');
  return part.replace(/\.(ts|js)$/, '');
}

/** Part → part → the imports (`file → target`) that make the edge. */
type Graph = Map<string, Map<string, string[]>>;

function importGraph(): Graph {
  const graph: Graph = new Map();
  for (const file of repoFiles().filter((p) => p.startsWith('native/') && p.endsWith('.ts'))) {
    const text = readFileSync(join(REPO, file), 'utf8');
    for (const match of text.matchAll(SPECIFIER)) {
      const target = relative(REPO, normalize(join(REPO, dirname(file), match[1] ?? '')));
      if (!target.startsWith('native/')) continue;
      const from = partOf(file);
      const to = partOf(target);
      if (from === to) continue;
      const edges = graph.get(from) ?? new Map<string, string[]>();
      graph.set(from, edges);
      edges.set(to, [...(edges.get(to) ?? []), `${file} → ${target}`]);
    }
  }
  return graph;
}

/** Every cycle through the graph's edges, once each, as `a → b → … → a` with the imports of its first edge. */
function cycles(graph: Graph): string[] {
  const found = new Set<string>();
  const walk = (path: string[]): void => {
    const last = path[path.length - 1] ?? '';
    for (const next of [...(graph.get(last)?.keys() ?? [])].sort()) {
      const at = path.indexOf(next);
      if (at >= 0) {
        const loop = path.slice(at);
        const start = loop.indexOf([...loop].sort()[0] ?? '');
        const turned = [...loop.slice(start), ...loop.slice(0, start)];
        const proof = graph.get(turned[0] ?? '')?.get(turned[1] ?? turned[0] ?? '')?.[0] ?? '';
        found.add(`${[...turned, turned[0]].join(' → ')} (${proof})`);
      } else {
        walk([...path, next]);
      }
    }
  };
  for (const part of [...graph.keys()].sort()) walk([part]);
  return [...found].sort();
}

const graphOf = (edges: Record<string, string[]>): Graph =>
  new Map(Object.entries(edges).map(([from, tos]) => [from, new Map(tos.map((to) => [to, [`native/${from}/x.ts → native/${to}/y.ts`]]))]));

describe('the folders of native/ import each other one way', () => {
  const graph = importGraph();

  it('reads the imports it checks (sanity: the known edges are found)', () => {
    expect([...(graph.get('switch')?.keys() ?? [])]).toContain('core');
    expect([...(graph.get('switch')?.keys() ?? [])]).toContain('compare');
    expect([...(graph.get('parity')?.keys() ?? [])]).toContain('compare');
    expect([...(graph.get('cli')?.keys() ?? [])]).toContain('switch');   // a dynamic import('…/switch/orchestrator.js')
  });

  it('no cycle between folders', () => {
    expect(cycles(graph)).toEqual([]);
  });

  it('the run (switch/, shadow included) does not import the harness (parity/)', () => {
    expect(graph.get('switch')?.get('parity') ?? []).toEqual([]);
  });

  it('the check finds a cycle when there is one (it can fail)', () => {
    expect(cycles(graphOf({ switch: ['parity', 'core'], parity: ['switch', 'core'], core: [] }))).toEqual([
      'parity → switch → parity (native/parity/x.ts → native/switch/y.ts)',
    ]);
    expect(cycles(graphOf({ a: ['b'], b: ['c'], c: ['a'], d: ['a'] }))).toEqual(['a → b → c → a (native/a/x.ts → native/b/y.ts)']);
    expect(cycles(graphOf({ switch: ['compare'], parity: ['compare'], compare: [] }))).toEqual([]);
  });
});
