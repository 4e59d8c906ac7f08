// What a reconcile of a Kustomization would change, without changing
// anything: the source tree built as the controller builds it, compared
// object by object with the live cluster through a server-side dry-run
// apply (as `client`, i.e. whoever asks), plus the inventory entries a prune
// would delete. Secret values are masked by the diff; values of post-build
// substitution are masked here, so the result may be shown to a person.
import { compileIgnoreRules } from '../../apply/ignore.ts';
import { diffObjects, type ObjectDiff } from '../../apply/diff.ts';
import { ResourceManager } from '../../apply/manager.ts';
import type { KubeClient } from '../../kube/client.ts';
import { parseObjectId, subject, type KubeObject } from '../../kube/object.ts';
import { isSopsEncrypted } from '../../render/sops.ts';
import { buildObjects, decryptionKeys } from './build.ts';
import { NAME_LABEL, NAMESPACE_LABEL, type Kustomization } from './names.ts';

export type DriftState = 'created' | 'drifted' | 'unchanged' | 'deleted' | 'recreated' | 'skipped';

export interface DriftItem {
  kind: string;
  namespace: string;
  name: string;
  state: DriftState;
  /** Unified YAML diff, live → after the apply (drifted, created, recreated). */
  diff?: string;
}

export interface DriftPreview {
  items: DriftItem[];
  notes: string[];
}

export const MASK = '(hidden)';

/**
 * Replaces every occurrence of the given values in a text (longest first, so
 * a value inside another is not left half-shown). Values shorter than 3
 * characters are left alone: masking "1" or "no" everywhere would hide the
 * diff itself, and such values are no secret. Pure.
 */
export function maskValues(text: string, values: Iterable<string>): string {
  const list = [...new Set([...values].filter((v) => typeof v === 'string' && v.length >= 3))].sort((a, b) => b.length - a.length);
  let out = text;
  for (const v of list) {
    out = out.split(v).join(MASK);
    // A value may also appear base64-encoded (a Secret's data built from it).
    const b64 = Buffer.from(v).toString('base64');
    if (b64.length >= 4) out = out.split(b64).join(MASK);
  }
  return out;
}

/** The dry-run's diffs and the pruned inventory entries, as the page lists them (sorted by kind, namespace, name). Pure. */
export function driftItems(diffs: ObjectDiff[], inventory: string[], prune: boolean, hide: (s: string) => string): DriftItem[] {
  const items: DriftItem[] = diffs.map((d) => {
    const state: DriftState = d.action === 'configured' ? 'drifted' : d.action;
    // A subject is Kind/namespace/name, or Kind/name for a cluster-scoped object.
    const parts = d.subject.split('/');
    const base = { kind: parts[0]!, namespace: parts.length > 2 ? parts[1]! : '', name: parts[parts.length - 1]!, state };
    return state === 'unchanged' || state === 'skipped' || !d.patch ? base : { ...base, diff: hide(d.patch) };
  });
  if (prune) {
    const built = new Set(diffs.map((d) => d.subject));
    for (const id of inventory) {
      let ref;
      try {
        ref = parseObjectId(id);
      } catch {
        continue;
      }
      if (!built.has(subject(ref))) items.push({ kind: ref.kind, namespace: ref.namespace, name: ref.name, state: 'deleted' });
    }
  }
  const order: Record<DriftState, number> = { drifted: 0, recreated: 1, created: 2, deleted: 3, skipped: 4, unchanged: 5 };
  return items.sort((a, b) => order[a.state] - order[b.state] || a.kind.localeCompare(b.kind) || a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
}

/** The values post-build substitution would put into the objects: spec.postBuild.substitute and the substituteFrom ConfigMaps and Secrets (read as `client`). */
async function substitutionValues(client: KubeClient, ks: Kustomization): Promise<string[]> {
  const pb = ks.spec.postBuild;
  const values = Object.values(pb?.substitute ?? {}).map(String);
  for (const ref of pb?.substituteFrom ?? []) {
    const plural = ref.kind === 'Secret' ? 'secrets' : 'configmaps';
    const obj = await client.getOrUndefined<{ data?: Record<string, string> }>(`/api/v1/namespaces/${ks.metadata.namespace}/${plural}/${ref.name}`).catch(() => undefined);
    for (const v of Object.values(obj?.data ?? {})) values.push(ref.kind === 'Secret' ? Buffer.from(v, 'base64').toString('utf8') : v);
  }
  return values;
}

/**
 * The preview of `ks` built from the source tree at `dir`, dry-run as
 * `client`; `view` turns each object into what may be shown before it is
 * diffed (the dashboard redacts Flux objects' substitution values and
 * secret-looking keys).
 */
export async function previewKustomization(client: KubeClient, ks: Kustomization, dir: string, view?: (o: KubeObject) => KubeObject): Promise<DriftPreview> {
  if (ks.spec.kubeConfig) throw new Error('this Kustomization applies to another cluster (spec.kubeConfig): its drift is not computed by the dashboard');
  const notes: string[] = [];
  let keys;
  if (ks.spec.decryption) {
    try {
      keys = await decryptionKeys(client, ks);
    } catch (err) {
      notes.push(`SOPS keys not readable (${(err as Error).message}): encrypted Secrets are compared encrypted`);
    }
    if (keys && !keys.age.length && !keys.pgp.length) keys = undefined;
  }
  const secrets = await substitutionValues(client, ks);
  const hide = (s: string) => maskValues(s, secrets);
  let objects: KubeObject[];
  try {
    ({ objects } = await buildObjects({ dir, obj: ks, keys, varsClient: client, strict: false, keepEncrypted: !keys, remoteBases: true }));
  } catch (err) {
    throw new Error(hide(`build failed: ${(err as Error).message}`));
  }
  if (objects.some((o) => isSopsEncrypted(o as unknown as Record<string, unknown>))) notes.push('some Secrets are still SOPS-encrypted: their values are not compared');
  const ownerLabels = { [NAME_LABEL]: ks.metadata.name!, [NAMESPACE_LABEL]: ks.metadata.namespace! };
  let diffs: ObjectDiff[];
  try {
    diffs = await diffObjects(new ResourceManager(client), objects, { ownerLabels, force: ks.spec.force, ignore: compileIgnoreRules(ks.spec.ignore) }, view);
  } catch (err) {
    throw new Error(hide(`server-side dry-run failed: ${(err as Error).message}`));
  }
  const inventory = (ks.status?.inventory?.entries ?? []).map((e) => e.id);
  return { items: driftItems(diffs, inventory, !!ks.spec.prune, hide), notes };
}
