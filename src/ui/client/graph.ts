// The dependsOn graph as SVG: Kustomizations and HelmReleases that depend
// on or are depended on, in layers (a node sits right of everything it
// depends on), coloured by state. Each node is a link to the object.
import { h, svg } from './dom.ts';
import { rowHref } from './overview.ts';
import type { Row, Rows } from './state.ts';

const W = 210;
const H = 34;
const GAP_X = 50;
const GAP_Y = 14;
const MAX_NODES = 1500;

/** Layer of each node: 0 for those depending on nothing, else one more than the deepest dependency (cycles cut). */
export function layers(nodes: Map<string, Row>, depIds: (r: Row) => string[]): Map<string, number> {
  const depth = new Map<string, number>();
  const visiting = new Set<string>();
  const visit = (id: string): number => {
    const known = depth.get(id);
    if (known !== undefined) return known;
    if (visiting.has(id)) return 0;
    visiting.add(id);
    const r = nodes.get(id);
    let d = 0;
    for (const dep of r ? depIds(r) : []) if (nodes.has(dep)) d = Math.max(d, visit(dep) + 1);
    visiting.delete(id);
    depth.set(id, d);
    return d;
  };
  for (const id of nodes.keys()) visit(id);
  return depth;
}

export function renderGraph(root: HTMLElement, rows: Rows, namespace: string): void {
  const depIds = (r: Row) => r.deps.map((d) => `${r.kind}/${d}`);
  const appliers = [...rows.byId.values()].filter((r) => (r.kind === 'Kustomization' || r.kind === 'HelmRelease') && (!namespace || r.ns === namespace));
  const involved = new Set<string>();
  for (const r of appliers) {
    if (!r.deps.length) continue;
    involved.add(r.id);
    for (const d of depIds(r)) involved.add(d);
  }
  const nodes = new Map<string, Row>();
  for (const id of involved) {
    const r = rows.byId.get(id);
    if (r && nodes.size < MAX_NODES) nodes.set(id, r);
  }
  const nsSelect = h('select', { id: 'graph-ns', onchange: () => renderGraph(root, rows, nsSelect.value) }, h('option', { value: '' }, 'all namespaces'), ...rows.namespaces().map((n) => h('option', { value: n, selected: n === namespace }, n)));
  const head = [h('h1', {}, 'Dependencies'), h('form', { class: 'filters', onsubmit: (e: Event) => e.preventDefault() }, h('label', { for: 'graph-ns' }, 'Namespace'), nsSelect)];
  if (!nodes.size) {
    root.replaceChildren(...head, h('p', { class: 'empty' }, 'No Kustomization or HelmRelease here has dependsOn.'));
    return;
  }
  const depth = layers(nodes, depIds);
  const columns = new Map<number, Row[]>();
  for (const [id, d] of depth) columns.set(d, [...(columns.get(d) ?? []), nodes.get(id)!]);
  const pos = new Map<string, { x: number; y: number }>();
  let height = 0;
  for (const [d, list] of columns) {
    list.sort((a, b) => a.id.localeCompare(b.id));
    list.forEach((r, i) => pos.set(r.id, { x: 10 + d * (W + GAP_X), y: 10 + i * (H + GAP_Y) }));
    height = Math.max(height, 20 + list.length * (H + GAP_Y));
  }
  const width = 20 + columns.size * (W + GAP_X);
  const edges = svg('g', { class: 'edges' });
  for (const r of nodes.values()) {
    const to = pos.get(r.id)!;
    for (const dep of depIds(r)) {
      const from = pos.get(dep);
      if (!from) continue;
      edges.append(svg('path', { d: `M${from.x + W},${from.y + H / 2} C${from.x + W + GAP_X / 2},${from.y + H / 2} ${to.x - GAP_X / 2},${to.y + H / 2} ${to.x},${to.y + H / 2}`, class: `edge s-${rows.byId.get(dep)?.state ?? 'unknown'}` }));
    }
  }
  const boxes = svg('g', { class: 'nodes' });
  for (const r of nodes.values()) {
    const p = pos.get(r.id)!;
    // One namespace shown: the names alone.
    const label = `${r.kind === 'HelmRelease' ? 'hr' : 'ks'} ${namespace ? r.name : `${r.ns}/${r.name}`}`;
    const shown = label.length > 30 ? `${label.slice(0, 29)}…` : label;
    const link = svg('a', { href: rowHref(r), 'aria-label': `${shown}: ${r.kind} ${r.ns}/${r.name}, ${r.state}` },
      svg('rect', { x: p.x, y: p.y, width: W, height: H, rx: 6, class: `node s-${r.state}` }),
      svg('text', { x: p.x + 10, y: p.y + H / 2 + 5 }, shown),
      svg('title', {}, `${r.kind} ${r.ns}/${r.name}: ${r.state}${r.message ? ` - ${r.message}` : ''}`));
    boxes.append(link);
  }
  const drawing = svg('svg', { width, height, viewBox: `0 0 ${width} ${height}` }, edges, boxes);
  root.replaceChildren(...head, h('p', { class: 'summary' }, `${nodes.size} objects; arrows run from a dependency to what depends on it.`), h('figure', { class: 'graph', 'aria-label': `dependsOn graph of ${nodes.size} objects` }, drawing));
}
