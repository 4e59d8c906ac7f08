// `sluice tree kustomization NAME [--compact] [--health] [-o json|yaml]`: a
// Kustomization's inventory as a tree, nested Kustomizations and
// HelmReleases expanded, as flux tree prints it.
import { stringify } from 'yaml';
import { computeHealth, type HealthResult } from '../health/index.ts';
import { latestRelease, manifestObjects } from '../helm/release.ts';
import type { KubeClient } from '../kube/client.ts';
import { Discovery, resourcePath } from '../kube/discovery.ts';
import { parseObjectId, subject, type KubeObject, type ObjectRef } from '../kube/object.ts';
import { DEFAULT_NAMESPACE, objectPath, parseKind } from './args.ts';
import { notFoundMessage } from './hints.ts';
import { clientFromFlags, clusterFlags } from './kubeconfig.ts';
import { inventoryOf } from './live.ts';
import { startVerb } from './verb.ts';

const usage = `usage: sluice tree kustomization NAME [flags]
  --compact                   Flux objects only
  --health                    each object's health (kstatus: Current, InProgress, Failed, NotFound)
  -o, --output FORMAT         text (default), json or yaml
  -n, --namespace NS          namespace (default ${DEFAULT_NAMESPACE})
  --kubeconfig FILE  --context NAME

examples:
  sluice tree ks flux-system
  sluice tree ks apps -n apps --health
`;

export interface TreeNode {
  ref: ObjectRef;
  health?: HealthResult;
  children: TreeNode[];
}

const KS_GROUP = 'kustomize.toolkit.fluxcd.io';
const HR_GROUP = 'helm.toolkit.fluxcd.io';

export async function treeCommand(args: string[]): Promise<number> {
  const { values, positionals, help, fail } = startVerb('tree', usage, args, {
    ...clusterFlags,
    namespace: { type: 'string', short: 'n' },
    compact: { type: 'boolean', default: false },
    health: { type: 'boolean', default: false },
    output: { type: 'string', short: 'o', default: 'text' },
  });
  if (help !== undefined) return help;
  const parsed = parseKind(positionals, false);
  if ('error' in parsed) return fail(parsed.error);
  const kind = parsed.kinds[0]!;
  if (kind.def.kind !== 'Kustomization') return fail('tree takes kustomization (ks) NAME');
  if (parsed.rest.length !== 1) return fail('give one NAME');
  if (!['text', 'json', 'yaml'].includes(values.output)) return fail(`--output must be text, json or yaml, not ${values.output}`);
  const namespace = values.namespace ?? DEFAULT_NAMESPACE;
  const name = parsed.rest[0]!;
  const client = await clientFromFlags(values);
  try {
    const ks = await client.getOrUndefined<KubeObject>(objectPath(kind, namespace, name));
    if (!ks) {
      process.stderr.write(`✗ ${await notFoundMessage(client, kind, namespace, name)}\n`);
      return 1;
    }
    const walker = new Walker(client, { compact: values.compact, health: values.health });
    const root: TreeNode = { ref: { namespace, name, group: KS_GROUP, kind: 'Kustomization' }, children: [] };
    if (values.health) root.health = computeHealth(ks);
    await walker.kustomization(root, ks, new Set([`${namespace}/${name}`]));
    if (values.output === 'json') process.stdout.write(`${JSON.stringify(toJson(root), null, 2)}\n`);
    else if (values.output === 'yaml') process.stdout.write(stringify(toJson(root)));
    else process.stdout.write(printTree(root));
    return 0;
  } finally {
    client.close();
  }
}

class Walker {
  private readonly discovery: Discovery;
  constructor(
    private readonly client: KubeClient,
    private readonly o: { compact: boolean; health: boolean },
  ) {
    this.discovery = new Discovery(client);
  }

  async kustomization(node: TreeNode, ks: KubeObject, seen: Set<string>): Promise<void> {
    const remote = !!(ks.spec as { kubeConfig?: unknown } | undefined)?.kubeConfig;
    for (const e of inventoryOf(ks)) {
      const ref = parseObjectId(e.id);
      if (this.o.compact && !ref.group.includes('toolkit.fluxcd.io')) continue;
      if (ref.group === KS_GROUP && ref.kind === 'Kustomization' && ref.namespace === node.ref.namespace && ref.name === node.ref.name) continue;
      const child: TreeNode = { ref, children: [] };
      node.children.push(child);
      // A remote cluster's objects are not here to read.
      const live = remote ? undefined : await this.read(ref, e.v);
      if (this.o.health && !remote) child.health = live ? computeHealth(live) : { status: 'NotFound', message: 'not found in the cluster' };
      if (!live) continue;
      const key = `${ref.namespace}/${ref.name}`;
      if (ref.group === KS_GROUP && ref.kind === 'Kustomization' && !seen.has(key)) await this.kustomization(child, live, new Set([...seen, key]));
      if (ref.group === HR_GROUP && ref.kind === 'HelmRelease') await this.helmRelease(child, live);
    }
  }

  /** A HelmRelease's objects: its inventory, or those of its current Helm release. */
  private async helmRelease(node: TreeNode, hr: KubeObject): Promise<void> {
    let entries = inventoryOf(hr).map((e) => ({ ref: parseObjectId(e.id), v: e.v }));
    if (!entries.length) {
      const status = (hr.status ?? {}) as { storageNamespace?: string; history?: Array<{ name?: string; namespace?: string }> };
      const rel = status.history?.[0]?.name ? await latestRelease(this.client, status.storageNamespace ?? hr.metadata.namespace!, status.history[0].name) : undefined;
      entries = manifestObjects(rel?.manifest).map((o) => {
        const [group, v] = o.apiVersion.includes('/') ? (o.apiVersion.split('/') as [string, string]) : ['', o.apiVersion];
        return { ref: { namespace: o.metadata.namespace ?? rel!.namespace, name: o.metadata.name!, group, kind: o.kind }, v };
      });
    }
    for (const { ref, v } of entries) {
      if (this.o.compact && !ref.group.includes('toolkit.fluxcd.io')) continue;
      const child: TreeNode = { ref, children: [] };
      if (this.o.health) {
        const live = await this.read(ref, v);
        child.health = live ? computeHealth(live) : { status: 'NotFound', message: 'not found in the cluster' };
      }
      node.children.push(child);
    }
  }

  private async read(ref: ObjectRef, version: string): Promise<KubeObject | undefined> {
    const apiVersion = ref.group ? `${ref.group}/${version}` : version;
    const m = await this.discovery.mapping(apiVersion, ref.kind);
    if (!m) return undefined;
    const obj = await this.client.getOrUndefined<KubeObject>(resourcePath(m, m.namespaced ? ref.namespace : undefined, ref.name));
    return obj && { ...obj, apiVersion: obj.apiVersion ?? apiVersion, kind: obj.kind ?? ref.kind };
  }
}

function label(n: TreeNode): string {
  const h = n.health;
  const health = h ? (h.status === 'Current' ? ' (Current)' : ` (${h.status}${h.message ? `: ${h.message.replace(/\s*\n\s*/g, ' ')}` : ''})`) : '';
  return `${subject(n.ref)}${health}`;
}

/** The tree with box-drawing branches, one object a line. */
export function printTree(root: TreeNode): string {
  const lines = [label(root)];
  const walk = (n: TreeNode, prefix: string) => {
    n.children.forEach((c, i) => {
      const last = i === n.children.length - 1;
      lines.push(`${prefix}${last ? '└── ' : '├── '}${label(c)}`);
      walk(c, `${prefix}${last ? '    ' : '│   '}`);
    });
  };
  walk(root, '');
  return `${lines.join('\n')}\n`;
}

function toJson(n: TreeNode): Record<string, unknown> {
  return {
    resource: { Namespace: n.ref.namespace, Name: n.ref.name, GroupKind: { Group: n.ref.group, Kind: n.ref.kind } },
    ...(n.health ? { health: { status: n.health.status, message: n.health.message } } : {}),
    ...(n.children.length ? { resources: n.children.map(toJson) } : {}),
  };
}
