import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import type { KubeClient } from '../kube/client.ts';
import type { KubeObject } from '../kube/object.ts';
import { ListWatch } from '../kube/watch.ts';
import { isNotFound } from '../kube/errors.ts';
import { apiVersionOf, collectionPath, DEFAULT_NAMESPACE, KIND_USAGE, objectPath, parseKind, type CliKind } from './args.ts';
import { listForTable } from './gettable.ts';
import { notFoundMessage } from './hints.ts';
import { clientFromFlags, clusterFlags } from './kubeconfig.ts';
import {
  formatLine,
  formatTable,
  header,
  matchesStatus,
  parseStatusSelector,
  row,
  sortObjects,
  useColor,
  widths,
  type StatusSelector,
  type TableOptions,
} from './rows.ts';

const usage = `usage: sluice get KIND [NAME] [flags]
  ${KIND_USAGE}, or all (sources all: every source kind)
  -n, --namespace NS          namespace (default ${DEFAULT_NAMESPACE})
  -A, --all-namespaces        every namespace
  --status-selector C=S       only objects whose condition C has status S, e.g. ready=false
  -o, --output FORMAT         table (default), wide, json or yaml
  -w, --watch                 print changes as they happen, until interrupted
  --kubeconfig FILE  --context NAME

examples:
  sluice get ks -A --status-selector ready=false
  sluice get sources all -n flux-system
  sluice get hr podinfo -n apps -o yaml
  sluice get all -A -w
`;

export async function getCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...clusterFlags,
      namespace: { type: 'string', short: 'n' },
      'all-namespaces': { type: 'boolean', short: 'A', default: false },
      'status-selector': { type: 'string' },
      output: { type: 'string', short: 'o', default: 'table' },
      watch: { type: 'boolean', short: 'w', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(usage);
    return 0;
  }
  const parsed = parseKind(positionals, true);
  const fail = (msg: string) => {
    process.stderr.write(`sluice get: ${msg}\n${usage}`);
    return 2;
  };
  if ('error' in parsed) return fail(parsed.error);
  if (parsed.rest.length > 1) return fail(`one NAME at most, got ${parsed.rest.join(' ')}`);
  const name = parsed.rest[0];
  const output = values.output;
  if (!['table', 'wide', 'json', 'yaml'].includes(output)) return fail(`--output must be table, wide, json or yaml, not ${output}`);
  if (name && parsed.kinds.length > 1) return fail('a NAME needs a single kind');
  if (name && values['all-namespaces']) return fail('a NAME needs a namespace, not -A');
  if (values.watch && parsed.kinds.length > 1) return fail('--watch needs a single kind');
  if (values.watch && (output === 'json' || output === 'yaml')) return fail('--watch prints tables only');
  const selector = values['status-selector'] ? parseStatusSelector(values['status-selector']) : undefined;
  const namespace = values['all-namespaces'] ? undefined : (values.namespace ?? DEFAULT_NAMESPACE);
  const opts: TableOptions = { allNamespaces: namespace === undefined, wide: output === 'wide', kindPrefix: parsed.kinds.length > 1 };

  const client = await clientFromFlags(values);
  try {
    if (values.watch) return await watch(client, parsed.kinds[0]!, namespace, name, selector, opts);
    const found: Array<{ kind: CliKind; objects: KubeObject[] }> = [];
    for (const kind of parsed.kinds) {
      let objects: KubeObject[];
      if (name) {
        const obj = await client.getOrUndefined<KubeObject>(objectPath(kind, namespace!, name));
        if (!obj) {
          process.stderr.write(`sluice get: ${await notFoundMessage(client, kind, namespace!, name)}\n`);
          return 1;
        }
        objects = [obj];
      } else {
        // The table alone, and a Ready selector at most: the printer columns have all of it.
        const cellsWillDo = (output === 'table') && (!selector || selector.type === 'ready');
        objects = (cellsWillDo ? await listForTable(client, kind, namespace) : undefined) ?? (await list(client, kind, namespace));
      }
      if (selector) objects = objects.filter((o) => matchesStatus(o, selector));
      found.push({ kind, objects: sortObjects(objects) });
    }
    if (output === 'json' || output === 'yaml') {
      const all = found.flatMap((f) => f.objects);
      const doc = name && all.length === 1 ? all[0] : { apiVersion: 'v1', kind: 'List', metadata: {}, items: all };
      process.stdout.write(output === 'json' ? `${JSON.stringify(doc, null, 2)}\n` : stringify(doc));
      return 0;
    }
    const color = useColor(process.stdout);
    const nonEmpty = found.filter((f) => f.objects.length > 0);
    if (nonEmpty.length === 0) {
      const what = parsed.kinds.length === 1 ? `${parsed.kinds[0]!.def.kind} objects` : 'objects';
      process.stderr.write(`no ${what} found${namespace ? ` in namespace "${namespace}"` : ''}\n`);
      return 0;
    }
    const head = header(opts);
    process.stdout.write(
      nonEmpty.map((f) => formatTable(head, f.objects.map((o) => row(f.kind, o, opts)), color)).join('\n'),
    );
    return 0;
  } finally {
    client.close();
  }
}

async function list(client: KubeClient, kind: CliKind, namespace: string | undefined): Promise<KubeObject[]> {
  let res: { items: KubeObject[] };
  try {
    res = await client.request<{ items: KubeObject[] }>({ path: collectionPath(kind, namespace) });
  } catch (err) {
    if (isNotFound(err)) throw new Error(`the API server does not serve ${kind.def.plural}.${kind.def.group}: are the CRDs installed? (sluice install)`);
    throw err;
  }
  // Items of a list carry no kind and apiVersion; -o json|yaml prints them whole.
  return res.items.map((o) => ({ ...o, apiVersion: o.apiVersion ?? apiVersionOf(kind), kind: o.kind ?? kind.def.kind }));
}

/** Prints the table, then a row for every change, until SIGINT or SIGTERM. */
async function watch(
  client: KubeClient,
  kind: CliKind,
  namespace: string | undefined,
  name: string | undefined,
  selector: StatusSelector | undefined,
  opts: TableOptions,
): Promise<number> {
  const color = useColor(process.stdout);
  const head = header(opts);
  const keep = (o: KubeObject) => (!name || o.metadata.name === name) && (!selector || matchesStatus(o, selector));
  let w: number[] = [];
  let printedHeader = false;
  const print = (objects: KubeObject[]) => {
    const rows = objects.map((o) => row(kind, o, opts));
    w = widths(head, rows, w);
    if (!printedHeader) {
      process.stdout.write(`${formatLine(head, head, w, color, true)}\n`);
      printedHeader = true;
    }
    for (const r of rows) process.stdout.write(`${formatLine(head, r, w, color)}\n`);
  };
  let synced = false;
  let failure: unknown;
  let stopped!: () => void;
  const done = new Promise<void>((resolve) => (stopped = resolve));
  const lw = new ListWatch(client, {
    path: collectionPath(kind, namespace),
    fieldSelector: name ? `metadata.name=${name}` : undefined,
    onSync: (store) => {
      // A re-list after a broken watch shows the whole set again.
      if (!synced) print(sortObjects([...store.values()].filter(keep)));
      synced = true;
    },
    onEvent: (type, obj) => {
      if (type !== 'DELETED' && keep(obj)) print([obj]);
    },
    onError: (err) => {
      if (!synced) {
        failure = err;
        stopped();
      }
    },
  });
  const stop = () => stopped();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    await Promise.race([lw.start(), done]);
    if (failure) throw failure;
    if (name && synced && lw.store.size === 0) {
      process.stderr.write(`sluice get: ${await notFoundMessage(client, kind, namespace!, name)}\n`);
      return 1;
    }
    await done;
    if (failure) throw failure;
    return 0;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    lw.stop();
  }
}
