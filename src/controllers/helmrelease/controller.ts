// The HelmRelease controller: the entry points the manager calls (reconcile,
// the dependents lookups for its watches, stop) and what outlives one
// reconcile (the per-target caches, the finalizer's uninstall). One reconcile
// is cut into files as helm-controller cuts its reconcile: prepare.ts (sources,
// values, the desired release), loop.ts (which action next), actions/ (one
// Helm action a file), drift.ts, status.ts; they share context.ts.
import { SLUICE_PIN } from '../../api/annotations.ts';
import { ResourceManager } from '../../apply/manager.ts';
import { uninstallRelease } from '../../helm/actions.ts';
import { readReleases } from '../../helm/release.ts';
import { Discovery } from '../../kube/discovery.ts';
import { isNotFound } from '../../kube/errors.ts';
import { SharedInformers } from '../../kube/informer.ts';
import type { KubeObject } from '../../kube/object.ts';
import { dependentsOf } from '../../runtime/dependencies.ts';
import { beginReconcile, endDeletion, type LifecycleOptions } from '../../runtime/lifecycle.ts';
import type { ReconcileOutcome } from '../../runtime/queue.ts';
import { TargetError, Targets } from '../../runtime/target.ts';
import type { Logger } from '../../util/log.ts';
import type { HelmReleaseControllerOptions } from './options.ts';
import { DEFAULT_TIMEOUT, durationOr, newContext, StepFailure, type Target } from './context.ts';
import { runReconcile } from './loop.ts';
import { HR_PLURAL, ownedBy, type HelmReleaseObject } from './object.ts';
import { Reason } from './reasons.ts';

// What importers of the controller have always found here.
export type { HelmReleaseControllerOptions } from './options.ts';
export { HR_NAME_LABEL, HR_NAMESPACE_LABEL, HR_PLURAL, releaseNameOf, type HelmReleaseObject } from './object.ts';
export { Reason } from './reasons.ts';

/**
 * Reconciles HelmReleases with the real helm CLI, as helm-controller does:
 * it makes the HelmChart from the chart template, composes the values,
 * then looks at the release in Helm's storage and runs the action its state
 * calls for (install, upgrade, test, rollback or uninstall as remediation,
 * unlocking a release stuck in a pending state), waits for the release's
 * objects to become ready, corrects or reports drift, and writes status
 * (conditions, history snapshots, failure counters) and events as Flux does.
 */
export class HelmReleaseController {
  readonly kind = 'HelmRelease';
  private readonly targets: Targets<Target>;
  private readonly lifecycle: LifecycleOptions;

  constructor(private readonly o: HelmReleaseControllerOptions) {
    this.targets = new Targets<Target>({
      client: o.client,
      defaultServiceAccount: o.defaultServiceAccount,
      defaultKubeConfigServiceAccount: o.defaultKubeConfigServiceAccount,
      make: (id) => ({
        client: id.client,
        helm: { kubeconfig: id.kubeconfig(), ...(id.asUser ? { asUser: id.asUser } : {}) },
        discovery: new Discovery(id.client),
        rm: new ResourceManager(id.client),
        informers: new SharedInformers(id.client),
      }),
      release: (t) => t.informers.stop(),
    });
    this.lifecycle = { client: o.client, metrics: o.metrics, kind: this.kind, plural: HR_PLURAL, teardown: o.teardown };
  }

  /** Keys of HelmReleases whose chart is the given HelmChart. */
  dependentsOfChart(namespace: string, name: string): string[] {
    const id = `${namespace}/${name}`;
    return this.o.releases
      .list()
      .filter((r) => {
        const hr = r as HelmReleaseObject;
        if (hr.spec?.chartRef?.kind === 'HelmChart') return `${hr.spec.chartRef.namespace ?? hr.metadata.namespace}/${hr.spec.chartRef.name}` === id;
        return hr.status?.helmChart === id || (hr.spec?.chart && this.chartObjectName(hr).join('/') === id);
      })
      .map(keyOf);
  }

  /** Keys of HelmReleases that depend on the given one. */
  dependentsOf(namespace: string, name: string, o: { readyExprOnly?: boolean } = {}): string[] {
    return dependentsOf(this.o.releases, namespace, name, o);
  }

  /** Keys of HelmReleases that take values from the given ConfigMap or Secret. */
  dependentsOfValues(kind: string, namespace: string, name: string): string[] {
    return this.o.releases
      .list(namespace)
      .filter((r) => ((r as HelmReleaseObject).spec?.valuesFrom ?? []).some((v) => v.kind === kind && v.name === name))
      .map(keyOf);
  }

  private chartObjectName(hr: HelmReleaseObject): [string, string] {
    return [hr.spec.chart?.spec.sourceRef.namespace ?? hr.metadata.namespace!, `${hr.metadata.namespace}-${hr.metadata.name}`];
  }

  /** Stops the health watches and lets the helm driver finish what it is doing. */
  async stop(): Promise<void> {
    this.targets.stop();
    await this.o.helm.stop();
  }

  async reconcile(key: string, signal: AbortSignal): Promise<ReconcileOutcome> {
    const begun = await beginReconcile<HelmReleaseObject>(this.lifecycle, this.o.releases, key);
    if (begun.phase === 'gone') return {};
    const log = this.o.log.with({ controller: 'helmrelease', namespace: begun.obj.metadata.namespace, name: begun.obj.metadata.name });
    if (begun.phase === 'deleting') return this.finalize(begun.obj, log);
    if (begun.suspended) return {};
    // `sluice rollback helmrelease` pinned the release to an older Helm revision: no upgrade back to Git's until cleared.
    if (begun.obj.metadata.annotations?.[SLUICE_PIN]) {
      log.debug('pinned', { revision: begun.obj.metadata.annotations[SLUICE_PIN] });
      return {};
    }
    return runReconcile(newContext(this.o, this, begun.obj, log, signal));
  }

  /** Client, helm target and apply engine for a HelmRelease (its service account, its kubeconfig). */
  async targetFor(obj: HelmReleaseObject): Promise<Target> {
    try {
      return (await this.targets.for(obj.metadata.namespace!, obj.spec)).value;
    } catch (err) {
      // The shared cache names the problem; the messages are helm-controller's.
      if (err instanceof TargetError) {
        throw new StepFailure(
          Reason.InitFailed,
          err.problem === 'secretNotFound' ? `could not get kubeconfig Secret '${err.secret}': not found` : err.message,
        );
      }
      throw err;
    }
  }

  /** Deletion: uninstall the release (unless suspended), remove the HelmChart made for it, drop the finalizer. */
  private async finalize(obj: HelmReleaseObject, log: Logger): Promise<ReconcileOutcome> {
    const ns = obj.metadata.namespace!;
    const name = obj.metadata.name!;
    const last = obj.status?.history?.[0];
    if (!obj.spec.suspend && last) {
      try {
        const target = await this.targetFor(obj);
        const storageNs = obj.status?.storageNamespace ?? last.namespace;
        const stored = await readReleases(target.client, storageNs, last.name).catch((err) => {
          if (isNotFound(err)) return [];
          throw err;
        });
        const cur = stored[stored.length - 1];
        if (cur && ownedBy(cur, ns, name) !== false) {
          const u = obj.spec.uninstall ?? {};
          await uninstallRelease(this.o.helm, {
            target: target.helm,
            name: cur.name,
            namespace: cur.namespace,
            storageNamespace: storageNs,
            timeoutMs: durationOr(u.timeout, durationOr(obj.spec.timeout, DEFAULT_TIMEOUT)),
            keepHistory: u.keepHistory,
            noHooks: u.disableHooks,
            wait: !u.disableWait,
            cascade: u.deletionPropagation,
          });
          await this.o.events.record(obj, 'Normal', Reason.UninstallSucceeded, `Helm uninstall succeeded for release ${last.namespace}/${cur.name}.v${cur.version} with chart ${cur.chart?.metadata.name}@${cur.chart?.metadata.version}`);
        }
      } catch (err) {
        log.error('uninstall on deletion failed', { error: (err as Error).message });
        await this.o.events.record(obj, 'Warning', Reason.UninstallFailed, (err as Error).message);
        return { error: err };
      }
    }
    if (obj.spec.chart && obj.status?.helmChart) await this.deleteChart(obj.status.helmChart);
    await endDeletion(this.lifecycle, obj);
    return {};
  }

  async deleteChart(id: string): Promise<void> {
    const [ns, name] = id.split('/') as [string, string];
    await this.o.client.request({ method: 'DELETE', path: `/apis/source.toolkit.fluxcd.io/v1/namespaces/${ns}/helmcharts/${name}` }).catch((err) => {
      if (!isNotFound(err)) throw err;
    });
  }
}

function keyOf(o: KubeObject): string {
  return `${o.metadata.namespace}/${o.metadata.name}`;
}
