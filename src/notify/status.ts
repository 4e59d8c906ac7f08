// The status of Providers, Alerts and Receivers: what can be checked without
// sending anything, as a Ready condition with Flux's reasons. A broken one
// says so here and never stops the others: the dispatcher and the receiver
// server look at each object on its own.
import type { Alert } from '../api/alert.ts';
import type { Provider } from '../api/provider.ts';
import type { Receiver } from '../api/receiver.ts';
import type { Condition } from '../api/schema.ts';
import type { KubeClient } from '../kube/client.ts';
import type { Informer } from '../kube/informer.ts';
import type { KubeObject } from '../kube/object.ts';
import { Conditions, rfc3339 } from '../runtime/conditions.ts';
import type { Metrics } from '../runtime/metrics.ts';
import type { ReconcileOutcome } from '../runtime/queue.ts';
import { patchStatus, removeFinalizer } from '../runtime/status.ts';
import { FINALIZER } from '../runtime/lifecycle.ts';
import { parseDuration } from '../util/duration.ts';
import { invalidExpressions } from './match.ts';
import { webhookPath } from './receiver/hookpath.ts';
import { invalidFilters } from './receiver/filter.ts';
import { gcrSecretProblem } from './receiver/gcr.ts';
import { oidcExpressionProblem, oidcSpecProblem } from './receiver/oidc.ts';
import { ProviderProblem, resolveProvider, type ReadSecret } from './settings.ts';

/** Look again at objects whose Secret is missing this soon: the Secret often comes a moment later. */
const MISSING_SECRET_RETRY_MS = 10_000;
const SUPPORTED_RECEIVERS = new Set(['generic', 'generic-hmac', 'github', 'gitlab', 'bitbucket', 'harbor', 'dockerhub', 'quay', 'nexus', 'acr', 'gcr', 'generic-oidc', 'cdevents']);

export interface StatusOptions {
  client: KubeClient;
  metrics: Metrics;
  readSecret: ReadSecret;
  alerts: Informer;
  providers: Informer;
  receivers: Informer;
  /** Why the Provider's last delivery failed, when it did (the dispatcher knows). */
  lastFailure?: (p: Provider) => string | undefined;
}

type Verdict = { status: 'True' | 'False'; reason: string; message: string; /** Also Stalled: nothing changes until the spec does. */ stalled?: boolean };

async function write(o: StatusOptions, kind: string, plural: string, obj: Provider | Alert | Receiver, v: Verdict, extra: Record<string, unknown> = {}): Promise<void> {
  const prev = (obj.status ?? {}) as { conditions?: Condition[] };
  const conds = new Conditions(prev.conditions, obj.metadata.generation ?? 0, rfc3339(new Date()));
  conds.set('Ready', v.status, v.reason, v.message);
  if (v.stalled) conds.set('Stalled', 'True', v.reason, v.message);
  else conds.delete('Stalled');
  await patchStatus(o.client, obj, plural, { ...prev, ...extra, observedGeneration: obj.metadata.generation, conditions: conds.toArray() });
  o.metrics.recordCondition(kind, obj.metadata.namespace!, obj.metadata.name!, 'Ready', v.status);
}

/**
 * Flux's finalizer on a notification object: Flux's earlier releases put it
 * on Alerts and Providers, which are static now (Flux's controllers take it
 * off, so do we), and on Receivers, which hold nothing to clean up. Taken
 * off an Alert or Provider at once, off a Receiver when it is deleted, so
 * objects that come from a Flux installation can be deleted.
 */
async function dropFluxFinalizer(o: StatusOptions, obj: KubeObject, plural: string, now: boolean): Promise<void> {
  if ((now || obj.metadata.deletionTimestamp) && obj.metadata.finalizers?.includes(FINALIZER)) await removeFinalizer(o.client, obj, plural, FINALIZER);
}

export async function reconcileProvider(o: StatusOptions, key: string): Promise<ReconcileOutcome> {
  const [ns, name] = key.split('/') as [string, string];
  const p = o.providers.get(ns, name) as Provider | undefined;
  if (!p) return {};
  await dropFluxFinalizer(o, p, 'providers', true);
  if (p.metadata.deletionTimestamp) return {};
  let v: Verdict = { status: 'True', reason: 'Succeeded', message: `Provider of type ${p.spec.type} is ready` };
  try {
    await resolveProvider(p, o.readSecret);
  } catch (err) {
    if (!(err instanceof ProviderProblem)) throw err;
    v = { status: 'False', reason: err.reason === 'Unsupported' ? 'ValidationFailed' : err.reason, message: err.message };
  }
  // Settings that check out, but the service did not take the last event (unreachable, refused, bad certificate).
  const failure = v.status === 'True' ? o.lastFailure?.(p) : undefined;
  if (failure) v = { status: 'False', reason: 'DeliveryFailed', message: `the last delivery failed: ${failure}` };
  await write(o, 'Provider', 'providers', p, v);
  return v.reason === 'TokenNotFound' ? { requeueAfterMs: MISSING_SECRET_RETRY_MS } : { requeueAfterMs: 10 * 60_000 };
}

export async function reconcileAlert(o: StatusOptions, key: string): Promise<ReconcileOutcome> {
  const [ns, name] = key.split('/') as [string, string];
  const a = o.alerts.get(ns, name) as Alert | undefined;
  if (!a) return {};
  await dropFluxFinalizer(o, a, 'alerts', true);
  if (a.metadata.deletionTimestamp) return {};
  const provider = o.providers.get(ns, a.spec.providerRef.name) as Provider | undefined;
  const bad = invalidExpressions(a);
  let v: Verdict;
  if (bad.length) v = { status: 'False', reason: 'ValidationFailed', message: `invalid regular expression: ${bad.join('; ')}` };
  else if (!provider) v = { status: 'False', reason: 'ProviderNotFound', message: `Provider ${ns}/${a.spec.providerRef.name} not found` };
  else {
    const pr = provider.status?.conditions?.find((c) => c.type === 'Ready');
    v = pr?.status === 'False'
      ? { status: 'False', reason: 'ProviderNotReady', message: `Provider ${a.spec.providerRef.name} is not ready: ${pr.message}` }
      : { status: 'True', reason: 'Succeeded', message: `Initialized: events go to Provider ${a.spec.providerRef.name}` };
  }
  await write(o, 'Alert', 'alerts', a, v);
  return {};
}

export async function reconcileReceiver(o: StatusOptions, key: string): Promise<ReconcileOutcome> {
  const [ns, name] = key.split('/') as [string, string];
  const r = o.receivers.get(ns, name) as Receiver | undefined;
  if (!r) return {};
  await dropFluxFinalizer(o, r, 'receivers', false);
  if (r.metadata.deletionTimestamp) return {};
  const interval = r.spec.interval ? parseDuration(r.spec.interval) : 10 * 60_000;
  const handled = r.metadata.annotations?.['reconcile.fluxcd.io/requestedAt'];
  const extra = handled ? { lastHandledReconcileAt: handled } : {};
  if (!SUPPORTED_RECEIVERS.has(r.spec.type)) {
    await write(o, 'Receiver', 'receivers', r, { status: 'False', reason: 'ValidationFailed', message: `receiver type ${r.spec.type} is not supported by Sluice yet` }, { ...extra, webhookPath: undefined });
    return {};
  }
  const badFilters = invalidFilters(r);
  if (badFilters.length) {
    // Flux's words: a filter that does not compile fails terminally, until the spec changes.
    const message = `Reconciliation failed terminally due to configuration error: ${badFilters.join('; ')}`;
    await write(o, 'Receiver', 'receivers', r, { status: 'False', reason: 'InvalidCELExpression', message, stalled: true }, { ...extra, webhookPath: undefined });
    return {};
  }
  if (r.spec.type === 'generic-oidc') {
    const specProblem = oidcSpecProblem(r.spec.oidcProviders);
    if (specProblem) {
      await write(o, 'Receiver', 'receivers', r, { status: 'False', reason: 'ValidationFailed', message: specProblem, stalled: true }, { ...extra, webhookPath: undefined });
      return {};
    }
    const celProblem = oidcExpressionProblem(r.spec.oidcProviders!);
    if (celProblem) {
      const message = `Reconciliation failed terminally due to configuration error: ${celProblem}`;
      await write(o, 'Receiver', 'receivers', r, { status: 'False', reason: 'InvalidCELExpression', message, stalled: true }, { ...extra, webhookPath: undefined });
      return {};
    }
    // No Secret: the path is salted with an empty token, as Flux computes it.
    const oidcPath = webhookPath('', name, ns);
    await write(o, 'Receiver', 'receivers', r, { status: 'True', reason: 'Succeeded', message: `Receiver initialized for path: ${oidcPath}` }, { ...extra, webhookPath: oidcPath });
    return { requeueAfterMs: interval };
  }
  const secretName = r.spec.secretRef?.name ?? '';
  const data = await o.readSecret(ns, secretName);
  const token = data?.token?.toString('utf8');
  if (token === undefined) {
    const message = data ? `invalid '${ns}/${secretName}' secret data: required field 'token'` : `unable to read token from secret '${ns}/${secretName}': not found`;
    await write(o, 'Receiver', 'receivers', r, { status: 'False', reason: 'TokenNotFound', message }, { ...extra, webhookPath: undefined });
    return { requeueAfterMs: MISSING_SECRET_RETRY_MS };
  }
  const gcrProblem = r.spec.type === 'gcr' ? gcrSecretProblem(data) : undefined;
  if (gcrProblem) {
    await write(o, 'Receiver', 'receivers', r, { status: 'False', reason: 'TokenNotFound', message: `invalid '${ns}/${secretName}' secret data: ${gcrProblem}` }, { ...extra, webhookPath: undefined });
    return { requeueAfterMs: MISSING_SECRET_RETRY_MS };
  }
  const path = webhookPath(token, name, ns);
  await write(o, 'Receiver', 'receivers', r, { status: 'True', reason: 'Succeeded', message: `Receiver initialized for path: ${path}` }, { ...extra, webhookPath: path });
  return { requeueAfterMs: interval };
}
