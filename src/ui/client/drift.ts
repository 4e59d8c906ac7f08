// The detail page's Drift section (Kustomizations): on a click, asks the
// server what a reconcile would change now and lists each object with its
// state and, when it would change, its diff. Nothing is fetched before the
// click; the answer is kept while the page is redrawn by live updates.
import { getJson } from './api.ts';
import { h } from './dom.ts';

interface DriftAnswer {
  revision: string;
  identity: string;
  notes: string[];
  items: Array<{ kind: string; namespace: string; name: string; state: string; diff?: string }>;
}

/** The last answer's element, per object: a redraw of the page shows it again. */
let kept: { key: string; node: HTMLElement } | undefined;

function diffBlock(text: string): HTMLElement {
  const lines = text.split('\n').filter((l, i) => i > 1 || !/^(Index:|={10,})/.test(l));
  return h('pre', { class: 'diff', tabindex: 0 }, ...lines.map((l) => h('span', { class: l.startsWith('+') && !l.startsWith('+++') ? 'add' : l.startsWith('-') && !l.startsWith('---') ? 'del' : '' }, `${l}\n`)));
}

function render(a: DriftAnswer): HTMLElement {
  const changed = a.items.filter((i) => i.state !== 'unchanged');
  const counts = ['drifted', 'created', 'recreated', 'deleted', 'unchanged'].map((s) => [s, a.items.filter((i) => i.state === s).length] as const).filter(([, n]) => n);
  return h('div', { class: 'drift-result' },
    h('p', {}, `Against ${a.revision}, dry-run as ${a.identity}: ${counts.map(([s, n]) => `${n} ${s}`).join(', ') || 'nothing built'}.`),
    ...a.notes.map((n) => h('p', { class: 'note' }, n)),
    changed.length ? null : h('p', { class: 'empty' }, 'No drift: a reconcile would change nothing.'),
    h('ul', { class: 'drift-list' }, ...a.items.map((i) =>
      h('li', { 'data-state': i.state },
        h('span', { class: `drift-state d-${i.state}` }, i.state), ' ',
        `${i.kind} ${i.namespace ? `${i.namespace}/` : ''}${i.name}`,
        i.diff && i.state !== 'created' ? diffBlock(i.diff) : null))),
  );
}

export function driftSection(kind: string, ns: string, name: string): HTMLElement {
  const key = `${kind}/${ns}/${name}`;
  const out = h('div', { class: 'drift-out', role: 'status', 'aria-live': 'polite' });
  if (kept?.key === key) out.append(kept.node);
  const run = async () => {
    out.replaceChildren(h('p', {}, 'Building the source and dry-running it…'));
    let node: HTMLElement;
    try {
      node = render(await getJson<DriftAnswer>(`/api/drift?kind=${encodeURIComponent(kind)}&namespace=${encodeURIComponent(ns)}&name=${encodeURIComponent(name)}`));
    } catch (err) {
      node = h('p', { role: 'alert', class: 'drift-error' }, (err as Error).message);
    }
    kept = { key, node };
    // The page may have been redrawn meanwhile: show it in the section on the page now.
    (document.querySelector('.drift-out') ?? out).replaceChildren(node);
  };
  return h('div', {},
    h('p', { class: 'note' }, 'What a reconcile would change now: the source built and compared with the cluster by a server-side dry run, with your rights. Secret values are hidden.'),
    h('button', { type: 'button', class: 'drift-button', onclick: () => void run() }, kept?.key === key ? 'Compute drift again' : 'Show drift'),
    out,
  );
}
