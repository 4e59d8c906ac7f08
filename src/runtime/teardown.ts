// When the controller's own namespace is deleted (`kubectl delete namespace
// flux-system`, or Bevel's reset of a network), the namespace controller
// deletes the controller's pod and the Flux objects in that namespace
// together. Finalizing them as usual would garbage-collect every workload
// the sync Kustomization deployed, in other namespaces too, or, with the pod
// gone first, leave the objects and the namespace stuck in Terminating on a
// finalizer nobody removes. Either way is a reported trouble. So the objects
// of a terminating own namespace are released instead: the finalizer comes
// off without garbage collection, as `sluice uninstall` does. Deleting an
// object, or another namespace, keeps Flux's behaviour.
import { FINALIZER } from '../api/annotations.ts';
import type { KubeClient } from '../kube/client.ts';
import { isConflict, isNotFound } from '../kube/errors.ts';
import type { KubeObject } from '../kube/object.ts';
import type { Logger } from '../util/log.ts';

/** How long an answer about the namespace is trusted (one GET per this interval at most). */
const FRESH_MS = 1_000;

export class NamespaceTeardown {
  private checked = 0;
  private terminating = false;

  constructor(
    private readonly client: KubeClient,
    /** The controller's namespace (RUNTIME_NAMESPACE). */
    readonly namespace: string,
    private readonly log: Logger,
  ) {}

  /** Whether the namespace is being deleted (or is gone). */
  async isTerminating(): Promise<boolean> {
    if (this.terminating) return true;
    if (Date.now() - this.checked < FRESH_MS) return false;
    const ns = await this.client.getOrUndefined<KubeObject>(`/api/v1/namespaces/${this.namespace}`).catch(() => ({ metadata: {} }) as KubeObject);
    this.checked = Date.now();
    // Once terminating, always: a namespace is never undeleted.
    this.terminating = !ns || !!ns.metadata.deletionTimestamp;
    return this.terminating;
  }

  /** Whether a deleted object should be released rather than finalized. */
  async releases(obj: KubeObject): Promise<boolean> {
    if (obj.metadata.namespace !== this.namespace || !(await this.isTerminating())) return false;
    this.log.info('releasing without garbage collection: the controller\'s namespace is being deleted', { kind: obj.kind, namespace: obj.metadata.namespace, name: obj.metadata.name });
    return true;
  }

  /**
   * On shutdown: when the namespace is terminating, the finalizer comes off
   * every object left in it, since this controller will not be back to
   * finalize them. `resources` are the API paths of the kinds, by namespace.
   */
  async releaseAll(resources: Array<(ns: string) => string>): Promise<number> {
    if (!(await this.isTerminating())) return 0;
    let released = 0;
    for (const path of resources) {
      const list = await this.client.request<{ items: KubeObject[] }>({ path: path(this.namespace) }).catch(() => ({ items: [] as KubeObject[] }));
      for (const obj of list.items) {
        const finalizers = obj.metadata.finalizers ?? [];
        if (!finalizers.includes(FINALIZER)) continue;
        await this.client
          .request({
            method: 'PATCH',
            path: `${path(this.namespace)}/${obj.metadata.name}`,
            contentType: 'application/json-patch+json',
            // test-then-remove: only our finalizer, only where it still is.
            body: [
              { op: 'test', path: `/metadata/finalizers/${finalizers.indexOf(FINALIZER)}`, value: FINALIZER },
              { op: 'remove', path: `/metadata/finalizers/${finalizers.indexOf(FINALIZER)}` },
            ],
          })
          .then(() => released++)
          .catch((err) => {
            if (!isNotFound(err) && !isConflict(err) && (err as { status?: number }).status !== 422) throw err;
          });
      }
    }
    if (released) this.log.info('released objects of the terminating namespace on shutdown', { namespace: this.namespace, count: released });
    return released;
  }
}
