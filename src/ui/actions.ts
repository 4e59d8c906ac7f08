// The dashboard's actions, done with the identity of the person using the
// page (their kubeconfig locally, impersonation in the cluster), so the API
// server's RBAC decides: reconcile (optionally its source first), suspend,
// resume. Each is one merge patch, as `sluice reconcile|suspend|resume` do,
// without waiting: the page sees the outcome live.
import { REQUESTED_AT } from '../api/annotations.ts';
import type { KubeClient } from '../kube/client.ts';
import { KubeApiError } from '../kube/errors.ts';
import type { KubeObject } from '../kube/object.ts';
import { objectPath, uiKind } from './kinds.ts';

export type ActionName = 'reconcile' | 'reconcile-with-source' | 'suspend' | 'resume';
export const ACTIONS: ActionName[] = ['reconcile', 'reconcile-with-source', 'suspend', 'resume'];

export interface ActionTarget {
  kind: string;
  namespace: string;
  name: string;
}

export type ActionResult = { ok: true; message: string } | { ok: false; status: number; message: string };

/** The merge patch of an action (pure). */
export function actionPatch(action: ActionName, now: string): Record<string, unknown> {
  const requested = { metadata: { annotations: { [REQUESTED_AT]: now } } };
  if (action === 'suspend') return { spec: { suspend: true } };
  if (action === 'resume') return { ...requested, spec: { suspend: false } };
  return requested;
}

/** The source a Kustomization or HelmRelease is built from, as Flux names it (a HelmRelease's chart: the HelmChart made for it). */
export function sourceTarget(obj: KubeObject): ActionTarget | undefined {
  const spec = (obj.spec ?? {}) as Record<string, any>;
  const ns = obj.metadata.namespace ?? '';
  if (obj.kind === 'Kustomization' && spec.sourceRef?.name) return { kind: spec.sourceRef.kind, namespace: spec.sourceRef.namespace || ns, name: spec.sourceRef.name };
  if (obj.kind === 'HelmRelease') {
    if (spec.chartRef?.name) return { kind: spec.chartRef.kind, namespace: spec.chartRef.namespace || ns, name: spec.chartRef.name };
    const made = (obj.status as { helmChart?: string } | undefined)?.helmChart;
    if (made?.includes('/')) {
      const [cns, cname] = made.split('/') as [string, string];
      return { kind: 'HelmChart', namespace: cns, name: cname };
    }
  }
  return undefined;
}

async function patch(client: KubeClient, t: ActionTarget, body: Record<string, unknown>): Promise<void> {
  const k = uiKind(t.kind);
  if (!k) throw new KubeApiError(400, 'BadRequest', `the dashboard does not act on ${t.kind}`);
  await client.request({ method: 'PATCH', path: objectPath(k, t.namespace, t.name), contentType: 'application/merge-patch+json', body });
}

/** Runs an action as `client`; a refusal by the API server comes back as a result, not an exception. */
export async function runAction(client: KubeClient, action: ActionName, target: ActionTarget, obj: KubeObject | undefined): Promise<ActionResult> {
  const now = new Date().toISOString();
  const what = `${target.kind} ${target.namespace}/${target.name}`;
  try {
    if (action === 'reconcile-with-source') {
      const src = obj && sourceTarget(obj);
      if (!src) return { ok: false, status: 400, message: `${what} has no source that the dashboard can reconcile` };
      await patch(client, src, actionPatch('reconcile', now));
      await patch(client, target, actionPatch('reconcile', now));
      return { ok: true, message: `reconcile requested for ${src.kind} ${src.namespace}/${src.name} and ${what}` };
    }
    await patch(client, target, actionPatch(action, now));
    return { ok: true, message: `${action === 'reconcile' ? 'reconcile requested for' : action === 'suspend' ? 'suspended' : 'resumed'} ${what}` };
  } catch (err) {
    if (err instanceof KubeApiError) {
      const refused = err.status === 403 || err.status === 401;
      return { ok: false, status: err.status, message: refused ? `refused by the API server: ${err.serverMessage}` : err.serverMessage };
    }
    throw err;
  }
}
