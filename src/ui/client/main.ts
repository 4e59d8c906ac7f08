// The dashboard page: routes by the URL's hash (#/ overview, #/sources,
// #/graph, #/object/KIND/NS/NAME), one event stream for every live row,
// and a token login when the cluster's dashboard asks for one.
import { getJson, postJson, type WhoAmI } from './api.ts';
import { renderDetail } from './detail.ts';
import { h } from './dom.ts';
import { renderGraph } from './graph.ts';
import { ListView, overviewColumns, sourceColumns } from './overview.ts';
import { Rows, type Row } from './state.ts';
import { unpackRows, type PackedRows } from '../rows.ts';

const rows = new Rows();
const main = document.getElementById('main')!;
const userEl = document.getElementById('user')!;
const liveEl = document.getElementById('live')!;
const overview = new ListView(rows, { namespace: '', kind: '', state: '', text: '' }, 'Overview', overviewColumns);
const sources = new ListView(rows, { namespace: '', kind: '', state: '', text: '', sources: true }, 'Sources', sourceColumns);
let who: WhoAmI = { mode: 'local', actions: false, loginRequired: false };
let current: 'overview' | 'sources' | 'graph' | 'detail' = 'overview';
let detailKey = '';
let pending = false;

// Read by tests and the benchmark.
(window as unknown as { sluice: unknown }).sluice = { rows, overview, sources };

function route(): void {
  const hash = location.hash.replace(/^#/, '') || '/';
  const parts = hash.split('/').slice(1).map(decodeURIComponent);
  for (const a of document.querySelectorAll('header nav a')) a.removeAttribute('aria-current');
  const mark = (id: string) => document.getElementById(id)?.setAttribute('aria-current', 'page');
  if (parts[0] === 'object' && parts.length === 4) {
    current = 'detail';
    detailKey = `${parts[1]}/${parts[2]}/${parts[3]}`;
    main.replaceChildren(h('p', {}, 'Loading…'));
    void renderDetail(main, parts[1]!, parts[2]!, parts[3]!, who, login).then(() => main.querySelector('h1')?.focus());
  } else if (parts[0] === 'sources') {
    current = 'sources';
    mark('nav-sources');
    main.replaceChildren(sources.el);
    sources.refresh();
  } else if (parts[0] === 'graph') {
    current = 'graph';
    mark('nav-graph');
    renderGraph(main, rows, '');
  } else {
    current = 'overview';
    mark('nav-overview');
    main.replaceChildren(overview.el);
    overview.refresh();
  }
}

/** Redraws what is on screen after rows changed, once per frame. */
function changed(ids: Set<string> | undefined): void {
  if (pending) return;
  pending = true;
  requestAnimationFrame(() => {
    pending = false;
    if (current === 'overview') overview.refresh();
    else if (current === 'sources') sources.refresh();
    else if (current === 'detail' && ids?.has(detailKey)) {
      const [kind, ns, name] = detailKey.split('/') as [string, string, string];
      const focused = document.activeElement;
      void renderDetail(main, kind, ns, name, who, login).then(() => {
        if (focused && !document.body.contains(focused)) main.querySelector('h1')?.focus();
      });
    }
  });
}

function connect(): void {
  const es = new EventSource('/api/stream');
  es.addEventListener('snapshot', (e) => {
    rows.reset(unpackRows(JSON.parse((e as MessageEvent).data) as PackedRows));
    liveEl.textContent = 'live';
    liveEl.className = 'live on';
    document.body.dataset.ready = 'true';
    changed(undefined);
  });
  es.addEventListener('rows', (e) => {
    const c = JSON.parse((e as MessageEvent).data) as { upsert: Row[]; remove: string[] };
    rows.apply(c.upsert, c.remove);
    changed(new Set([...c.upsert.map((r) => r.id), ...c.remove]));
  });
  es.addEventListener('error', () => {
    liveEl.textContent = 'reconnecting';
    liveEl.className = 'live off';
  });
}

function login(): void {
  const input = h('input', { id: 'token', type: 'password', autocomplete: 'off', required: true });
  const msg = h('p', { role: 'alert' });
  const dialog = h('dialog', { 'aria-labelledby': 'login-title' },
    h('form', { onsubmit: async (e: Event) => {
      e.preventDefault();
      const r = await postJson<{ user?: string }>('/api/login', { token: input.value });
      if (r.status !== 200) {
        msg.textContent = r.body.message ?? 'login failed';
        return;
      }
      dialog.close();
      dialog.remove();
      await refreshWho();
      route();
    } },
      h('h2', { id: 'login-title' }, 'Log in'),
      h('p', {}, 'Paste a Kubernetes bearer token (e.g. from kubectl create token). Actions are then done as you, by impersonation.'),
      h('label', { for: 'token' }, 'Token'), input, msg,
      h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Log in'), h('button', { type: 'button', onclick: () => { dialog.close(); dialog.remove(); } }, 'Cancel'))));
  document.body.append(dialog);
  dialog.showModal();
  input.focus();
}

async function refreshWho(): Promise<void> {
  who = await getJson<WhoAmI>('/api/whoami');
  const missing = Object.entries(who.unavailable ?? {});
  document.getElementById('unavailable')?.remove();
  if (missing.length) {
    document.querySelector('header')!.after(h('p', { id: 'unavailable', class: 'warning', role: 'alert' }, `Not shown: ${missing.map(([k, why]) => `${k} (${why})`).join('; ')}`));
  }
  userEl.replaceChildren(
    who.user ? `${who.mode === 'local' ? 'Acting as' : 'Logged in as'} ${who.user}` : who.actions ? '' : 'read-only',
    who.loginRequired && !who.user ? h('button', { type: 'button', onclick: login }, 'Log in') : '',
  );
}

rows.onChange(() => undefined);
rows.onChange(() => document.body.dataset.rows = String(rows.byId.size));
document.addEventListener('keydown', (e) => {
  const t = e.target as HTMLElement;
  if (e.key === '/' && !(t instanceof HTMLInputElement || t instanceof HTMLTextAreaElement || t instanceof HTMLSelectElement)) {
    e.preventDefault();
    if (current === 'overview') overview.focusSearch();
    else if (current === 'sources') sources.focusSearch();
  }
});
window.addEventListener('hashchange', route);
// Refresh "ago" times in view.
setInterval(() => changed(undefined), 30_000);
route();
connect();
void refreshWho().then(() => (current === 'detail' ? route() : undefined));
