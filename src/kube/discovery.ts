import type { KubeClient } from './client.ts';
import { parseApiVersion } from './object.ts';

export interface ResourceMapping {
  group: string;
  version: string;
  kind: string;
  /** Plural resource name used in paths, e.g. deployments. */
  resource: string;
  namespaced: boolean;
  verbs: string[];
}

interface DiscoveryList {
  items: Array<{
    metadata: { name: string };
    versions: Array<{
      version: string;
      resources?: Array<{
        resource: string;
        responseKind?: { group: string; version: string; kind: string };
        scope: 'Namespaced' | 'Cluster';
        verbs?: string[];
      }>;
    }>;
  }>;
}

// Aggregated discovery: the whole API surface in two requests instead of one per group.
const AGGREGATED = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json';
const MIN_REFRESH_MS = 1_000;

/**
 * Maps apiVersion+kind to REST resources. Loaded once and refreshed on a
 * miss (a CRD applied a moment ago), at most once a second.
 */
export class Discovery {
  private byGvk = new Map<string, ResourceMapping>();
  private loaded: Promise<void> | undefined;
  private lastLoad = 0;

  constructor(private readonly client: KubeClient) {}

  async mapping(apiVersion: string, kind: string): Promise<ResourceMapping | undefined> {
    const key = `${apiVersion}/${kind}`;
    await (this.loaded ??= this.load());
    const hit = this.byGvk.get(key);
    if (hit) return hit;
    if (Date.now() - this.lastLoad >= MIN_REFRESH_MS) {
      this.loaded = this.load();
      await this.loaded;
    }
    return this.byGvk.get(key);
  }

  /** Forget what is known, e.g. after CRDs were created or deleted. */
  invalidate(): void {
    this.loaded = undefined;
    this.lastLoad = 0;
  }

  /** A failed load is forgotten, so that the next lookup asks again instead of failing for good. */
  private load(): Promise<void> {
    const loading: Promise<void> = this.fetch().catch((err: unknown) => {
      if (this.loaded === loading) this.loaded = undefined;
      throw err;
    });
    return loading;
  }

  private async fetch(): Promise<void> {
    const [core, groups] = await Promise.all([
      this.client.request<DiscoveryList>({ path: '/api', accept: AGGREGATED }),
      this.client.request<DiscoveryList>({ path: '/apis', accept: AGGREGATED }),
    ]);
    const next = new Map<string, ResourceMapping>();
    for (const list of [core, groups]) {
      for (const g of list.items ?? []) {
        const group = g.metadata.name ?? '';
        for (const v of g.versions) {
          for (const r of v.resources ?? []) {
            if (!r.responseKind?.kind) continue;
            const apiVersion = group ? `${group}/${v.version}` : v.version;
            next.set(`${apiVersion}/${r.responseKind.kind}`, {
              group,
              version: v.version,
              kind: r.responseKind.kind,
              resource: r.resource,
              namespaced: r.scope === 'Namespaced',
              verbs: r.verbs ?? [],
            });
          }
        }
      }
    }
    this.byGvk = next;
    this.lastLoad = Date.now();
  }
}

/** The REST path of a collection or, with a name, of one object. */
export function resourcePath(m: ResourceMapping, namespace?: string, name?: string): string {
  const base = m.group ? `/apis/${m.group}/${m.version}` : `/api/${m.version}`;
  const ns = m.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${base}${ns}/${m.resource}${name ? `/${encodeURIComponent(name)}` : ''}`;
}

export { parseApiVersion };
