// One object's page: actions, conditions and their changes seen, events,
// the source's artifact, the inventory as a tree with health, the revision
// record or release history, and the (redacted) spec.
import { getJson, postJson, type WhoAmI } from './api.ts';
import { ago, h, shortRevision } from './dom.ts';
import { driftSection } from './drift.ts';
import { rowHref, stateBadge } from './overview.ts';
import type { Row } from './state.ts';

interface Detail {
  row?: Row;
  object: { metadata: Record<string, unknown>; spec?: Record<string, unknown>; status?: Record<string, any> };
  conditions: Array<{ type: string; status: string; reason?: string; message?: string; lastTransitionTime?: string }>;
  conditionHistory: Array<{ at: string; type: string; status: string; reason: string; message: string }>;
  events: Array<{ type: string; reason: string; message: string; count: number; at: string; source?: string }> | { error: string };
  inventory: Array<{ kind: string; apiVersion: string; namespace: string; name: string; health: string; message: string }> | { error: string };
  record?: { entries: Array<{ revision: string; trigger: string; applied: string; healthy?: string; failed?: string; reason?: string; inventory: number }>; healthy?: string; rollback?: { failedRevision: string; to: string; phase: string; failure: string; since: string } } | { error: string };
  source?: { kind: string; namespace: string; name: string; artifact?: Record<string, any> };
  /** Kustomization: the commit of the applied revision (src/ui/commit.ts). */
  commit?: { revision: string; author: string; date: string; subject: string } | { unavailable: string };
}

/** The last action's answer, shown again when the page is redrawn. */
let lastResult: { key: string; text: string; cls: string } | undefined;

const FLUX_KINDS = new Set(['Kustomization', 'HelmRelease', 'GitRepository', 'OCIRepository', 'HelmRepository', 'HelmChart', 'Bucket']);

function table(caption: string, head: string[], rows: Array<Array<Node | string>>, empty: string): HTMLElement {
  if (!rows.length) return h('p', { class: 'empty' }, empty);
  return h('table', {}, h('caption', { class: 'sr-only' }, caption), h('thead', {}, h('tr', {}, ...head.map((c) => h('th', { scope: 'col' }, c)))), h('tbody', {}, ...rows.map((r) => h('tr', {}, ...r.map((c) => h('td', {}, c))))));
}

function section(title: string, ...body: Array<Node | string>): HTMLElement {
  const id = `sec-${title.toLowerCase().replace(/\W+/g, '-')}`;
  return h('section', { class: 'panel', 'aria-labelledby': id }, h('h2', { id }, title), ...body);
}

export async function renderDetail(root: HTMLElement, kind: string, ns: string, name: string, who: WhoAmI, onLogin: () => void): Promise<void> {
  let d: Detail;
  try {
    d = await getJson<Detail>(`/api/detail?kind=${encodeURIComponent(kind)}&namespace=${encodeURIComponent(ns)}&name=${encodeURIComponent(name)}`);
  } catch (err) {
    root.replaceChildren(h('h1', {}, `${kind} ${ns}/${name}`), h('p', { role: 'alert' }, (err as Error).message));
    return;
  }
  const row = d.row;
  const key = `${kind}/${ns}/${name}`;
  const kept = lastResult?.key === key ? lastResult : undefined;
  const out = h('p', { class: `action-result ${kept?.cls ?? ''}`, role: 'status', 'aria-live': 'polite' }, kept?.text ?? '');
  const act = async (action: string) => {
    out.textContent = `${action}…`;
    const r = await postJson<{ ok?: boolean }>('/api/action', { action, kind, namespace: ns, name });
    // Kept for the redraw the object's own change brings a moment later.
    lastResult = { key, text: r.body.message ?? `HTTP ${r.status}`, cls: r.status === 200 ? 'ok' : 'refused' };
    const shown = document.querySelector('.action-result') ?? out;
    shown.textContent = lastResult.text;
    shown.className = `action-result ${lastResult.cls}`;
  };
  const suspended = row?.state === 'suspended';
  const actions = !who.actions
    ? h('p', { class: 'note' }, 'Read-only: actions are off on this dashboard.')
    : who.loginRequired && !who.user
      ? h('p', { class: 'note' }, 'Log in with a token to act on this object. ', h('button', { type: 'button', onclick: onLogin }, 'Log in'))
      : h(
          'div',
          { class: 'actions', role: 'group', 'aria-label': 'actions' },
          h('button', { type: 'button', onclick: () => void act('reconcile') }, 'Reconcile'),
          kind === 'Kustomization' || kind === 'HelmRelease' ? h('button', { type: 'button', onclick: () => void act('reconcile-with-source') }, 'Reconcile with source') : null,
          h('button', { type: 'button', onclick: () => void act(suspended ? 'resume' : 'suspend') }, suspended ? 'Resume' : 'Suspend'),
        );

  const status = d.object.status ?? {};
  const events = 'error' in d.events ? h('p', { role: 'alert' }, d.events.error) : table('events', ['when', 'type', 'reason', 'message'], d.events.map((e) => [ago(e.at), e.type, e.reason, `${e.message}${e.count > 1 ? ` (×${e.count})` : ''}`]), 'No recent events.');

  const inventory = 'error' in d.inventory ? h('p', { role: 'alert' }, d.inventory.error) : inventoryTree(d.inventory);

  const art = d.source?.artifact;
  const source = d.source
    ? h('dl', { class: 'facts' },
        h('dt', {}, 'source'), h('dd', {}, FLUX_KINDS.has(d.source.kind) ? h('a', { href: rowHref({ kind: d.source.kind, ns: d.source.namespace, name: d.source.name }) }, `${d.source.kind} ${d.source.namespace}/${d.source.name}`) : `${d.source.kind} ${d.source.namespace}/${d.source.name}`),
        h('dt', {}, 'artifact revision'), h('dd', {}, String(art?.revision ?? '')),
        h('dt', {}, 'digest'), h('dd', {}, String(art?.digest ?? '')),
        h('dt', {}, 'stored'), h('dd', {}, art?.lastUpdateTime ? `${art.lastUpdateTime} (${ago(art.lastUpdateTime)})` : ''),
        h('dt', {}, 'fetch duration'), h('dd', { class: 'fetch-duration' }, String(art?.metadata?.[FETCH_DURATION] ?? 'not recorded')),
        ...Object.entries((art?.metadata ?? {}) as Record<string, string>).filter(([k]) => k !== FETCH_DURATION).flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, String(v))]),
      )
    : h('p', { class: 'empty' }, 'No source.');

  let history: HTMLElement;
  if (kind === 'HelmRelease') {
    const hist = (status.history ?? []) as Array<Record<string, any>>;
    history = table('releases', ['version', 'chart', 'status', 'deployed', 'digest'], hist.map((s) => [String(s.version ?? ''), `${s.chartName ?? ''}@${s.chartVersion ?? ''}`, String(s.status ?? ''), s.lastDeployed ? ago(String(s.lastDeployed)) : '', String(s.digest ?? '').slice(0, 19)]), 'No releases yet.');
  } else if (d.record && !('error' in d.record)) {
    const rb = d.record.rollback;
    history = h('div', {},
      rb ? h('p', { class: 'rollback' }, `Rollback ${rb.phase}: ${shortRevision(rb.failedRevision)} failed (${rb.failure}); rolled back to ${shortRevision(rb.to)} ${ago(rb.since)}`) : null,
      table('revisions', ['revision', 'trigger', 'applied', 'verdict', 'objects'], d.record.entries.map((e) => [shortRevision(e.revision), e.trigger, ago(e.applied), e.failed ? `failed: ${e.reason ?? ''}` : e.healthy ? 'healthy' : '', String(e.inventory)]), 'No revisions recorded yet.'),
    );
  } else history = h('p', { class: 'empty' }, d.record && 'error' in d.record ? d.record.error : 'No history for this kind.');

  root.replaceChildren(
    h('nav', { class: 'crumbs', 'aria-label': 'breadcrumb' }, h('a', { href: '#/' }, 'Overview'), ' › ', `${kind}`),
    h('h1', { tabindex: -1 }, `${kind} ${ns}/${name} `, row ? stateBadge(row.state) : null),
    row ? h('p', { class: 'lead' }, `Revision ${row.revision || '(none)'}${row.at ? `, applied ${ago(row.at)}` : ''}`) : '',
    d.commit ? commitLine(d.commit) : '',
    actions,
    out,
    section('Conditions', table('conditions', ['type', 'status', 'reason', 'message', 'since'], d.conditions.map((c) => [c.type, c.status, c.reason ?? '', c.message ?? '', c.lastTransitionTime ? ago(c.lastTransitionTime) : '']), 'No conditions yet.')),
    section('Condition changes seen', table('condition changes', ['when', 'type', 'status', 'reason', 'message'], d.conditionHistory.map((c) => [ago(c.at), c.type, c.status, c.reason, c.message]), 'No changes seen since the dashboard started.')),
    section('Events', events),
    section('Source', source),
    section('Inventory', inventory),
    kind === 'Kustomization' ? section('Drift', driftSection(kind, ns, name)) : '',
    section(kind === 'HelmRelease' ? 'Releases' : 'Revisions and rollbacks', history),
    section('Spec', h('pre', { class: 'spec', tabindex: 0 }, JSON.stringify(d.object.spec ?? {}, null, 2))),
  );
}

const FETCH_DURATION = 'sluice.dev/fetch-duration';

/** The applied revision's commit: subject, author and date, or why they are not shown. */
function commitLine(c: NonNullable<Detail['commit']>): HTMLElement {
  if ('unavailable' in c) return h('p', { class: 'commit empty' }, `Commit details not available (${c.unavailable}).`);
  return h('p', { class: 'commit' },
    h('span', { class: 'commit-subject' }, c.subject || '(no subject)'), ' — ',
    h('span', { class: 'commit-author' }, c.author || 'unknown author'),
    c.date ? h('span', { class: 'commit-date', title: c.date }, `, ${ago(c.date)}`) : null);
}

/** Namespace › kind › objects, each with its health. */
function inventoryTree(items: Array<{ kind: string; namespace: string; name: string; health: string; message: string }>): HTMLElement {
  if (!items.length) return h('p', { class: 'empty' }, 'The inventory is empty.');
  const byNs = new Map<string, Map<string, typeof items>>();
  for (const i of items) {
    const ns = i.namespace || '(cluster)';
    const kinds = byNs.get(ns) ?? new Map();
    kinds.set(i.kind, [...(kinds.get(i.kind) ?? []), i]);
    byNs.set(ns, kinds);
  }
  const item = (o: (typeof items)[number]) =>
    h('li', {}, h('span', { class: `health h-${o.health}` }, o.health), ' ',
      FLUX_KINDS.has(o.kind) ? h('a', { href: rowHref({ kind: o.kind, ns: o.namespace, name: o.name }) }, o.name) : o.name,
      o.message ? h('span', { class: 'msg' }, ` ${o.message}`) : null);
  const kindNode = (k: string, objs: typeof items) => h('li', {}, h('span', { class: 'tree-kind' }, `${k} (${objs.length})`), h('ul', {}, ...objs.map(item)));
  const nsNode = (ns: string, kinds: Map<string, typeof items>) => h('li', {}, h('span', { class: 'tree-ns' }, ns), h('ul', {}, ...[...kinds].map(([k, objs]) => kindNode(k, objs))));
  return h('ul', { class: 'tree', 'aria-label': 'inventory' }, ...[...byNs].map(([ns, kinds]) => nsNode(ns, kinds)));
}
