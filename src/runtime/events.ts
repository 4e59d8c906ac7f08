// Kubernetes events as the controllers record them, sent in the background.
import { randomBytes } from 'node:crypto';
import type { KubeClient } from '../kube/client.ts';
import type { KubeObject } from '../kube/object.ts';
import type { Logger } from '../util/log.ts';
import { fluxEvent, type FluxEvent } from './eventsink.ts';

/** Where events also go in Flux's format: the --events-addr sink, the Alerts' dispatcher. */
export interface FluxEventSink {
  send(event: FluxEvent): void;
}

export type EventType = 'Normal' | 'Warning';

const AGGREGATE_WINDOW_MS = 10 * 60_000;
const MAX_MESSAGE = 1024;
/** Events in flight at once: they yield to the applies and status writes they report on. */
const SEND_CONCURRENCY = 2;
/** Beyond this many waiting, new events are dropped (and counted), as client-go's broadcaster does. */
const MAX_PENDING = 10_000;

interface Pending {
  obj: KubeObject;
  type: EventType;
  reason: string;
  message: string;
  annotations?: Record<string, string>;
  at: Date;
}

/**
 * Records core/v1 Events about objects, as client-go's recorder does: a
 * repeat of the same reason and message on the same object within ten
 * minutes bumps the count of the existing Event instead of making a new one.
 * Failures to record never fail a reconcile.
 *
 * Like client-go's broadcaster, recording only queues the event: a few are
 * sent at a time in the background, so that a rollout of a thousand
 * Kustomizations does not wait on two thousand event writes.
 */
export class EventRecorder {
  private readonly recent = new Map<string, { name: string; namespace: string; count: number; at: number }>();
  private readonly pending: Pending[] = [];
  private sending = 0;
  private dropped = 0;
  private idle: Array<() => void> = [];

  constructor(
    private readonly client: KubeClient,
    private readonly component: string,
    private readonly log: Logger,
    /** `sink`: where every event also goes, in Flux's format (--events-addr, the Alerts). */
    private readonly opts: { sink?: FluxEventSink; instance?: string } = {},
  ) {}

  private get instance(): string {
    return this.opts.instance ?? process.env.HOSTNAME ?? 'sluice';
  }

  /** Queues an event; resolves at once. */
  async record(obj: KubeObject, type: EventType, reason: string, message: string, annotations?: Record<string, string>): Promise<void> {
    this.opts.sink?.send(fluxEvent(obj, type, reason, message, annotations, this.component, this.instance, new Date()));
    if (this.pending.length >= MAX_PENDING) {
      if (this.dropped++ % 1000 === 0) this.log.error('events dropped: too many waiting', { dropped: this.dropped });
      return;
    }
    this.pending.push({ obj, type, reason, message, annotations, at: new Date() });
    this.pump();
  }

  /** Resolves when every queued event was sent (or `timeoutMs` passed). */
  async flush(timeoutMs = 5_000): Promise<void> {
    if (!this.pending.length && !this.sending) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise<void>((r) => this.idle.push(r)),
      new Promise<void>((r) => (timer = setTimeout(r, timeoutMs))),
    ]);
    clearTimeout(timer);
  }

  private pump(): void {
    while (this.sending < SEND_CONCURRENCY && this.pending.length) {
      const e = this.pending.shift()!;
      this.sending++;
      void this.send(e).finally(() => {
        this.sending--;
        this.pump();
        if (!this.sending && !this.pending.length) for (const r of this.idle.splice(0)) r();
      });
    }
  }

  private async send({ obj, type, reason, message, annotations, at: now }: Pending): Promise<void> {
    const namespace = obj.metadata.namespace ?? 'default';
    const msg = message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE - 3)}...` : message;
    const key = `${obj.metadata.uid}/${type}/${reason}/${msg}`;
    const ts = now.toISOString().replace(/\.\d{3}Z$/, 'Z');
    const seen = this.recent.get(key);
    try {
      if (seen && now.getTime() - seen.at < AGGREGATE_WINDOW_MS) {
        seen.count++;
        seen.at = now.getTime();
        await this.client.request({
          method: 'PATCH',
          path: `/api/v1/namespaces/${seen.namespace}/events/${seen.name}`,
          contentType: 'application/merge-patch+json',
          body: { count: seen.count, lastTimestamp: ts },
        });
        return;
      }
      const name = `${obj.metadata.name}.${randomBytes(8).toString('hex')}`;
      await this.client.request({
        method: 'POST',
        path: `/api/v1/namespaces/${namespace}/events`,
        body: {
          apiVersion: 'v1',
          kind: 'Event',
          metadata: { name, namespace, annotations },
          involvedObject: {
            apiVersion: obj.apiVersion,
            kind: obj.kind,
            name: obj.metadata.name,
            namespace: obj.metadata.namespace,
            uid: obj.metadata.uid,
            resourceVersion: obj.metadata.resourceVersion,
          },
          type,
          reason,
          message: msg,
          source: { component: this.component },
          reportingComponent: this.component,
          reportingInstance: this.instance,
          firstTimestamp: ts,
          lastTimestamp: ts,
          count: 1,
        },
      });
      this.recent.set(key, { name, namespace, count: 1, at: now.getTime() });
      if (this.recent.size > 5000) this.prune(now.getTime());
    } catch (err) {
      this.log.error('could not record event', { reason, error: String(err) });
    }
  }

  private prune(now: number): void {
    for (const [k, v] of this.recent) if (now - v.at > AGGREGATE_WINDOW_MS) this.recent.delete(k);
  }
}
