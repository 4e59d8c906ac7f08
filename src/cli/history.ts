// `sluice history kustomization NAME` and `sluice history helmrelease NAME`:
// the revisions an object applied, newest first, as a table a person reads at
// a glance (or JSON/YAML). A Kustomization's come from Sluice's record
// ConfigMap; a HelmRelease's from Helm's own storage Secrets.
import { stringify } from 'yaml';
import type { KubeObject } from '../kube/object.ts';
import { readReleases } from '../helm/release.ts';
import { releaseNameOf, type HelmReleaseObject } from '../controllers/helmrelease/object.ts';
import { parseRecord, recordPath } from '../controllers/kustomization/recordstore.ts';
import { PIN_ANNOTATION, type RevisionEntry, type RevisionRecord } from '../controllers/kustomization/record.ts';
import { DEFAULT_NAMESPACE, objectPath, parseKind } from './args.ts';
import { clientFromFlags, clusterFlags } from './kubeconfig.ts';
import { startVerb } from './verb.ts';

const usage = `usage: sluice history kustomization|helmrelease NAME [flags]
  -n, --namespace NS          namespace (default ${DEFAULT_NAMESPACE})
  -o, --output FORMAT         table (default), json or yaml
  --kubeconfig FILE  --context NAME

examples:
  sluice history ks apps -n flux-system
  sluice history hr podinfo -n apps -o yaml
`;

/** A table with columns padded to their widest cell. */
export function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(head), ...rows.map(line)].join('\n') + '\n';
}

const short = (rev: string) => rev.replace(/sha1:([0-9a-f]{12})[0-9a-f]{28}$/, 'sha1:$1');
const cut = (s: string, n = 80) => {
  const one = s.replace(/\s*\n\s*/g, ' ');
  return one.length > n ? `${one.slice(0, n - 1)}…` : one;
};

/** The rows of a Kustomization's record; `running` marks the revision the cluster has. */
export function kustomizationRows(entries: RevisionEntry[], running?: string): string[][] {
  return entries.map((e, i) => [
    `${i === entries.findIndex((x) => x.revision === running && !x.failed) ? '*' : ' '}${short(e.revision)}`,
    e.trigger,
    e.applied,
    e.failed ? 'Failed' : e.healthy ? 'Healthy' : 'Applied',
    String(e.inventory),
    e.failed ? cut(`${e.failed}: ${e.reason ?? ''}`) : (e.healthy ?? ''),
  ]);
}

/** What the record says beyond its entries: a pin, a rollback in effect. */
export function kustomizationNotes(ks: KubeObject, r: RevisionRecord): string[] {
  const out: string[] = [];
  const pin = ks.metadata.annotations?.[PIN_ANNOTATION];
  if (pin) out.push(`pinned to ${pin} (${PIN_ANNOTATION}); clear with: sluice rollback kustomization ${ks.metadata.name} --clear`);
  const rb = r.rollback;
  if (rb?.phase === 'done') out.push(`rolled back: ${rb.failedRevision} failed, running ${rb.to} since ${rb.since}`);
  if (rb?.phase === 'started') out.push(`rolling back from ${rb.failedRevision} to ${rb.to} since ${rb.since}`);
  if (rb?.phase === 'failed') out.push(`rollback of ${rb.failedRevision} to ${rb.to} failed: ${cut(rb.error ?? '', 200)}`);
  return out;
}

export async function historyCommand(argv: string[]): Promise<number> {
  const { values, positionals, help, fail } = startVerb('history', usage, argv, { ...clusterFlags, namespace: { type: 'string', short: 'n' }, output: { type: 'string', short: 'o', default: 'table' } });
  if (help !== undefined) return help;
  const k = parseKind(positionals, false);
  if ('error' in k) return fail(k.error);
  const kind = k.kinds[0]!;
  if (kind.source) return fail('history is kept for kustomization and helmrelease');
  if (k.rest.length !== 1) return fail('give one NAME');
  const output = values.output!;
  if (!['table', 'json', 'yaml'].includes(output)) return fail(`--output must be table, json or yaml, not ${output}`);
  const namespace = values.namespace ?? DEFAULT_NAMESPACE;
  const name = k.rest[0]!;
  const client = await clientFromFlags(values);
  try {
    const obj = await client.getOrUndefined<KubeObject>(objectPath(kind, namespace, name));
    if (!obj) {
      process.stderr.write(`✗ ${kind.def.kind} "${name}" not found in namespace "${namespace}"\n`);
      return 1;
    }
    const print = (doc: unknown) => process.stdout.write(output === 'json' ? `${JSON.stringify(doc, null, 2)}\n` : stringify(doc));
    if (kind.def.kind === 'Kustomization') {
      const r = parseRecord(await client.getOrUndefined(recordPath(namespace, name)));
      if (output !== 'table') {
        print({ entries: r.entries, ...(r.healthy ? { healthy: { revision: r.healthy.revision, generation: r.healthy.generation } } : {}), ...(r.rollback ? { rollback: r.rollback } : {}) });
        return 0;
      }
      if (!r.entries.length) process.stdout.write(`no history recorded for Kustomization ${namespace}/${name} yet\n`);
      else {
        const running = (obj.status as { lastAppliedRevision?: string } | undefined)?.lastAppliedRevision;
        process.stdout.write(table(['REVISION', 'TRIGGER', 'APPLIED', 'STATUS', 'OBJECTS', 'HEALTHY AT / FAILURE'], kustomizationRows(r.entries, running)));
      }
      for (const n of kustomizationNotes(obj, r)) process.stdout.write(`${n}\n`);
      return 0;
    }
    const hr = obj as HelmReleaseObject;
    const releases = (await readReleases(client, hr.spec.storageNamespace ?? namespace, releaseNameOf(hr))).reverse();
    const rows = releases.map((rel) => ({
      revision: rel.version,
      status: rel.info.status,
      chart: rel.chart ? `${rel.chart.metadata.name}-${rel.chart.metadata.version}` : '',
      appVersion: rel.chart?.metadata.appVersion ?? '',
      updated: rel.info.last_deployed ?? '',
      description: rel.info.description ?? '',
    }));
    if (output !== 'table') {
      print(rows);
      return 0;
    }
    if (!rows.length) process.stdout.write(`no release stored for HelmRelease ${namespace}/${name}\n`);
    else process.stdout.write(table(['REVISION', 'STATUS', 'CHART', 'APP VERSION', 'UPDATED', 'DESCRIPTION'], rows.map((r) => [String(r.revision), r.status, r.chart, r.appVersion, r.updated, cut(r.description)])));
    const pin = obj.metadata.annotations?.[PIN_ANNOTATION];
    if (pin) process.stdout.write(`pinned to revision ${pin} (${PIN_ANNOTATION}); clear with: sluice rollback helmrelease ${name} --clear\n`);
    return 0;
  } finally {
    client.close();
  }
}
