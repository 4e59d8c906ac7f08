// `sluice logs [--kind K] [--name N] [--level L] [--since D] [-f]`: the
// controller's JSON logs, from its pods in the cluster or from a file (a
// controller run locally with `sluice controller 2> FILE`), one line per
// entry as flux logs prints them: `TS LEVEL Kind/name.namespace - msg error`.
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { KubeClient } from '../kube/client.ts';
import type { KubeObject } from '../kube/object.ts';
import { parseDuration } from '../util/duration.ts';
import { DEFAULT_NAMESPACE } from './args.ts';
import { clientFromFlags, clusterFlags } from './kubeconfig.ts';
import { startVerb } from './verb.ts';

const usage = `usage: sluice logs [flags]
The controller's logs, filtered. Read from the controller's pods (label
app.kubernetes.io/part-of=sluice in --flux-namespace), or with --file from a
log file, or - for standard input (a controller run locally: sluice controller 2> controller.log).
  --kind KIND                 entries of one kind's reconciler, e.g. Kustomization
  --name NAME                 entries about objects of that name
  --level debug|info|error    entries of that level only
  --since DURATION            entries newer than that, e.g. 5m
  --tail N                    the last N lines of each pod's log
  -f, --follow                keep printing new entries, until interrupted
  -n, --namespace NS          entries about objects in that namespace (default ${DEFAULT_NAMESPACE})
  -A, --all-namespaces        entries about objects in every namespace, and the controller's own
  --flux-namespace NS         where the controller runs (default ${DEFAULT_NAMESPACE})
  --file PATH|-               read this log file instead of the pods
  --kubeconfig FILE  --context NAME

examples:
  sluice logs --kind Kustomization --name apps -n apps --level error
  sluice logs -A -f --since 10m
  sluice logs -A --file ./controller.log
`;

export interface LogFilter {
  kind?: string;
  name?: string;
  level?: string;
  namespace?: string;
  sinceMs?: number;
}

const KIND_OF: Record<string, string> = { kustomization: 'Kustomization', helmrelease: 'HelmRelease' };

/** One log line as flux logs prints it, or undefined when the filter drops it (or it is not JSON). */
export function formatEntry(line: string, f: LogFilter): string | undefined {
  if (!line.startsWith('{')) return undefined;
  let e: Record<string, unknown>;
  try {
    e = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const s = (v: unknown) => (typeof v === 'string' ? v : v === undefined ? '' : JSON.stringify(v));
  const controller = s(e.controller);
  const kind = s(e['reconciler kind']) || s(e.controllerKind) || KIND_OF[controller.toLowerCase()] || controller;
  const name = s(e.name);
  const namespace = s(e.namespace);
  if (f.level && s(e.level) !== f.level) return undefined;
  if (f.kind && f.kind.toLowerCase() !== kind.toLowerCase() && f.kind.toLowerCase() !== controller.toLowerCase()) return undefined;
  if (f.name && f.name.toLowerCase() !== name.toLowerCase()) return undefined;
  if (f.namespace !== undefined && f.namespace.toLowerCase() !== namespace.toLowerCase()) return undefined;
  if (f.sinceMs !== undefined && Date.parse(s(e.ts)) < f.sinceMs) return undefined;
  const who = `${kind || s(e.logger)}${name ? `/${name}.${namespace}` : ''}`;
  return `${s(e.ts)} ${s(e.level)} ${who} - ${s(e.msg)}${e.error ? ` ${s(e.error)}` : ''}`;
}

export async function logsCommand(args: string[]): Promise<number> {
  const { values, positionals, help, fail } = startVerb('logs', usage, args, {
    ...clusterFlags,
    namespace: { type: 'string', short: 'n' },
    'all-namespaces': { type: 'boolean', short: 'A', default: false },
    'flux-namespace': { type: 'string', default: DEFAULT_NAMESPACE },
    kind: { type: 'string' },
    name: { type: 'string' },
    level: { type: 'string' },
    since: { type: 'string' },
    tail: { type: 'string' },
    follow: { type: 'boolean', short: 'f', default: false },
    file: { type: 'string' },
  });
  if (help !== undefined) return help;
  if (positionals.length) return fail(`unexpected ${positionals.join(' ')}`);
  if (values.level && !['debug', 'info', 'error'].includes(values.level)) return fail(`--level must be debug, info or error, not ${values.level}`);
  let sinceMs: number | undefined;
  try {
    if (values.since) sinceMs = Date.now() - parseDuration(values.since);
  } catch (err) {
    return fail((err as Error).message);
  }
  const tail = values.tail === undefined ? undefined : Number(values.tail);
  if (tail !== undefined && !(Number.isInteger(tail) && tail >= 0)) return fail('--tail takes a whole number');
  const filter: LogFilter = {
    kind: values.kind,
    name: values.name,
    level: values.level,
    namespace: values['all-namespaces'] ? undefined : (values.namespace ?? DEFAULT_NAMESPACE),
    sinceMs,
  };
  const print = (line: string) => {
    const out = formatEntry(line, filter);
    if (out !== undefined) process.stdout.write(`${out}\n`);
  };
  if (values.file) return readFile(values.file, values.follow, print);
  const client = await clientFromFlags(values);
  try {
    return await readPods(client, values['flux-namespace'], { follow: values.follow, tail, sinceSeconds: values.since ? Math.ceil(parseDuration(values.since) / 1000) : undefined }, print);
  } finally {
    client.close();
  }
}

async function lines(stream: Readable, each: (line: string) => void): Promise<void> {
  const rl = createInterface({ input: stream, crlfDelay: Infinity });
  for await (const l of rl) each(l);
}

/** A file read to its end; with follow, new lines as they are appended, until interrupted. */
async function readFile(path: string, follow: boolean, each: (line: string) => void): Promise<number> {
  if (path === '-') {
    await lines(process.stdin, each);
    return 0;
  }
  const st = await stat(path).catch(() => undefined);
  if (!st?.isFile()) {
    process.stderr.write(`✗ ${path}: no such file\n`);
    return 1;
  }
  await lines(createReadStream(path), each);
  if (!follow) return 0;
  let offset = (await stat(path)).size;
  let partial = '';
  let stop = false;
  const done = () => (stop = true);
  process.once('SIGINT', done);
  process.once('SIGTERM', done);
  while (!stop) {
    await new Promise((r) => setTimeout(r, 500));
    const size = (await stat(path).catch(() => undefined))?.size ?? 0;
    if (size < offset) offset = 0; // truncated or rotated
    if (size === offset) continue;
    const fh = await open(path, 'r');
    const buf = Buffer.alloc(size - offset);
    await fh.read(buf, 0, buf.length, offset);
    await fh.close();
    offset = size;
    const text = partial + buf.toString('utf8');
    const parts = text.split('\n');
    partial = parts.pop() ?? '';
    for (const l of parts) each(l);
  }
  return 0;
}

async function readPods(client: KubeClient, namespace: string, o: { follow: boolean; tail?: number; sinceSeconds?: number }, each: (line: string) => void): Promise<number> {
  const pods = (await client.request<{ items: KubeObject[] }>({ path: `/api/v1/namespaces/${namespace}/pods`, query: { labelSelector: 'app.kubernetes.io/part-of=sluice' } })).items;
  if (!pods.length) {
    process.stderr.write(
      `✗ no Sluice controller pods in namespace "${namespace}": install it with sluice install (or pass --flux-namespace); for a controller run locally, save its output and pass --file PATH (or - for standard input)\n`,
    );
    return 1;
  }
  const query = { container: 'controller', follow: o.follow ? 'true' : undefined, tailLines: o.tail, sinceSeconds: o.sinceSeconds };
  let failed = 0;
  await Promise.all(
    pods.map(async (p) => {
      const path = `/api/v1/namespaces/${namespace}/pods/${p.metadata.name}/log`;
      const stream = await client.stream({ path, query, accept: '*/*' }).catch((err: unknown) => {
        failed++;
        process.stderr.write(`✗ failed getting logs of pod ${p.metadata.name}: ${(err as Error).message}\n`);
        return undefined;
      });
      if (stream) await lines(stream, each);
    }),
  );
  // The other pods' lines were printed; the exit code still says some are missing.
  return failed ? 1 : 0;
}
