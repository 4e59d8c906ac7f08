// Events out: every event a controller records comes here (in process), goes
// to the Alerts that take it, and is delivered to their Providers in the
// background. One lane per Provider and object keeps a commit status's
// pending before its success; lanes run side by side, so a slow or down
// service delays only its own events. Retries back off; identical events are
// sent once per interval per Alert; the queue is bounded and what it drops
// is counted and logged. Secrets never reach a log line or an event.
import { Counter, type Registry } from 'prom-client';
import type { Alert } from '../api/alert.ts';
import type { Provider } from '../api/provider.ts';
import type { Informer } from '../kube/informer.ts';
import type { KubeObject } from '../kube/object.ts';
import type { FluxEvent } from '../runtime/eventsink.ts';
import type { Logger } from '../util/log.ts';
import { alertTakes, eventForAlert, type LabelsOf } from './match.ts';
import { eventKey, RateLimiter } from './ratelimit.ts';
import { CHANGE_REQUEST_NOTIFIERS, COMMIT_STATUS_NOTIFIERS, notifiers } from './providers/index.ts';
import type { ObjectLookup } from './providers/types.ts';
import { CHANGE_REQUEST_KEY } from './providers/markdown.ts';
import { DeliveryError, exchange, send } from './send.ts';
import { commitStatusKeyFor, mask, ProviderProblem, resolveProvider, type ReadSecret } from './settings.ts';

/** Records a Warning event on an Alert (delivery failures, as Flux's NotificationDispatchFailed). */
export type AlertWarning = (alert: KubeObject, reason: string, message: string) => void;

export interface DispatcherOptions {
  alerts: Informer;
  providers: Informer;
  readSecret: ReadSecret;
  labelsOf: LabelsOf;
  /** Flux objects from the caches, for types that look at the object's hierarchy (otel). */
  lookup?: ObjectLookup;
  log: Logger;
  registry?: Registry;
  warn?: AlertWarning;
  /** Identical events per Alert at most once per this (Flux's --rate-limit-interval, 5m). */
  rateLimitIntervalMs?: number;
  /** Deliveries waiting beyond this are dropped (default 1,000). */
  maxPending?: number;
  /** Retries after the first attempt (default 5), backing off from retryBaseMs (1 s) doubling up to 30 s. */
  retries?: number;
  retryBaseMs?: number;
  /** Alerts may take events of their own namespace only (--no-cross-namespace-refs). */
  noCrossNamespaceRefs?: boolean;
  /** Called when a Provider's deliveries turn from working to failing or back (its status says so). */
  onDeliveryState?: (provider: Provider) => void;
}

interface Delivery {
  alert: Alert;
  provider: Provider;
  event: FluxEvent;
  rateKey: string;
}

export class Dispatcher {
  private readonly limiter: RateLimiter;
  private readonly lanes = new Map<string, Delivery[]>();
  private pending = 0;
  private idle: Array<() => void> = [];
  private stopped = false;
  private queueFull = 0;
  /** Providers whose last delivery failed (by UID or namespace/name): the masked reason. */
  private readonly failing = new Map<string, string>();
  readonly dropped: Counter<'reason'>;
  readonly deliveries: Counter<'type' | 'result'>;

  constructor(private readonly o: DispatcherOptions) {
    this.limiter = new RateLimiter(o.rateLimitIntervalMs ?? 5 * 60_000);
    const registers = o.registry ? [o.registry] : [];
    this.dropped = new Counter({
      name: 'sluice_notification_dropped_total',
      help: 'Events not delivered to a Provider: queue_full (too many waiting), failed (retries exhausted), invalid (Alert or Provider unusable).',
      labelNames: ['reason'],
      registers,
    });
    this.deliveries = new Counter({
      name: 'sluice_notification_deliveries_total',
      help: 'Events delivered to Providers, per provider type and result (sent, rate_limited, skipped).',
      labelNames: ['type', 'result'],
      registers,
    });
  }

  /** Takes one event (from the EventRecorder); never throws, never waits. */
  send(event: FluxEvent): void {
    if (this.stopped) return;
    try {
      this.dispatch(event);
    } catch (err) {
      this.o.log.error('could not dispatch an event', { error: (err as Error).message });
    }
  }

  private dispatch(raw: FluxEvent): void {
    const o = raw.involvedObject;
    for (const obj of this.o.alerts.list()) {
      const alert = obj as Alert;
      if (this.o.noCrossNamespaceRefs && alert.metadata.namespace !== o.namespace) continue;
      if (!alertTakes(alert, raw, this.o.labelsOf)) continue;
      const ns = alert.metadata.namespace!;
      const provider = this.o.providers.get(ns, alert.spec.providerRef.name) as Provider | undefined;
      if (!provider) {
        this.o.warn?.(alert, 'ProviderNotFound', `Provider ${ns}/${alert.spec.providerRef.name} not found: the event of ${o.kind}/${o.namespace}/${o.name} was not sent`);
        this.dropped.inc({ reason: 'invalid' });
        continue;
      }
      if (provider.spec.suspend) continue;
      const { event, conflicts } = eventForAlert(raw, alert);
      if (conflicts.length) this.o.log.info('event metadata keys set by more than one source', { alert: `${ns}/${alert.metadata.name}`, keys: conflicts });
      const type = provider.spec.type;
      // Commit statuses are about commits: an event that names none has nothing to update.
      if (COMMIT_STATUS_NOTIFIERS.has(type) && !event.metadata?.commit && !event.metadata?.revision && !event.metadata?.originRevision) {
        this.deliveries.inc({ type, result: 'skipped' });
        continue;
      }
      // A comment goes on a pull request: an event that names none has nowhere to go.
      if (CHANGE_REQUEST_NOTIFIERS.has(type) && !event.metadata?.[CHANGE_REQUEST_KEY]) {
        this.deliveries.inc({ type, result: 'skipped' });
        continue;
      }
      const rateKey = eventKey(`${ns}/${alert.metadata.name}`, event);
      if (!this.limiter.allow(rateKey, Date.now())) {
        this.deliveries.inc({ type, result: 'rate_limited' });
        continue;
      }
      this.enqueue({ alert, provider, event, rateKey });
    }
  }

  private enqueue(d: Delivery): void {
    if (this.pending >= (this.o.maxPending ?? 1_000)) {
      this.limiter.forget(d.rateKey);
      this.dropped.inc({ reason: 'queue_full' });
      // Logged on the first and then every hundredth, so a long outage does not flood the log.
      if (this.queueFull++ % 100 === 0) {
        this.o.log.error('notifications dropped: too many waiting', { alert: `${d.alert.metadata.namespace}/${d.alert.metadata.name}`, provider: d.provider.metadata.name, waiting: this.pending, dropped: this.queueFull });
      }
      return;
    }
    const o = d.event.involvedObject;
    const lane = `${d.provider.metadata.uid ?? d.provider.metadata.name}/${o.kind}/${o.namespace}/${o.name}`;
    this.pending++;
    const q = this.lanes.get(lane);
    if (q) return void q.push(d);
    this.lanes.set(lane, [d]);
    void this.drain(lane);
  }

  private async drain(lane: string): Promise<void> {
    const q = this.lanes.get(lane)!;
    while (q.length) {
      const d = q.shift()!;
      try {
        await this.deliver(d);
      } finally {
        this.pending--;
      }
    }
    this.lanes.delete(lane);
    if (!this.pending) for (const r of this.idle.splice(0)) r();
  }

  private async deliver(d: Delivery): Promise<void> {
    const alertName = `${d.alert.metadata.namespace}/${d.alert.metadata.name}`;
    const o = d.event.involvedObject;
    const what = `${o.kind}/${o.namespace}/${o.name}`;
    let secrets: string[] = [];
    const fail = (message: string, reason: string) => {
      const safe = mask(message, secrets);
      this.limiter.forget(d.rateKey);
      this.dropped.inc({ reason });
      this.o.log.error('notification not sent', { alert: alertName, provider: d.provider.metadata.name, object: what, error: safe });
      this.o.warn?.(d.alert, 'NotificationDispatchFailed', `failed to send notification for ${what}: ${safe}`);
      if (reason === 'failed') this.setDeliveryState(d.provider, safe);
    };
    // Each step is retried on its own: a request of a fixed list, or a whole multi-request delivery.
    let steps: Array<() => Promise<unknown>>;
    try {
      const resolved = await resolveProvider(d.provider, this.o.readSecret);
      secrets = resolved.secrets;
      if (COMMIT_STATUS_NOTIFIERS.has(d.provider.spec.type)) resolved.settings.commitStatusKey = commitStatusKeyFor(d.provider, d.alert, d.event);
      const notifier = notifiers[d.provider.spec.type]!;
      const { settings, transport } = resolved;
      settings.alert = { name: d.alert.metadata.name!, namespace: d.alert.metadata.namespace!, uid: d.alert.metadata.uid ?? '' };
      settings.lookup = this.o.lookup;
      steps = notifier.deliver
        ? [() => notifier.deliver!(d.event, settings, { exchange: (req) => exchange(req, transport), transport })]
        : notifier.build!(d.event, settings).map((req) => () => send(req, transport));
    } catch (err) {
      return fail(err instanceof ProviderProblem ? `Provider ${d.provider.metadata.name}: ${err.message}` : (err as Error).message, 'invalid');
    }
    const retries = this.o.retries ?? 5;
    for (const step of steps) {
      for (let attempt = 0; ; attempt++) {
        try {
          await step();
          break;
        } catch (err) {
          const e = err as DeliveryError;
          if (this.stopped || !(e instanceof DeliveryError) || !e.retryable || attempt >= retries) {
            return fail(`${e.message}${attempt ? ` (after ${attempt + 1} attempts)` : ''}`, 'failed');
          }
          await new Promise((r) => setTimeout(r, Math.min(30_000, (this.o.retryBaseMs ?? 1_000) * 2 ** attempt)));
        }
      }
    }
    this.deliveries.inc({ type: d.provider.spec.type, result: 'sent' });
    this.setDeliveryState(d.provider, undefined);
    this.o.log.debug('notification sent', { alert: alertName, provider: d.provider.metadata.name, object: what, reason: d.event.reason });
  }

  /** Why the Provider's last delivery failed (masked), or undefined when it worked or none was tried. */
  lastFailure(provider: Provider): string | undefined {
    return this.failing.get(providerKey(provider));
  }

  private setDeliveryState(provider: Provider, failure: string | undefined): void {
    const key = providerKey(provider);
    const was = this.failing.get(key);
    if (failure === undefined) this.failing.delete(key);
    else this.failing.set(key, failure);
    if ((was === undefined) !== (failure === undefined)) this.o.onDeliveryState?.(provider);
  }

  /** Resolves when nothing is waiting or being sent (or after `timeoutMs`). */
  async flush(timeoutMs = 10_000): Promise<void> {
    if (!this.pending) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([new Promise<void>((r) => this.idle.push(r)), new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
  }

  async stop(timeoutMs = 5_000): Promise<void> {
    await this.flush(timeoutMs);
    this.stopped = true;
  }
}

function providerKey(p: Provider): string {
  return p.metadata.uid ?? `${p.metadata.namespace}/${p.metadata.name}`;
}
