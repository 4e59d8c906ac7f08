// `sluice events [--for KIND/NAME] [-A] [-w] [--types T]`: the Kubernetes
// events of Flux's kinds, oldest first, as flux events shows them; --for
// adds the events of the object's source.
import type { KubeClient } from '../kube/client.ts';
import type { KubeObject } from '../kube/object.ts';
import { ListWatch } from '../kube/watch.ts';
import { ALL_KINDS, DEFAULT_NAMESPACE, objectPath, type CliKind } from './args.ts';
import { notFoundMessage } from './hints.ts';
import { clientFromFlags, clusterFlags } from './kubeconfig.ts';
import { formatLine, formatTable, widths } from './rows.ts';
import { startVerb } from './verb.ts';

const usage = `usage: sluice events [flags]
Events of the Flux kinds (sources, Kustomizations, HelmReleases, and the
notification and image kinds), oldest first.
  --for KIND[/NAME]           only this kind or object, with its source's events (e.g. Kustomization/apps, ks/apps)
  --types Normal|Warning      only events of these types (comma-separated)
  -A, --all-namespaces        every namespace
  -w, --watch                 print new events as they come, until interrupted
  -n, --namespace NS          namespace (default ${DEFAULT_NAMESPACE})
  --kubeconfig FILE  --context NAME

examples:
  sluice events --for Kustomization/apps
  sluice events -A --types Warning
  sluice events -w --for hr/podinfo -n apps
`;

/** The kinds whose events flux events shows. */
const FLUX_KINDS = new Set([
  ...ALL_KINDS.map((k) => k.def.kind),
  'Bucket',
  'Alert',
  'Provider',
  'Receiver',
  'ImageRepository',
  'ImagePolicy',
  'ImageUpdateAutomation',
  'ArtifactGenerator',
]);
const ALIASES: Record<string, string> = { ks: 'Kustomization', hr: 'HelmRelease', git: 'GitRepository', oci: 'OCIRepository', helm: 'HelmRepository', chart: 'HelmChart' };

interface Event extends KubeObject {
  type?: string;
  reason?: string;
  message?: string;
  count?: number;
  involvedObject?: { kind?: string; name?: string; namespace?: string };
  firstTimestamp?: string;
  lastTimestamp?: string;
  eventTime?: string;
  series?: { count?: number; lastObservedTime?: string };
}

/** Where events are looked for: a namespace (or all) and an involvedObject field selector. */
interface Query {
  namespace?: string;
  kind?: string;
  name?: string;
}

export async function eventsCommand(args: string[]): Promise<number> {
  const { values, positionals, help, fail } = startVerb('events', usage, args, {
    ...clusterFlags,
    namespace: { type: 'string', short: 'n' },
    'all-namespaces': { type: 'boolean', short: 'A', default: false },
    for: { type: 'string' },
    types: { type: 'string' },
    watch: { type: 'boolean', short: 'w', default: false },
  });
  if (help !== undefined) return help;
  if (positionals.length) return fail(`unexpected ${positionals.join(' ')}`);
  const types = (values.types ?? '').split(',').map((t) => t.trim()).filter(Boolean);
  for (const t of types) if (!/^(normal|warning)$/i.test(t)) return fail(`type '${t}' not supported. Supported types are Normal, Warning`);
  const namespace = values['all-namespaces'] ? undefined : (values.namespace ?? DEFAULT_NAMESPACE);
  const client = await clientFromFlags(values);
  try {
    const queries: Query[] = [{ namespace }];
    if (values.for) {
      const [k, name] = values.for.split('/', 2) as [string, string | undefined];
      const kind = kindFromWord(k);
      if (!kind) return fail(`--for ${values.for}: unknown kind "${k}"; use KIND[/NAME], e.g. Kustomization/apps`);
      queries[0] = { namespace, kind, name };
      if (name) {
        const refs = await sourceRefs(client, kind, namespace ?? DEFAULT_NAMESPACE, name);
        if ('error' in refs) {
          process.stderr.write(`✗ ${refs.error}\n`);
          return 1;
        }
        queries.push(...refs);
      }
    }
    const showNs = namespace === undefined || queries.some((q) => q.namespace !== namespace);
    const keep = (e: Event) => FLUX_KINDS.has(e.involvedObject?.kind ?? '') && (!types.length || types.some((t) => t.toLowerCase() === (e.type ?? '').toLowerCase()));
    if (values.watch) return await watch(client, queries, showNs, keep);
    const seen = new Map<string, Event>();
    for (const q of queries) for (const e of await list(client, q)) seen.set(e.metadata.uid ?? `${e.metadata.namespace}/${e.metadata.name}`, e);
    const events = [...seen.values()].filter(keep).sort((a, b) => eventTime(a) - eventTime(b));
    if (!events.length) {
      process.stderr.write(namespace ? `✗ No events found in ${namespace} namespace.\n` : '✗ No events found.\n');
      return 0;
    }
    const now = Date.now();
    process.stdout.write(formatTable(header(showNs), events.map((e) => eventRow(e, showNs, now)), false));
    return 0;
  } finally {
    client.close();
  }
}

function kindFromWord(word: string): string | undefined {
  const w = ALIASES[word.toLowerCase()] ?? word;
  return [...FLUX_KINDS].find((k) => k.toLowerCase() === w.toLowerCase() || `${k.toLowerCase()}s` === w.toLowerCase());
}

/** The source an object is built from, whose events --for shows too (and a HelmRelease's HelmChart). */
async function sourceRefs(client: KubeClient, kind: string, namespace: string, name: string): Promise<Query[] | { error: string }> {
  const k = ALL_KINDS.find((x) => x.def.kind === kind);
  if (!k) return [];
  const obj = await client.getOrUndefined<KubeObject>(objectPath(k, namespace, name));
  if (!obj) return { error: await notFoundMessage(client, k as CliKind, namespace, name) };
  const spec = (obj.spec ?? {}) as Record<string, any>;
  const ref = kind === 'Kustomization' || kind === 'HelmChart' ? spec.sourceRef : kind === 'HelmRelease' ? (spec.chartRef ?? spec.chart?.spec?.sourceRef) : undefined;
  const out: Query[] = [];
  if (ref?.kind && ref?.name) out.push({ namespace: ref.namespace || namespace, kind: ref.kind, name: ref.name });
  if (kind === 'HelmRelease' && !spec.chartRef) out.push({ namespace: ref?.namespace || namespace, kind: 'HelmChart', name: `${namespace}-${name}` });
  return out;
}

function path(q: Query): string {
  return q.namespace ? `/api/v1/namespaces/${q.namespace}/events` : '/api/v1/events';
}

function fieldSelector(q: Query): string | undefined {
  const parts = [];
  if (q.kind) parts.push(`involvedObject.kind=${q.kind}`);
  if (q.name) parts.push(`involvedObject.name=${q.name}`);
  return parts.length ? parts.join(',') : undefined;
}

async function list(client: KubeClient, q: Query): Promise<Event[]> {
  const out: Event[] = [];
  let cont: string | undefined;
  do {
    const query: Record<string, string> = { limit: '500' };
    const fs = fieldSelector(q);
    if (fs) query.fieldSelector = fs;
    if (cont) query.continue = cont;
    const page = await client.request<{ items: Event[]; metadata?: { continue?: string } }>({ path: path(q), query });
    out.push(...page.items);
    cont = page.metadata?.continue || undefined;
  } while (cont);
  return out;
}

export function eventTime(e: Event): number {
  const t = e.series?.lastObservedTime ?? e.lastTimestamp ?? e.eventTime ?? e.metadata.creationTimestamp;
  return t ? Date.parse(t) : 0;
}

const header = (showNs: boolean) => [...(showNs ? ['NAMESPACE'] : []), 'LAST SEEN', 'TYPE', 'REASON', 'OBJECT', 'MESSAGE'];

/** LAST SEEN as kubectl and flux write it: `5m`, or `30s (x4 over 10m)` for a repeated event. */
export function lastSeen(e: Event, now: number): string {
  const since = (t: string | undefined) => (t ? humanDuration(now - Date.parse(t)) : '<unknown>');
  const first = since(e.eventTime ?? e.firstTimestamp);
  if (e.series) return `${since(e.series.lastObservedTime)} (x${e.series.count ?? 1} over ${first})`;
  if ((e.count ?? 0) > 1) return `${since(e.lastTimestamp)} (x${e.count} over ${first})`;
  return first;
}

export function eventRow(e: Event, showNs: boolean, now: number): string[] {
  return [
    ...(showNs ? [e.metadata.namespace ?? ''] : []),
    lastSeen(e, now),
    e.type ?? '',
    e.reason ?? '',
    `${e.involvedObject?.kind ?? ''}/${e.involvedObject?.name ?? ''}`,
    (e.message ?? '').replace(/\s*\n\s*/g, ' ').trim(),
  ];
}

/** kubectl's human durations: 45s, 5m30s, 12m, 3h20m, 30h, 3d4h, 20d, 3y. */
export function humanDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 ? `${m}m${s % 60}s` : `${m}m`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 8) return m % 60 ? `${h}h${m % 60}m` : `${h}h`;
  if (h < 48) return `${h}h`;
  const d = Math.floor(h / 24);
  if (h < 24 * 8) return h % 24 ? `${d}d${h % 24}h` : `${d}d`;
  if (d < 365 * 2) return `${d}d`;
  return `${Math.floor(d / 365)}y`;
}

async function watch(client: KubeClient, queries: Query[], showNs: boolean, keep: (e: Event) => boolean): Promise<number> {
  const head = header(showNs);
  let w: number[] = [];
  let printedHeader = false;
  const print = (events: Event[]) => {
    const now = Date.now();
    const rows = events.filter(keep).map((e) => eventRow(e, showNs, now));
    if (!rows.length) return;
    w = widths(head, rows, w);
    if (!printedHeader) {
      process.stdout.write(`${formatLine(head, head, w, false, true)}\n`);
      printedHeader = true;
    }
    for (const r of rows) process.stdout.write(`${formatLine(head, r, w, false)}\n`);
  };
  let stopped!: () => void;
  const done = new Promise<void>((resolve) => (stopped = resolve));
  const watches = queries.map((q) => {
    // A re-list after a broken watch would print everything again.
    let synced = false;
    return new ListWatch(client, {
      path: path(q),
      fieldSelector: fieldSelector(q),
      onSync: (store) => {
        if (!synced) print([...store.values()].map((o) => o as Event).sort((a, b) => eventTime(a) - eventTime(b)));
        synced = true;
      },
      onEvent: (type, obj) => {
        if (type !== 'DELETED') print([obj as Event]);
      },
    });
  });
  let failure: unknown;
  process.once('SIGINT', stopped);
  process.once('SIGTERM', stopped);
  try {
    for (const lw of watches)
      void lw.start().catch((err: unknown) => {
        failure = err;
        stopped();
      });
    await done;
    if (failure) {
      process.stderr.write(`✗ watching events failed: ${(failure as Error).message}\n`);
      return 1;
    }
    return 0;
  } finally {
    process.off('SIGINT', stopped);
    process.off('SIGTERM', stopped);
    for (const lw of watches) lw.stop();
  }
}
