// `sluice diff kustomization NAME --path DIR` (what a pull request would
// change in the live cluster) and `sluice diff helmrelease NAME` (the
// release's rendered objects against the live ones), with flux diff's exit
// codes: 0 no changes, 1 changes, 2 errors.
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { compileIgnoreRules } from '../apply/ignore.ts';
import { ResourceManager } from '../apply/manager.ts';
import { diffObjects, type ObjectDiff } from '../apply/diff.ts';
import { withHelmOwnership } from '../helm/drift.ts';
import { latestRelease, manifestObjects } from '../helm/release.ts';
import type { KubeClient } from '../kube/client.ts';
import { parseObjectId, subject, type KubeObject } from '../kube/object.ts';
import type { Kustomization } from '../api/kustomization.ts';
import { DEFAULT_NAMESPACE, objectPath, parseKind, type CliKind } from './args.ts';
import { notFoundMessage } from './hints.ts';
import { clientFromFlags, clusterFlags } from './kubeconfig.ts';
import { buildLocal } from './ksbuild.ts';
import { inventoryOf } from './live.ts';
import { renderRelease } from './diffhelmrender.ts';
import type { HelmReleaseObject } from '../controllers/helmrelease/object.ts';
import { parseDuration } from '../util/duration.ts';

export const applierUsage = `usage: sluice diff kustomization NAME --path DIR [flags]
       sluice diff helmrelease NAME [flags]
diff kustomization builds DIR as the controller would build the Kustomization
(see sluice build --help) and compares every object with the live cluster
through a server-side dry run; with spec.prune, objects of the inventory the
build no longer has are listed as deleted. diff helmrelease renders the
release a reconcile would make now (the chart at its source's current
artifact, the HelmRelease's values, post-renderers and Flux's labels, in a
server-side dry run of the Helm SDK: nothing applied, no revision stored) and
compares its objects with the live ones; objects of the current release it no
longer has are listed as deleted. With --stored it compares the current
revision as Helm stored it instead: the drift the controller would correct.
Secret values are masked.
  --path DIR                  the local directory that stands for spec.path (kustomization)
  --kustomization-file FILE   the Flux Kustomization from a file instead of the cluster
  --strict-substitute         fail on a variable with neither a value nor a default
  --ignore-paths P,...        more paths to leave out, in .gitignore form
  -r, --recursive             diff the nested Kustomizations the build has too, each from its own path
  --local-sources Kind/ns/name=DIR,...  where a nested Kustomization's source is checked out
                              (a nested one on the same source as NAME uses the same checkout)
  --stored                    helmrelease: the stored current revision, not a new rendering
  --timeout DURATION          helmrelease: how long the rendering may take (default 2m)
  -o, --output FORMAT         text (default) or markdown (a pull-request comment)
  -n, --namespace NS          namespace (default ${DEFAULT_NAMESPACE})
  --kubeconfig FILE  --context NAME
Exit code: 0 no changes, 1 changes, 2 error.

examples:
  sluice diff ks apps --path ./clusters/prod/apps
  sluice diff ks apps --path ./apps -o markdown > comment.md
  sluice diff hr podinfo -n apps
  sluice diff hr podinfo -n apps --stored
`;

interface Section {
  title: string;
  /** Kind/namespace/name of the applier. */
  subject: string;
  changes: Change[];
  notes: string[];
}

/** --local-sources Kind/namespace/name=path: where a nested Kustomization's source is checked out. */
function parseLocalSources(items: string[]): Map<string, string> | { error: string } {
  const out = new Map<string, string>();
  for (const item of items.flatMap((i) => i.split(','))) {
    const m = /^([A-Za-z]+)\/([^/=]+)\/([^/=]+)=(.+)$/.exec(item.trim());
    if (!m) return { error: `--local-sources ${item}: use Kind/namespace/name=path, e.g. GitRepository/flux-system/apps=.` };
    out.set(`${m[1]}/${m[2]}/${m[3]}`, m[4]!);
  }
  return out;
}

interface Change {
  subject: string;
  action: 'created' | 'drifted' | 'deleted' | 'skipped' | 'recreated';
  patch?: string;
  note?: string;
}

export async function diffApplierCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...clusterFlags,
      namespace: { type: 'string', short: 'n' },
      path: { type: 'string' },
      'kustomization-file': { type: 'string' },
      'strict-substitute': { type: 'boolean', default: false },
      'ignore-paths': { type: 'string', multiple: true },
      'progress-bar': { type: 'boolean', default: false },
      output: { type: 'string', short: 'o', default: 'text' },
      recursive: { type: 'boolean', short: 'r', default: false },
      'local-sources': { type: 'string', multiple: true },
      stored: { type: 'boolean', default: false },
      timeout: { type: 'string', default: '2m' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(applierUsage);
    return 0;
  }
  const fail = (msg: string) => {
    process.stderr.write(`sluice diff: ${msg}\n${applierUsage}`);
    return 2;
  };
  const parsed = parseKind(positionals, false);
  if ('error' in parsed) return fail(parsed.error);
  const kind = parsed.kinds[0]!;
  if (kind.source) return fail('diff takes kustomization (ks) or helmrelease (hr), or a DIR');
  if (parsed.rest.length !== 1) return fail('give one NAME');
  if (!['text', 'markdown', 'md'].includes(values.output)) return fail(`--output must be text or markdown, not ${values.output}`);
  const isKs = kind.def.kind === 'Kustomization';
  if (isKs && !values.path) return fail('--path DIR is required');
  if (!isKs && (values.path || values['kustomization-file'])) return fail('--path and --kustomization-file are for kustomization');
  if (isKs && values.stored) return fail('--stored is for helmrelease');
  let timeoutMs: number;
  try {
    timeoutMs = parseDuration(values.timeout);
  } catch (err) {
    return fail(`--timeout: ${(err as Error).message}`);
  }
  const name = parsed.rest[0]!;
  const namespace = values.namespace ?? DEFAULT_NAMESPACE;
  const client = await clientFromFlags(values);
  try {
    let sections: Section[];
    if (isKs) {
      const localSources = parseLocalSources(values['local-sources'] ?? []);
      if ('error' in localSources) return fail(localSources.error);
      const ignorePaths = (values['ignore-paths'] ?? []).flatMap((p) => p.split(',')).filter(Boolean);
      sections = await diffKustomization(client, { name, namespace, path: values.path!, kustomizationFile: values['kustomization-file'], strict: values['strict-substitute'], ignorePaths }, values.recursive ? { localSources, seen: new Set() } : undefined);
    } else sections = [await diffHelmRelease(client, kind, namespace, name, values.stored ? undefined : { timeoutMs })];
    for (const n of sections.flatMap((s) => s.notes)) process.stderr.write(`⚠ ${n}\n`);
    const changed = sections.flatMap((s) => s.changes).filter((c) => c.action !== 'skipped').length;
    if (values.output === 'text') {
      for (const [i, s] of sections.entries()) {
        // A nested Kustomization's changes under its name, as flux diff --recursive prints them.
        if (i > 0 && s.changes.some((c) => c.action !== 'skipped')) process.stdout.write(`📁 ${s.subject} changed\n`);
        process.stdout.write(s.changes.map((c) => `► ${c.subject} ${c.action}${c.note ? ` (${c.note})` : ''}\n${c.action === 'created' ? '' : (c.patch ?? '')}`).join(''));
      }
      if (!changed) process.stderr.write('no changes\n');
    } else process.stdout.write(sections.filter((s, i) => i === 0 || s.changes.some((c) => c.action !== 'skipped')).map((s, i) => markdown(s.title, s.changes, i > 0)).join(''));
    return changed ? 1 : 0;
  } catch (err) {
    process.stderr.write(`✗ ${(err as Error).message}\n`);
    return 2;
  } finally {
    client.close();
  }
}

type KsDiffOptions = { name: string; namespace: string; path: string; kustomizationFile?: string; strict: boolean; ignorePaths: string[]; ks?: Kustomization; root?: string };

async function diffKustomization(client: KubeClient, o: KsDiffOptions, recursive?: { localSources: Map<string, string>; seen: Set<string> }): Promise<Section[]> {
  const b = await buildLocal(client, { ...o, decrypt: true });
  const ks = b.ks;
  const ownerLabels = { 'kustomize.toolkit.fluxcd.io/name': o.name, 'kustomize.toolkit.fluxcd.io/namespace': ks.metadata.namespace! };
  const diffs = await diffObjects(new ResourceManager(client), b.objects, {
    ownerLabels,
    force: ks.spec.force,
    ignore: compileIgnoreRules(ks.spec.ignore),
  });
  const changes: Change[] = [];
  const encrypted = new Set([...b.encrypted].map((obj) => subject(obj)));
  for (const d of diffs) {
    const c = toChange(d);
    if (!c) continue;
    if (encrypted.has(d.subject) && c.action === 'drifted') {
      // Without its keys, an encrypted Secret's values cannot be compared: only its keys.
      if (!(await keysDiffer(client, b.objects.find((x) => subject(x) === d.subject)!))) continue;
      c.note = 'SOPS-encrypted: its keys differ; values not compared';
      c.patch = undefined;
    }
    changes.push(c);
  }
  if (ks.spec.prune && b.live) {
    const built = new Set(diffs.map((d) => d.subject));
    for (const e of inventoryOf(b.live)) {
      const s = subject(parseObjectId(e.id));
      if (!built.has(s)) changes.push({ subject: s, action: 'deleted' });
    }
  }
  const self: Section = { title: `Kustomization ${ks.metadata.namespace}/${o.name}`, subject: `Kustomization/${ks.metadata.namespace}/${o.name}`, changes, notes: b.notes };
  const sections = [self];
  if (!recursive) return sections;
  recursive.seen.add(self.subject);
  // Nested Kustomizations that exist already: diffed from their own path in their source's local checkout.
  for (const obj of b.objects) {
    if (obj.kind !== 'Kustomization' || !obj.apiVersion.startsWith('kustomize.toolkit.fluxcd.io/')) continue;
    const child = obj as unknown as Kustomization;
    const childNs = child.metadata.namespace ?? ks.metadata.namespace!;
    const childSubject = `Kustomization/${childNs}/${child.metadata.name}`;
    if (recursive.seen.has(childSubject) || diffs.find((d) => d.subject === childSubject)?.action === 'created') continue;
    if (child.spec.kubeConfig) {
      self.notes.push(`${childSubject} skipped: diff not supported for remote clusters`);
      continue;
    }
    const ref = child.spec.sourceRef;
    const refNs = ref.namespace || childNs;
    const parentRef = ks.spec.sourceRef;
    const sameSource = ref.kind === parentRef.kind && ref.name === parentRef.name && refNs === (parentRef.namespace || ks.metadata.namespace);
    const root = recursive.localSources.get(`${ref.kind}/${refNs}/${ref.name}`) ?? (sameSource ? b.root : undefined);
    if (!root) {
      self.notes.push(`${childSubject} skipped: no local path for its source ${ref.kind}/${refNs}/${ref.name} (--local-sources ${ref.kind}/${refNs}/${ref.name}=PATH)`);
      continue;
    }
    sections.push(
      ...(await diffKustomization(
        client,
        { ...o, name: child.metadata.name!, namespace: childNs, path: join(resolve(root), child.spec.path ?? '.'), kustomizationFile: undefined, ks: { ...child, metadata: { ...child.metadata, namespace: childNs } }, root: resolve(root) },
        recursive,
      )),
    );
  }
  return sections;
}

function toChange(d: ObjectDiff): Change | undefined {
  switch (d.action) {
    case 'unchanged':
      return undefined;
    case 'skipped':
      return { subject: d.subject, action: 'skipped' };
    case 'created':
      // Shown in markdown only (a reviewer reads the new object); text prints the line, as flux diff.
      return { subject: d.subject, action: 'created', patch: d.patch };
    case 'recreated':
      return { subject: d.subject, action: 'recreated', patch: d.patch };
    default:
      return { subject: d.subject, action: 'drifted', patch: d.patch };
  }
}

async function keysDiffer(client: KubeClient, obj: KubeObject): Promise<boolean> {
  const live = await client.getOrUndefined<{ data?: Record<string, string> }>(`/api/v1/namespaces/${obj.metadata.namespace}/secrets/${obj.metadata.name}`);
  const keys = (o: { data?: unknown; stringData?: unknown } | undefined) => [...new Set([...Object.keys(o?.data ?? {}), ...Object.keys(o?.stringData ?? {})])].sort().join(',');
  return keys(live) !== keys(obj as { data?: unknown; stringData?: unknown });
}

async function diffHelmRelease(client: KubeClient, k: CliKind, namespace: string, name: string, render: { timeoutMs: number } | undefined): Promise<Section> {
  const hr = await client.getOrUndefined<KubeObject>(objectPath(k, namespace, name));
  if (!hr) throw new Error(await notFoundMessage(client, k, namespace, name));
  const spec = (hr.spec ?? {}) as { releaseName?: string; targetNamespace?: string; storageNamespace?: string };
  const status = (hr.status ?? {}) as { storageNamespace?: string; history?: Array<{ name?: string; namespace?: string }> };
  const targetNs = spec.targetNamespace ?? namespace;
  const releaseName = status.history?.[0]?.name ?? spec.releaseName ?? (spec.targetNamespace ? `${spec.targetNamespace}-${name}` : name);
  const storageNs = status.storageNamespace ?? spec.storageNamespace ?? namespace;
  const rel = await latestRelease(client, storageNs, releaseName);
  const rm = new ResourceManager(client);
  if (render) {
    const { release, source } = await renderRelease(client, hr as HelmReleaseObject, namespace, render.timeoutMs);
    const objects = withHelmOwnership(manifestObjects(release.manifest), release.name, release.namespace);
    const diffs = await diffObjects(rm, objects, { defaultNamespace: targetNs, fieldManager: 'helm-controller' });
    const changes = diffs.map(toChange).filter((c): c is Change => !!c);
    // What the current release has and the new rendering does not: the upgrade deletes it.
    // Helm puts a manifest's objects without a namespace in the release's.
    const idOf = (o: KubeObject) => subject({ ...o, metadata: { ...o.metadata, namespace: o.metadata.namespace ?? targetNs } });
    const rendered = new Set(objects.map(idOf));
    for (const o of rel ? manifestObjects(rel.manifest) : []) {
      const id = idOf(o);
      if (!rendered.has(id)) changes.push({ subject: id, action: 'deleted' });
    }
    const chart = release.chart?.metadata;
    return { title: `HelmRelease ${namespace}/${name} (chart ${chart?.name}@${chart?.version} from ${source}${rel ? `, against release ${rel.name} v${rel.version}` : ', not installed yet'})`, subject: `HelmRelease/${namespace}/${name}`, changes, notes: [] };
  }
  if (!rel) throw new Error(`HelmRelease ${namespace}/${name} has no Helm release "${releaseName}" in namespace "${storageNs}" yet: it was never installed (sluice get hr ${name} -n ${namespace} shows why)`);
  const objects = withHelmOwnership(manifestObjects(rel.manifest), rel.name, rel.namespace);
  const diffs = await diffObjects(rm, objects, { defaultNamespace: targetNs, fieldManager: 'helm-controller' });
  const changes = diffs.map(toChange).filter((c): c is Change => !!c);
  return { title: `HelmRelease ${namespace}/${name} (release ${rel.name} v${rel.version}, chart ${rel.chart?.metadata.name}@${rel.chart?.metadata.version})`, subject: `HelmRelease/${namespace}/${name}`, changes, notes: [] };
}

/** A pull-request comment: a summary table, then each object's diff folded. */
export function markdown(title: string, changes: Change[], nested = false): string {
  const count = (a: Change['action']) => changes.filter((c) => c.action === a).length;
  const lines = [nested ? `#### 📁 ${title}` : `### sluice diff: ${title}`, ''];
  const changed = changes.filter((c) => c.action !== 'skipped');
  if (!changed.length) {
    lines.push('No changes.', '');
    return `${lines.join('\n')}\n`;
  }
  const parts = (['created', 'drifted', 'recreated', 'deleted'] as const).filter((a) => count(a)).map((a) => `${count(a)} ${a === 'drifted' ? 'changed' : a === 'created' ? 'to create' : a === 'deleted' ? 'to delete' : 'to recreate'}`);
  lines.push(`${parts.join(', ')}.`, '', '| object | change |', '| --- | --- |');
  const verb = { created: 'create', drifted: 'change', deleted: 'delete', recreated: 'recreate', skipped: 'skipped' } as const;
  for (const c of changes) lines.push(`| \`${c.subject}\` | ${verb[c.action]}${c.note ? ` (${c.note})` : ''} |`);
  lines.push('');
  for (const c of changes) {
    if (!c.patch) continue;
    lines.push(`<details><summary><code>${c.subject}</code></summary>`, '', '```diff', c.patch.trimEnd().replace(/```/g, '` ` `'), '```', '', '</details>', '');
  }
  return `${lines.join('\n')}\n`;
}
