// `sluice trace KIND NAME` (or KIND/NAME...): which Kustomization or
// HelmRelease manages a live object, from which source and revision, read
// from the owner labels the appliers stamp.
import { parseArgs } from 'node:util';
import type { KubeClient } from '../kube/client.ts';
import { resourcePath, type ResourceMapping } from '../kube/discovery.ts';
import { findCondition, type KubeObject } from '../kube/object.ts';
import { DEFAULT_NAMESPACE, kindByName, objectPath } from './args.ts';
import { clientFromFlags, clusterFlags } from './kubeconfig.ts';

const usage = `usage: sluice trace KIND NAME [NAME...] | KIND/NAME... [flags]
Shows how live objects are managed: the Kustomization or HelmRelease that
applied them (their owner labels), its path and revision, and its source.
KIND is any resource the cluster serves, by kind, plural or short name.
  --kind KIND --api-version V  name the kind exactly (both, or neither)
  -n, --namespace NS          namespace (default ${DEFAULT_NAMESPACE})
  --kubeconfig FILE  --context NAME
Exit code 1 when an object is missing or no applier manages it.

examples:
  sluice trace -n apps deployment web
  sluice trace -n apps deploy/web cm/web-settings
  sluice trace web --kind Deployment --api-version apps/v1 -n apps
`;

interface ApiResource {
  resource: string;
  singularResource?: string;
  shortNames?: string[];
  responseKind?: { group: string; version: string; kind: string };
  scope: 'Namespaced' | 'Cluster';
}
interface DiscoveryList {
  items: Array<{ metadata: { name: string }; versions: Array<{ version: string; resources?: ApiResource[] }> }>;
}
const AGGREGATED = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json';

/** What a word on the command line names: kind, plural, singular or short name, in the group's preferred (first) version. */
export async function resolveResource(client: KubeClient, word: string, apiVersion?: string): Promise<ResourceMapping | undefined> {
  const w = word.toLowerCase();
  const [core, groups] = await Promise.all([
    client.request<DiscoveryList>({ path: '/api', accept: AGGREGATED }),
    client.request<DiscoveryList>({ path: '/apis', accept: AGGREGATED }),
  ]);
  for (const list of [core, groups]) {
    for (const g of list.items ?? []) {
      for (const v of g.versions) {
        const group = g.metadata.name ?? '';
        if (apiVersion && (group ? `${group}/${v.version}` : v.version) !== apiVersion) continue;
        for (const r of v.resources ?? []) {
          const kind = r.responseKind?.kind;
          if (!kind) continue;
          const names = [kind.toLowerCase(), r.resource, r.singularResource ?? '', ...(r.shortNames ?? [])];
          const qualified = group ? names.map((n) => `${n}.${group}`) : [];
          if ([...names, ...qualified].includes(w)) return { group, version: v.version, kind, resource: r.resource, namespaced: r.scope === 'Namespaced', verbs: [] };
        }
      }
    }
  }
  return undefined;
}

export async function traceCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { ...clusterFlags, namespace: { type: 'string', short: 'n' }, kind: { type: 'string' }, 'api-version': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    process.stdout.write(usage);
    return 0;
  }
  const fail = (msg: string) => {
    process.stderr.write(`sluice trace: ${msg}\n${usage}`);
    return 2;
  };
  if (!!values.kind !== !!values['api-version']) return fail('give both --kind and --api-version, or neither');
  // KIND NAME..., KIND/NAME..., or NAME... with --kind.
  const targets: Array<{ kind: string; name: string }> = [];
  if (values.kind) for (const n of positionals) targets.push({ kind: values.kind, name: n });
  else if (positionals.every((p) => p.includes('/'))) for (const p of positionals) targets.push({ kind: p.slice(0, p.indexOf('/')), name: p.slice(p.indexOf('/') + 1) });
  else if (positionals.length >= 2 && !positionals[0]!.includes('/')) for (const n of positionals.slice(1)) targets.push({ kind: positionals[0]!, name: n });
  if (!targets.length) return fail('give KIND NAME, or KIND/NAME');
  const namespace = values.namespace ?? DEFAULT_NAMESPACE;
  const client = await clientFromFlags(values);
  try {
    let code = 0;
    const out: string[] = [];
    for (const t of targets) {
      const m = await resolveResource(client, t.kind, values['api-version']);
      if (!m) {
        process.stderr.write(`✗ the server does not serve a resource named "${t.kind}"${values['api-version'] ? ` in ${values['api-version']}` : ''} (kubectl api-resources lists them)\n`);
        code = 1;
        continue;
      }
      const obj = await client.getOrUndefined<KubeObject>(resourcePath(m, namespace, t.name));
      if (!obj) {
        process.stderr.write(`✗ ${m.kind} "${t.name}" not found${m.namespaced ? ` in namespace "${namespace}"` : ''}\n`);
        code = 1;
        continue;
      }
      const text = await trace(client, { ...obj, kind: obj.kind ?? m.kind });
      if (!text) {
        process.stderr.write(`✗ ${m.kind}/${t.name} is not managed by a Kustomization or HelmRelease (no kustomize.toolkit.fluxcd.io or helm.toolkit.fluxcd.io owner labels)\n`);
        code = 1;
        continue;
      }
      out.push(text);
    }
    if (out.length) process.stdout.write(out.join('\n'));
    return code;
  } finally {
    client.close();
  }
}

const field = (name: string, value: unknown) => `${`${name}:`.padEnd(17)}${value ?? ''}`;

function readyLines(obj: KubeObject | undefined): string[] {
  const ready = obj && findCondition(obj, 'Ready');
  if (!ready) return [field('Status', 'Unknown')];
  const when = ready.lastTransitionTime ?? '';
  return [field('Status', ready.status === 'False' ? `Last reconciliation failed at ${when}` : `Last reconciled at ${when}`), field('Message', (ready.message ?? '').replace(/\s*\n\s*/g, ' '))];
}

/** The trace of one object, or undefined when no owner labels name an applier. */
async function trace(client: KubeClient, obj: KubeObject): Promise<string | undefined> {
  const labels = obj.metadata.labels ?? {};
  const lines = [field('Object', `${obj.kind}/${obj.metadata.name}`)];
  if (obj.metadata.namespace) lines.push(field('Namespace', obj.metadata.namespace));
  const ksName = labels['kustomize.toolkit.fluxcd.io/name'];
  const hrName = labels['helm.toolkit.fluxcd.io/name'];
  if (!ksName && !hrName) return undefined;
  lines.push(field('Status', 'Managed by Flux'));
  let sourceRef: { kind?: string; name?: string; namespace?: string } | undefined;
  let ownerNs = '';
  if (hrName) {
    ownerNs = labels['helm.toolkit.fluxcd.io/namespace'] ?? obj.metadata.namespace ?? '';
    const k = kindByName('HelmRelease')!;
    const hr = await client.getOrUndefined<KubeObject>(objectPath(k, ownerNs, hrName));
    const spec = (hr?.spec ?? {}) as Record<string, any>;
    const status = (hr?.status ?? {}) as Record<string, any>;
    const latest = status.history?.[0] ?? {};
    lines.push('---', field('HelmRelease', hrName), field('Namespace', ownerNs));
    if (spec.targetNamespace) lines.push(field('Target', spec.targetNamespace));
    lines.push(field('Revision', latest.chartVersion ?? status.lastAttemptedRevision ?? ''), ...readyLines(hr));
    if (!hr) lines.push(field('Message', 'the HelmRelease is gone: the object is orphaned'));
    sourceRef = spec.chartRef ?? (status.helmChart ? { kind: 'HelmChart', namespace: String(status.helmChart).split('/')[0], name: String(status.helmChart).split('/')[1] } : spec.chart?.spec?.sourceRef);
  }
  // A HelmRelease applied by a Kustomization carries both: the chart's objects name the release, the release names its Kustomization.
  if (ksName) {
    ownerNs = labels['kustomize.toolkit.fluxcd.io/namespace'] ?? '';
    const k = kindByName('Kustomization')!;
    const ks = await client.getOrUndefined<KubeObject>(objectPath(k, ownerNs, ksName));
    const spec = (ks?.spec ?? {}) as Record<string, any>;
    const status = (ks?.status ?? {}) as Record<string, any>;
    lines.push('---', field('Kustomization', ksName), field('Namespace', ownerNs));
    if (spec.targetNamespace) lines.push(field('Target', spec.targetNamespace));
    lines.push(field('Path', spec.path ?? ''), field('Revision', status.lastAppliedRevision ?? ''), ...readyLines(ks));
    if (!ks) lines.push(field('Message', 'the Kustomization is gone: the object is orphaned'));
    if (!hrName) sourceRef = spec.sourceRef;
  }
  while (sourceRef?.kind && sourceRef.name) {
    const k = kindByName(sourceRef.kind);
    if (!k) break;
    const ns = sourceRef.namespace || ownerNs;
    const src = await client.getOrUndefined<KubeObject>(objectPath(k, ns, sourceRef.name));
    const spec = (src?.spec ?? {}) as Record<string, any>;
    const artifact = (src?.status as Record<string, any> | undefined)?.artifact;
    lines.push('---', field(k.def.kind, sourceRef.name), field('Namespace', ns));
    if (spec.url) lines.push(field('URL', spec.url));
    if (k.def.kind === 'HelmChart') lines.push(field('Chart', spec.chart ?? ''), field('Version', spec.version ?? '*'));
    const ref = spec.ref ?? {};
    if (ref.tag) lines.push(field('Tag', ref.tag));
    else if (ref.semver) lines.push(field('Tag', ref.semver));
    else if (ref.branch) lines.push(field('Branch', ref.branch));
    else if (ref.commit) lines.push(field('Commit', ref.commit));
    if (artifact?.revision) lines.push(field('Revision', artifact.revision));
    lines.push(...readyLines(src));
    // A HelmChart comes from a repository: trace it too.
    sourceRef = k.def.kind === 'HelmChart' ? { ...spec.sourceRef, namespace: spec.sourceRef?.namespace ?? ns } : undefined;
    ownerNs = ns;
  }
  return `${lines.join('\n')}\n`;
}
