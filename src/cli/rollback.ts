// `sluice rollback kustomization NAME --to REVISION|previous` pins a
// Kustomization to an older revision (the annotation sluice.dev/rollback-to,
// which the controller honours across restarts and leader changes) until
// `--clear`. `--to previous` is the newest healthy revision of its record
// other than the one running; a short commit picks a revision of the record.
import type { KubeClient } from '../kube/client.ts';
import type { KubeObject } from '../kube/object.ts';
import { REQUESTED_AT } from '../api/annotations.ts';
import { parseDuration } from '../util/duration.ts';
import { parseRecord, recordPath } from '../controllers/kustomization/recordstore.ts';
import { commitOf, PIN_ANNOTATION, previousHealthy, type RevisionEntry } from '../controllers/kustomization/record.ts';
import { DEFAULT_NAMESPACE, objectPath, parseKind, takeBoolFlag, type CliKind } from './args.ts';
import { clientFromFlags, clusterFlags } from './kubeconfig.ts';
import { rollbackHelmRelease } from './rollbackhelm.ts';
import { startVerb } from './verb.ts';

const usage = `usage: sluice rollback kustomization NAME (--to REVISION|previous | --clear) [flags]
       sluice rollback helmrelease NAME [--to N] | --clear [flags]
  --to REVISION               kustomization: a revision (main@sha1:...), a commit (or its first 7+ characters)
                              from its history, or 'previous' (the last healthy one before the running one);
                              helmrelease: a Helm revision number (default: the previous one)
  --clear                     remove the pin: back to what Git says
  -n, --namespace NS          namespace (default ${DEFAULT_NAMESPACE})
  --wait[=true|false]         wait until the controller runs the revision (default true)
  --timeout DURATION          how long to wait (default 5m)
  --kubeconfig FILE  --context NAME

examples:
  sluice rollback ks apps --to previous
  sluice rollback ks apps --to 3f2a9c1
  sluice rollback ks apps --clear
  sluice rollback hr podinfo -n apps --to 2
`;

/** The revision `--to` means, against the record's entries; an error message when it names none. */
export function resolvePin(to: string, entries: RevisionEntry[], running: string | undefined): { revision: string } | { error: string } {
  if (to === 'previous') {
    const prev = previousHealthy(entries, running);
    return prev ? { revision: prev } : { error: `no healthy revision before ${running ?? 'the running one'} in the history` };
  }
  const exact = entries.find((e) => e.revision === to);
  if (exact) return { revision: exact.revision };
  if (/^[0-9a-f]{7,40}$/.test(to)) {
    const matches = [...new Set(entries.map((e) => e.revision).filter((r) => commitOf(r)?.startsWith(to)))];
    if (matches.length === 1) return { revision: matches[0]! };
    if (matches.length > 1) return { error: `commit ${to} is ambiguous: ${matches.join(', ')}` };
  }
  // Any commit still in the mirror can be built: a full revision is taken as given.
  if (commitOf(to)) return { revision: to };
  return { error: `'${to}' is no revision of the history (sluice history kustomization NAME lists them) nor a full Git revision` };
}

export async function rollbackCommand(argv: string[]): Promise<number> {
  const w = takeBoolFlag(argv, 'wait', true);
  if ('error' in w) return process.stderr.write(`sluice rollback: ${w.error}\n${usage}`), 2;
  const { values, positionals, help, fail } = startVerb('rollback', usage, w.args, {
    ...clusterFlags,
    namespace: { type: 'string', short: 'n' },
    to: { type: 'string' },
    clear: { type: 'boolean', default: false },
    timeout: { type: 'string', default: '5m' },
  });
  if (help !== undefined) return help;
  const k = parseKind(positionals, false);
  if ('error' in k) return fail(k.error);
  const kind = k.kinds[0]!;
  if (kind.source) return fail('rollback is for kustomization and helmrelease');
  if (k.rest.length !== 1) return fail('give one NAME');
  if (values.clear && values.to) return fail('give --to or --clear, not both');
  if (kind.def.kind === 'Kustomization' && !values.clear && !values.to) return fail('give --to REVISION|previous or --clear');
  const namespace = values.namespace ?? DEFAULT_NAMESPACE;
  const name = k.rest[0]!;
  const timeoutMs = parseDuration(values.timeout!);
  const client = await clientFromFlags(values);
  try {
    const path = objectPath(kind, namespace, name);
    const obj = await client.getOrUndefined<KubeObject>(path);
    if (!obj) {
      process.stderr.write(`✗ ${kind.def.kind} "${name}" not found in namespace "${namespace}"\n`);
      return 1;
    }
    if (kind.def.kind === 'HelmRelease') return await rollbackHelmRelease(client, obj, { to: values.to, clear: values.clear!, wait: w.value, timeoutMs });
    let pin: string | null = null;
    if (!values.clear) {
      const record = parseRecord(await client.getOrUndefined(recordPath(namespace, name)));
      const running = (obj.status as { lastAppliedRevision?: string } | undefined)?.lastAppliedRevision;
      const r = resolvePin(values.to!, record.entries, running);
      if ('error' in r) {
        process.stderr.write(`✗ ${r.error}\n`);
        return 1;
      }
      pin = r.revision;
    }
    return await pinAndWait(client, kind, path, obj, pin, w.value, timeoutMs);
  } finally {
    client.close();
  }
}

/** Sets (or, with null, removes) the pin with a reconcile request, and waits until the controller handled it. */
async function pinAndWait(client: KubeClient, kind: CliKind, path: string, obj: KubeObject, pin: string | null, wait: boolean, timeoutMs: number): Promise<number> {
  const requestedAt = new Date().toISOString();
  await client.request({
    method: 'PATCH',
    path,
    contentType: 'application/merge-patch+json',
    body: { metadata: { annotations: { [PIN_ANNOTATION]: pin, [REQUESTED_AT]: requestedAt } } },
  });
  process.stderr.write(pin ? `► ${kind.def.kind} ${obj.metadata.name} pinned to ${pin}\n` : `► ${kind.def.kind} ${obj.metadata.name} unpinned: back to its source's revision\n`);
  if (!wait) return 0;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const o = await client.getOrUndefined<KubeObject>(path);
    const s = (o?.status ?? {}) as { lastHandledReconcileAt?: string; lastAppliedRevision?: string; conditions?: Array<{ type: string; status: string; message: string }> };
    const ready = s.conditions?.find((c) => c.type === 'Ready');
    if (s.lastHandledReconcileAt === requestedAt && ready && ready.status !== 'Unknown') {
      if (ready.status === 'True' && (!pin || s.lastAppliedRevision === pin)) {
        process.stdout.write(`✔ running revision ${s.lastAppliedRevision}\n`);
        return 0;
      }
      process.stderr.write(`✗ ${ready.message}\n`);
      return 1;
    }
    if (Date.now() >= deadline) {
      process.stderr.write(`✗ timed out waiting for ${kind.def.kind} ${obj.metadata.name} to run the revision\n`);
      return 1;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}
