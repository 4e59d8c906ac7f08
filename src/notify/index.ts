// Notifications in the operator's process: the dispatcher that takes every
// controller's events to Alerts, the status of Providers, Alerts and
// Receivers, and the webhook receiver's server.
import { kinds } from '../api/crds.ts';
import { NOTIFICATION_GROUP } from '../api/notification.ts';
import type { KubeClient } from '../kube/client.ts';
import type { Informer } from '../kube/informer.ts';
import type { KubeObject } from '../kube/object.ts';
import type { EventRecorder } from '../runtime/events.ts';
import type { ControllerManager } from '../runtime/manager.ts';
import type { Metrics } from '../runtime/metrics.ts';
import { readSecret } from '../runtime/secrets.ts';
import type { Logger } from '../util/log.ts';
import { Dispatcher } from './dispatcher.ts';
import { ReceiverServer } from './receiver/server.ts';
import { reconcileAlert, reconcileProvider, reconcileReceiver, type StatusOptions } from './status.ts';

export { Dispatcher } from './dispatcher.ts';
export { ReceiverServer } from './receiver/server.ts';

export interface NotificationsOptions {
  manager: ControllerManager;
  client: KubeClient;
  log: Logger;
  metrics: Metrics;
  /** Records Warning events on Alerts (a recorder without a sink: events about Alerts go to no Alert). */
  events: EventRecorder;
  /** host:port of the webhook receiver (--receiverAddr); none: no receiver server. */
  receiverAddress?: string;
  rateLimitIntervalMs?: number;
  noCrossNamespaceRefs?: boolean;
  concurrency?: number;
  /** Dispatcher tuning for tests. */
  retries?: number;
  retryBaseMs?: number;
  maxPending?: number;
}

export interface Notifications {
  dispatcher: Dispatcher;
  receiver?: ReceiverServer;
  /** Starts the receiver server (after the manager started). */
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Registers the three notification controllers on the manager; call before manager.start(). */
export function setupNotifications(o: NotificationsOptions): Notifications {
  const path = (plural: string, version: string) => `/apis/${NOTIFICATION_GROUP}/${version}/${plural}`;
  const providers = o.manager.informer(path('providers', 'v1beta3'));
  const alerts = o.manager.informer(path('alerts', 'v1beta3'));
  const receivers = o.manager.informer(path('receivers', 'v1'));
  // The caches of the kinds the operator runs, for matchLabels (the same shared caches the controllers use).
  const objects = new Map<string, Informer>();
  for (const k of kinds) if (k.group !== NOTIFICATION_GROUP) objects.set(k.kind, o.manager.informer(`/apis/${k.group}/${k.versions[0]!.name}/${k.plural}`));
  const read = async (ns: string, name: string) => (await readSecret(o.client, ns, name))?.data;
  const dispatcher = new Dispatcher({
    alerts,
    providers,
    readSecret: read,
    labelsOf: (kind, ns, name) => {
      const inf = objects.get(kind);
      return inf ? (inf.get(ns, name)?.metadata.labels ?? {}) : undefined;
    },
    lookup: (kind, ns, name) => objects.get(kind)?.get(ns, name),
    log: o.log,
    registry: o.metrics.registry,
    warn: (alert, reason, message) => void o.events.record(alert, 'Warning', reason, message),
    rateLimitIntervalMs: o.rateLimitIntervalMs,
    noCrossNamespaceRefs: o.noCrossNamespaceRefs,
    retries: o.retries,
    retryBaseMs: o.retryBaseMs,
    maxPending: o.maxPending,
    onDeliveryState: (p) => o.manager.queue('Provider')?.add(`${p.metadata.namespace}/${p.metadata.name}`),
  });
  const s: StatusOptions = { client: o.client, metrics: o.metrics, readSecret: read, alerts, providers, receivers, lastFailure: (p) => dispatcher.lastFailure(p) };
  const concurrency = o.concurrency ?? 4;
  const alertsOf = (provider: KubeObject) =>
    alerts
      .list(provider.metadata.namespace)
      .filter((a) => (a.spec as { providerRef?: { name?: string } }).providerRef?.name === provider.metadata.name)
      .map((a) => `${a.metadata.namespace}/${a.metadata.name}`);
  o.manager.add({ kind: 'Provider', informer: providers, concurrency, reconcile: (k) => reconcileProvider(s, k) });
  o.manager.add({
    kind: 'Alert',
    informer: alerts,
    concurrency,
    reconcile: (k) => reconcileAlert(s, k),
    // A Provider appearing, going or changing its Ready condition changes its Alerts' status.
    watches: [{ informer: providers, keys: (_t, obj) => alertsOf(obj) }],
  });
  o.manager.add({ kind: 'Receiver', informer: receivers, concurrency, reconcile: (k) => reconcileReceiver(s, k) });
  const receiver = o.receiverAddress
    ? new ReceiverServer({ address: o.receiverAddress, client: o.client, receivers, readSecret: read, log: o.log, objects: (kind) => objects.get(kind) })
    : undefined;
  return {
    dispatcher,
    receiver,
    async start() {
      // A port already taken must not take the GitOps controllers down with it: said loudly, and the rest runs.
      await receiver?.start().catch((err: Error) => o.log.error('the webhook receiver could not start: Receivers will not be served', { address: o.receiverAddress, error: err.message }));
    },
    async stop() {
      await receiver?.stop();
      await dispatcher.stop();
    },
  };
}
