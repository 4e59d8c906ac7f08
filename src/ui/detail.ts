// One object's detail page: its redacted object, conditions and the changes
// of them seen, recent events, the inventory with each object's health by
// Sluice's health rules, its source's artifact, and the revision record
// (Kustomization) or release history (HelmRelease). Read on demand, when a
// page opens the object; nothing here is polled.
import type { KubeClient } from '../kube/client.ts';
import { Discovery, resourcePath } from '../kube/discovery.ts';
import type { KubeObject } from '../kube/object.ts';
import { computeHealth } from '../health/index.ts';
import { parseRecord, recordPath } from '../controllers/kustomization/recordstore.ts';
import { mapSettled } from '../util/pool.ts';
import { isNotFound } from '../kube/errors.ts';
import { redactObject } from './redact.ts';
import type { DashboardStore } from './store.ts';
import { conditionsOf } from './rows.ts';
import { appliedCommit } from './commit.ts';

export interface InventoryItem {
  kind: string;
  apiVersion: string;
  namespace: string;
  name: string;
  health: string;
  message: string;
}

/** Asks the API server for an object's metadata only (used for Secrets: their data never enters this process). */
const PARTIAL_METADATA = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1';

/** Objects whose health is looked up for one page; the rest are listed without it. */
const MAX_HEALTH_LOOKUPS = 300;

/** Flux's inventory id: namespace_name_group_Kind. */
export function parseInventoryId(id: string, version: string): { namespace: string; name: string; group: string; kind: string; apiVersion: string } | undefined {
  const parts = id.split('_');
  if (parts.length < 4) return undefined;
  const kind = parts.pop()!;
  const group = parts.pop()!;
  const namespace = parts.shift()!;
  const name = parts.join('_');
  return { namespace, name, group, kind, apiVersion: group ? `${group}/${version}` : version };
}

export class DetailReader {
  private readonly discovery: Discovery;

  constructor(
    private readonly client: KubeClient,
    private readonly store: DashboardStore,
  ) {
    this.discovery = new Discovery(client);
  }

  async detail(kind: string, namespace: string, name: string): Promise<Record<string, unknown> | undefined> {
    const obj = this.store.object(kind, namespace, name);
    if (!obj) return undefined;
    const id = `${kind}/${namespace}/${name}`;
    const [events, inventory, record, source] = await Promise.all([
      this.events(kind, namespace, name).catch((err: Error) => ({ error: err.message })),
      this.inventory(obj).catch((err: Error) => ({ error: err.message })),
      kind === 'Kustomization' ? this.record(namespace, name).catch((err: Error) => ({ error: err.message })) : undefined,
      Promise.resolve(this.sourceOf(obj)),
    ]);
    const artifact = (source as { artifact?: { revision?: unknown; metadata?: unknown } } | undefined)?.artifact;
    return {
      row: this.store.row(id),
      object: redactObject(obj),
      conditions: conditionsOf(obj),
      conditionHistory: this.store.conditionHistory(id),
      events,
      inventory,
      record,
      source,
      ...(kind === 'Kustomization' ? { commit: appliedCommit((obj.status as { lastAppliedRevision?: string } | undefined)?.lastAppliedRevision, artifact) } : {}),
    };
  }

  /** The source's artifact (revision, digest, size, metadata such as an OCI artifact's commit and author). */
  private sourceOf(obj: KubeObject): Record<string, unknown> | undefined {
    const spec = (obj.spec ?? {}) as Record<string, any>;
    const ref = obj.kind === 'Kustomization' ? spec.sourceRef : obj.kind === 'HelmRelease' ? spec.chartRef : undefined;
    if (!ref?.kind || !ref?.name) return undefined;
    const src = this.store.object(ref.kind, ref.namespace || obj.metadata.namespace || '', ref.name);
    const artifact = (src?.status as { artifact?: Record<string, unknown> } | undefined)?.artifact;
    return { kind: ref.kind, namespace: ref.namespace || obj.metadata.namespace, name: ref.name, artifact: artifact ? redactObject({ apiVersion: '', kind: '', metadata: {}, status: artifact }).status : undefined };
  }

  private async events(kind: string, namespace: string, name: string): Promise<unknown[]> {
    const list = await this.client.request<{ items: Array<Record<string, any>> }>({
      path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/events`,
      query: { fieldSelector: `involvedObject.kind=${kind},involvedObject.name=${name}` },
    });
    return list.items
      .map((e) => ({ type: e.type, reason: e.reason, message: String(e.message ?? '').slice(0, 1000), count: e.count ?? 1, at: e.lastTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp, source: e.reportingComponent || e.source?.component }))
      .sort((a, b) => String(b.at).localeCompare(String(a.at)))
      .slice(0, 30);
  }

  private async record(namespace: string, name: string): Promise<unknown> {
    const r = parseRecord(await this.client.getOrUndefined(recordPath(namespace, name)));
    // The healthy revision's spec is left out: it may hold substitution values.
    return { entries: r.entries, healthy: r.healthy?.revision, rollback: r.rollback };
  }

  private async inventory(obj: KubeObject): Promise<InventoryItem[]> {
    const entries = ((obj.status as { inventory?: { entries?: Array<{ id: string; v: string }> } } | undefined)?.inventory?.entries ?? []);
    const parsed = entries.map((e) => parseInventoryId(e.id, e.v)).filter((x) => x !== undefined);
    const results = await mapSettled(parsed, 16, async (p, i): Promise<InventoryItem> => {
      const base = { kind: p.kind, apiVersion: p.apiVersion, namespace: p.namespace, name: p.name };
      if (i >= MAX_HEALTH_LOOKUPS) return { ...base, health: 'Unknown', message: 'not looked up (large inventory)' };
      const m = await this.discovery.mapping(p.apiVersion, p.kind);
      if (!m) return { ...base, health: 'Unknown', message: 'kind not served by the API server' };
      const path = resourcePath(m, m.namespaced ? p.namespace : undefined, p.name);
      if (p.kind === 'Secret') {
        // Metadata only: the Secret's data never enters this process.
        const meta = await this.client.request({ path, accept: PARTIAL_METADATA }).catch((err: unknown) => {
          if (isNotFound(err)) return undefined;
          throw err;
        });
        return { ...base, health: meta ? 'Current' : 'NotFound', message: meta ? '' : 'not found' };
      }
      const live = await this.client.getOrUndefined<KubeObject>(path);
      if (!live) return { ...base, health: 'NotFound', message: 'not found' };
      const h = computeHealth(live);
      return { ...base, health: h.status, message: h.message ?? '' };
    });
    return results.map((r, i) => r.value ?? { kind: parsed[i]!.kind, apiVersion: parsed[i]!.apiVersion, namespace: parsed[i]!.namespace, name: parsed[i]!.name, health: 'Unknown', message: String((r.error as Error)?.message ?? r.error) });
  }
}
