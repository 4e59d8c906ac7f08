// The overview: counts by state, the filters, and a virtualised list (only
// the rows in view are in the document), so 11,000 objects render and
// filter at the speed of a few dozen. Arrow keys move between rows, Enter
// opens one, "/" jumps to the text filter.
import { ago, h, shortRevision } from './dom.ts';
import { STATES, type Filter, type Row, type Rows } from './state.ts';

const ROW_HEIGHT = 32;
const OVERSCAN = 8;
const KINDS = ['Kustomization', 'HelmRelease', 'GitRepository', 'OCIRepository', 'HelmRepository', 'HelmChart', 'Bucket'];

export const rowHref = (r: Pick<Row, 'kind' | 'ns' | 'name'>) => `#/object/${encodeURIComponent(r.kind)}/${encodeURIComponent(r.ns)}/${encodeURIComponent(r.name)}`;

export function stateBadge(state: string): HTMLElement {
  return h('span', { class: `badge s-${state}` }, state);
}

export class ListView {
  readonly el: HTMLElement;
  private readonly viewport: HTMLElement;
  private readonly spacer: HTMLElement;
  private readonly body: HTMLElement;
  private readonly countsEl: HTMLElement;
  private readonly summary: HTMLElement;
  private readonly nsSelect: HTMLSelectElement;
  private readonly textInput: HTMLInputElement;
  private readonly kindSelect: HTMLSelectElement;
  private readonly stateSelect: HTMLSelectElement;
  private shown: Row[] = [];
  private focusIndex = 0;
  private knownNamespaces = '';
  /** Milliseconds the last filter took (read by the benchmark). */
  lastFilterMs = 0;

  constructor(
    private readonly rows: Rows,
    readonly filter: Filter,
    private readonly title: string,
    private readonly columns: (r: Row) => Array<Node | string>,
  ) {
    const id = title.toLowerCase().replace(/\W+/g, '-');
    this.countsEl = h('div', { class: 'counts', role: 'group', 'aria-label': 'count by state' });
    this.nsSelect = h('select', { id: `${id}-ns`, onchange: () => this.set({ namespace: this.nsSelect.value }) }, h('option', { value: '' }, 'all namespaces'));
    this.kindSelect = h('select', { id: `${id}-kind`, onchange: () => this.set({ kind: this.kindSelect.value }) }, h('option', { value: '' }, 'all kinds'), ...KINDS.filter((k) => filter.sources === undefined || (filter.sources === (k !== 'Kustomization' && k !== 'HelmRelease'))).map((k) => h('option', { value: k }, k)));
    this.stateSelect = h('select', { id: `${id}-state`, onchange: () => this.set({ state: this.stateSelect.value }) }, h('option', { value: '' }, 'all states'), ...STATES.map((s) => h('option', { value: s }, s)));
    this.textInput = h('input', { id: `${id}-text`, type: 'search', placeholder: 'filter by name, message, revision ( / )', autocomplete: 'off', oninput: () => this.set({ text: this.textInput.value }) });
    this.summary = h('p', { class: 'summary', role: 'status', 'aria-live': 'polite' });
    this.spacer = h('div', { class: 'spacer' });
    this.body = h('div', { class: 'rows', role: 'list', 'aria-label': `${title} list` });
    this.viewport = h('div', { class: 'viewport', onscroll: () => this.renderRows() }, this.spacer, this.body);
    this.viewport.addEventListener('keydown', (e) => this.onKey(e as KeyboardEvent));
    this.el = h(
      'section',
      { class: 'list-view', 'aria-labelledby': `${id}-title` },
      h('h1', { id: `${id}-title` }, title),
      this.countsEl,
      h(
        'form',
        { class: 'filters', role: 'search', onsubmit: (e: Event) => e.preventDefault() },
        h('label', { for: `${id}-text` }, 'Text'), this.textInput,
        h('label', { for: `${id}-ns` }, 'Namespace'), this.nsSelect,
        h('label', { for: `${id}-kind` }, 'Kind'), this.kindSelect,
        h('label', { for: `${id}-state` }, 'State'), this.stateSelect,
      ),
      this.summary,
      this.viewport,
    );
  }

  focusSearch(): void {
    this.textInput.focus();
  }

  set(change: Partial<Filter>): void {
    Object.assign(this.filter, change);
    this.focusIndex = 0;
    this.viewport.scrollTop = 0;
    this.refresh();
  }

  /** Re-filters and redraws (after a filter change or new rows). */
  refresh(): void {
    const t0 = performance.now();
    this.shown = this.rows.filter(this.filter);
    this.spacer.style.height = `${this.shown.length * ROW_HEIGHT}px`;
    this.renderRows();
    this.renderCounts();
    this.lastFilterMs = performance.now() - t0;
    this.summary.textContent = `${this.shown.length.toLocaleString('en')} of ${this.rows.byId.size.toLocaleString('en')} shown`;
    document.body.dataset.filtered = String(this.shown.length);
    if (this.shown.length && !performance.getEntriesByName('sluice:first-rows').length) performance.mark('sluice:first-rows');
  }

  private renderCounts(): void {
    const base = this.rows.filter({ ...this.filter, state: '' });
    const counts = this.rows.counts(base);
    const nss = this.rows.namespaces();
    if (nss.join('\n') !== this.knownNamespaces) {
      this.knownNamespaces = nss.join('\n');
      this.nsSelect.replaceChildren(h('option', { value: '' }, 'all namespaces'), ...nss.map((n) => h('option', { value: n }, n)));
      this.nsSelect.value = this.filter.namespace;
    }
    this.countsEl.replaceChildren(
      ...STATES.map((s) =>
        h('button', { type: 'button', class: `count s-${s}`, 'aria-pressed': String(this.filter.state === s), onclick: () => {
          this.stateSelect.value = this.filter.state === s ? '' : s;
          this.set({ state: this.stateSelect.value });
        } }, h('strong', {}, counts[s].toLocaleString('en')), ` ${s}`),
      ),
    );
  }

  private renderRows(): void {
    const top = this.viewport.scrollTop;
    const height = this.viewport.clientHeight || 600;
    const first = Math.max(0, Math.floor(top / ROW_HEIGHT) - OVERSCAN);
    const last = Math.min(this.shown.length, Math.ceil((top + height) / ROW_HEIGHT) + OVERSCAN);
    const now = Date.now();
    const els: HTMLElement[] = [];
    for (let i = first; i < last; i++) {
      const r = this.shown[i]!;
      const recent = (this.rows.recent.get(r.id) ?? 0) > now - 2000;
      const a = h('a', { href: rowHref(r), class: `row${recent ? ' changed' : ''}`, 'data-id': r.id, 'data-index': i, tabindex: i === this.focusIndex ? 0 : -1 }, ...this.columns(r));
      const item = h('div', { role: 'listitem', class: 'item' }, a);
      // Through the CSSOM: the CSP allows no style attributes.
      item.style.top = `${i * ROW_HEIGHT}px`;
      els.push(item);
    }
    const hadFocus = this.body.contains(document.activeElement);
    this.body.replaceChildren(...els);
    if (hadFocus) (this.body.querySelector(`[data-index="${this.focusIndex}"]`) as HTMLElement | null)?.focus({ preventScroll: true });
  }

  private onKey(e: KeyboardEvent): void {
    const target = e.target as HTMLElement;
    if (!target.classList.contains('row')) return;
    const step = e.key === 'ArrowDown' ? 1 : e.key === 'ArrowUp' ? -1 : e.key === 'PageDown' ? 15 : e.key === 'PageUp' ? -15 : e.key === 'Home' ? -Infinity : e.key === 'End' ? Infinity : 0;
    if (!step) return;
    e.preventDefault();
    this.focusIndex = Math.max(0, Math.min(this.shown.length - 1, this.focusIndex + step));
    const y = this.focusIndex * ROW_HEIGHT;
    if (y < this.viewport.scrollTop) this.viewport.scrollTop = y;
    else if (y + ROW_HEIGHT > this.viewport.scrollTop + this.viewport.clientHeight) this.viewport.scrollTop = y + ROW_HEIGHT - this.viewport.clientHeight;
    this.renderRows();
    (this.body.querySelector(`[data-index="${this.focusIndex}"]`) as HTMLElement | null)?.focus({ preventScroll: true });
  }
}

/** The overview's columns. */
export function overviewColumns(r: Row): Array<Node | string> {
  return [
    stateBadge(r.state),
    h('span', { class: 'kind' }, r.kind),
    h('span', { class: 'name' }, `${r.ns}/${r.name}`),
    h('span', { class: 'rev', title: r.revision }, shortRevision(r.revision)),
    h('span', { class: 'ago' }, ago(r.at)),
    h('span', { class: 'msg', title: r.message }, r.reason ? `${r.reason}: ${r.message}` : r.message),
  ];
}

/** The sources page's columns: artifact size, digest, fetched (when and how long it took), verification. */
export function sourceColumns(r: Row): Array<Node | string> {
  const a = r.artifact;
  const verified = a?.verified === 'True' ? 'verified' : a?.verified === 'False' ? 'verification failed' : 'not verified';
  return [
    stateBadge(r.state),
    h('span', { class: 'kind' }, r.kind),
    h('span', { class: 'name' }, `${r.ns}/${r.name}`),
    h('span', { class: 'rev', title: r.revision }, shortRevision(r.revision)),
    h('span', { class: 'size' }, a?.size !== undefined ? bytes(a.size) : ''),
    h('span', { class: 'digest', title: a?.digest ?? '' }, a?.digest ? a.digest.slice(0, 19) : ''),
    h('span', { class: 'ago', title: a?.fetched ?? '' }, a?.fetched ? `fetched ${ago(a.fetched)}${a.took ? ` in ${a.took}` : ''}` : ''),
    h('span', { class: `verify v-${a?.verified || 'none'}`, title: a?.verifyMessage ?? '' }, verified),
  ];
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}
