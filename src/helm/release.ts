import { gunzipSync, gzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { parseAllDocuments } from 'yaml';
import type { KubeClient } from '../kube/client.ts';
import type { KubeObject } from '../kube/object.ts';

/** Helm's release status values. */
export type ReleaseStatus =
  | 'unknown'
  | 'deployed'
  | 'uninstalled'
  | 'superseded'
  | 'failed'
  | 'uninstalling'
  | 'pending-install'
  | 'pending-upgrade'
  | 'pending-rollback';

export interface HelmHook {
  name: string;
  kind: string;
  path?: string;
  manifest?: string;
  events?: string[];
  last_run?: { started_at?: string; completed_at?: string; phase?: string };
  weight?: number;
  delete_policies?: string[];
}

/** A Helm release as helm stores it (JSON field names). */
export interface HelmReleaseRecord {
  name: string;
  namespace: string;
  version: number;
  info: {
    first_deployed?: string;
    last_deployed?: string;
    deleted?: string;
    description?: string;
    status: ReleaseStatus;
    notes?: string;
  };
  chart?: { metadata: { name: string; version: string; appVersion?: string; apiVersion?: string } ; [k: string]: unknown };
  config?: Record<string, unknown> | null;
  manifest?: string;
  hooks?: HelmHook[];
  /** How Helm 4 applied the release: 'ssa' (server-side) or 'csa'; Helm 3 releases have none (client-side). */
  apply_method?: 'ssa' | 'csa';
  /** Labels of the storage Secret (not part of helm's JSON). */
  labels?: Record<string, string>;
  [k: string]: unknown;
}

export function isPending(status: ReleaseStatus | undefined): boolean {
  return status === 'pending-install' || status === 'pending-upgrade' || status === 'pending-rollback';
}

interface StorageSecret {
  metadata: { name: string; namespace: string; labels?: Record<string, string>; resourceVersion?: string };
  data?: { release?: string };
  type?: string;
}

/** Decodes the `release` field of a storage Secret: base64 of base64 of gzipped JSON. */
export function decodeRelease(data: string): HelmReleaseRecord {
  const inner = Buffer.from(Buffer.from(data, 'base64').toString('utf8'), 'base64');
  const json = inner[0] === 0x1f && inner[1] === 0x8b ? gunzipSync(inner) : inner;
  return JSON.parse(json.toString('utf8')) as HelmReleaseRecord;
}

/** Encodes a release the way helm's Secrets driver does (the API's base64 added on top). */
export function encodeRelease(rel: HelmReleaseRecord): string {
  const { labels: _labels, ...plain } = rel;
  const gz = gzipSync(Buffer.from(JSON.stringify(plain), 'utf8'), { level: 9 });
  return Buffer.from(gz.toString('base64'), 'utf8').toString('base64');
}

/**
 * Reads every stored revision of a release straight from its Secrets
 * (labels owner=helm, name=<release>), oldest first. Reading is cheaper than
 * a helm process per look, and sees exactly what helm wrote.
 */
export async function readReleases(client: KubeClient, namespace: string, name: string): Promise<HelmReleaseRecord[]> {
  const list = await client.request<{ items: StorageSecret[] }>({
    path: `/api/v1/namespaces/${namespace}/secrets`,
    query: { labelSelector: `owner=helm,name=${name}` },
  });
  const out: HelmReleaseRecord[] = [];
  for (const s of list.items ?? []) {
    if (s.type !== 'helm.sh/release.v1' || !s.data?.release) continue;
    const rel = decodeRelease(s.data.release);
    rel.labels = s.metadata.labels ?? {};
    out.push(rel);
  }
  return out.sort((a, b) => a.version - b.version);
}

/** The newest stored revision, or undefined. */
export async function latestRelease(client: KubeClient, namespace: string, name: string): Promise<HelmReleaseRecord | undefined> {
  const all = await readReleases(client, namespace, name);
  return all[all.length - 1];
}

function storageSecretName(rel: Pick<HelmReleaseRecord, 'name' | 'version'>): string {
  return `sh.helm.release.v1.${rel.name}.v${rel.version}`;
}

/**
 * Sets the status of a stored revision, as helm itself does when an action
 * fails or is unlocked: the record and the Secret's status label change
 * together, guarded by the Secret's resourceVersion.
 */
export async function setReleaseStatus(
  client: KubeClient,
  namespace: string,
  rel: HelmReleaseRecord,
  status: ReleaseStatus,
  description: string,
): Promise<HelmReleaseRecord> {
  const path = `/api/v1/namespaces/${namespace}/secrets/${storageSecretName(rel)}`;
  const secret = await client.request<StorageSecret>({ path });
  const current = decodeRelease(secret.data!.release!);
  current.info = { ...current.info, status, description };
  const labels = { ...(secret.metadata.labels ?? {}), status, modifiedAt: String(Math.floor(Date.now() / 1000)) };
  await client.request({
    method: 'PUT',
    path,
    body: { ...secret, metadata: { ...secret.metadata, labels }, data: { ...secret.data, release: encodeRelease(current) } },
  });
  return { ...current, labels };
}

/** The objects of a rendered manifest (hooks are not in it), with the release namespace where none is set. */
export function manifestObjects(manifest: string | undefined): KubeObject[] {
  if (!manifest) return [];
  const out: KubeObject[] = [];
  for (const doc of parseAllDocuments(manifest)) {
    const v = doc.toJSON() as KubeObject | null;
    if (!v || typeof v !== 'object' || !v.kind || !v.apiVersion) continue;
    if (v.kind.endsWith('List') && Array.isArray((v as { items?: unknown }).items)) {
      out.push(...((v as unknown as { items: KubeObject[] }).items));
    } else out.push(v);
  }
  return out;
}

/** sha256 over the stored release, Flux's snapshot digest. */
export function releaseDigest(rel: HelmReleaseRecord): string {
  const { labels: _l, ...plain } = rel;
  return `sha256:${createHash('sha256').update(JSON.stringify(plain)).digest('hex')}`;
}

/** Test hooks of a release with their last run. */
export function testHooks(rel: HelmReleaseRecord): HelmHook[] {
  return (rel.hooks ?? []).filter((h) => (h.events ?? []).includes('test') || (h.events ?? []).includes('test-success'));
}
