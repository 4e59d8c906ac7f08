// The detail page's "Drift" section: what a reconcile of a Kustomization
// would change now. Computed on demand (a click), never on the overview nor
// polled: the source's artifact is fetched from its URL (the controller's
// artifact server, digest checked), built as the controller builds it, and
// dry-run applied with the identity the caller gives (the page user's).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kustomization } from '../api/kustomization.ts';
import { previewKustomization, type DriftPreview } from '../controllers/kustomization/preview.ts';
import type { KubeClient } from '../kube/client.ts';
import type { KubeObject } from '../kube/object.ts';
import { ArtifactResolver, type ArtifactRef } from '../runtime/artifacts.ts';
import { redactObject } from './redact.ts';
import type { DashboardStore } from './store.ts';

export interface DriftAnswer extends DriftPreview {
  revision: string;
  /** Whose rights the dry-run used, in words. */
  identity: string;
}

/** A failure the page shows as it is, with the HTTP status to send. */
export class DriftError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Network failures of a download: the URL cannot be reached from here (as opposed to a bad artifact). */
const UNREACHABLE = /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|ECONNRESET|timed out|HTTP \d+/;

/** What a diff may show of an object: a Flux object (a nested Kustomization, a HelmRelease) as the detail page shows it, redacted. */
function showable(o: KubeObject): KubeObject {
  return o.apiVersion?.includes('.toolkit.fluxcd.io/') ? redactObject(o) : o;
}

/** Drift computations at once: each builds and dry-runs a whole Kustomization. */
const MAX_RUNNING = 2;

export class DriftReader {
  private resolver?: Promise<{ resolver: ArtifactResolver; dir: string }>;
  private running = 0;

  constructor(private readonly store: DashboardStore) {}

  private artifacts(): Promise<{ resolver: ArtifactResolver; dir: string }> {
    // A few unpacked artifacts are kept, keyed by digest: opening the section again does not download again.
    this.resolver ??= mkdtemp(join(tmpdir(), 'sluice-dashboard-artifacts-')).then((dir) => ({ dir, resolver: new ArtifactResolver(dir, undefined, 8) }));
    return this.resolver;
  }

  async drift(client: KubeClient, identity: string, kind: string, namespace: string, name: string): Promise<DriftAnswer> {
    if (this.running >= MAX_RUNNING) throw new DriftError(429, `the dashboard is computing ${MAX_RUNNING} drifts already: try again in a moment`);
    this.running++;
    try {
      return await this.compute(client, identity, kind, namespace, name);
    } finally {
      this.running--;
    }
  }

  private async compute(client: KubeClient, identity: string, kind: string, namespace: string, name: string): Promise<DriftAnswer> {
    if (kind !== 'Kustomization') throw new DriftError(400, `drift is computed for Kustomizations, not ${kind || 'nothing'}`);
    const ks = this.store.object(kind, namespace, name) as Kustomization | undefined;
    if (!ks) throw new DriftError(404, `Kustomization ${namespace}/${name} not found`);
    const ref = ks.spec.sourceRef;
    const srcNs = ref.namespace || namespace;
    const src = this.store.object(ref.kind, srcNs, ref.name);
    if (!src) throw new DriftError(409, `its source ${ref.kind} ${srcNs}/${ref.name} is not known to the dashboard`);
    const artifact = (src.status as { artifact?: ArtifactRef } | undefined)?.artifact;
    if (!artifact?.url) throw new DriftError(409, `its source ${ref.kind} ${srcNs}/${ref.name} has no artifact yet`);
    let dir: string;
    try {
      dir = await (await this.artifacts()).resolver.resolve(artifact);
    } catch (err) {
      const msg = (err as Error).message;
      if (UNREACHABLE.test(msg) || UNREACHABLE.test(String((err as NodeJS.ErrnoException).code))) {
        throw new DriftError(502, `the artifact URL ${artifact.url} is not reachable from the dashboard (${msg}): run the dashboard where the controller's artifact server can be reached`);
      }
      throw new DriftError(502, `the artifact ${artifact.url} could not be used: ${msg}`);
    }
    try {
      const preview = await previewKustomization(client, ks, dir, showable);
      return { revision: artifact.revision, identity, ...preview };
    } catch (err) {
      throw new DriftError(422, (err as Error).message);
    }
  }

  async close(): Promise<void> {
    const r = await this.resolver?.catch(() => undefined);
    if (r) await rm(r.dir, { recursive: true, force: true });
  }
}
