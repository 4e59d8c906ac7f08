// Events out of the process (Flux's --events-addr): every event a controller
// records is also POSTed, in the format of Flux's event API
// (event.toolkit.fluxcd.io, what notification-controller's receiver reads),
// to one address. Sent in the background with retries; never blocks or fails
// a reconcile.
import type { KubeObject } from '../kube/object.ts';
import type { Logger } from '../util/log.ts';

/** Flux's event (fluxcd/pkg/apis/event v1beta1), as JSON. */
export interface FluxEvent {
  involvedObject: { kind: string; namespace?: string; name: string; uid?: string; apiVersion?: string; resourceVersion?: string };
  severity: 'info' | 'error';
  timestamp: string;
  message: string;
  reason: string;
  metadata?: Record<string, string>;
  reportingController: string;
  reportingInstance?: string;
}

/** Object annotations Flux copies into every event's metadata (e.g. a commit-status token). */
const EVENT_ANNOTATION_PREFIX = 'event.toolkit.fluxcd.io/';

/** The Flux event for a Kubernetes event about `obj`. */
export function fluxEvent(
  obj: KubeObject,
  type: 'Normal' | 'Warning',
  reason: string,
  message: string,
  annotations: Record<string, string> | undefined,
  controller: string,
  instance: string,
  at: Date,
): FluxEvent {
  const metadata: Record<string, string> = { ...annotations };
  for (const [k, v] of Object.entries(obj.metadata.annotations ?? {})) if (k.startsWith(EVENT_ANNOTATION_PREFIX)) metadata[k] = v;
  return {
    involvedObject: {
      kind: obj.kind!,
      namespace: obj.metadata.namespace,
      name: obj.metadata.name!,
      uid: obj.metadata.uid,
      apiVersion: obj.apiVersion,
      resourceVersion: obj.metadata.resourceVersion,
    },
    severity: type === 'Warning' ? 'error' : 'info',
    timestamp: at.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    message,
    reason,
    ...(Object.keys(metadata).length ? { metadata } : {}),
    reportingController: controller,
    reportingInstance: instance,
  };
}

export interface EventSinkOptions {
  /** The receiver's URL (Flux's --events-addr), e.g. http://notification-controller.flux-system.svc/ */
  address: string;
  log: Logger;
  /** Retries after the first attempt (default 4, as Flux's retrying client). */
  retries?: number;
  /** First retry delay, doubled per retry up to 30 s (default 1 s). */
  retryBaseMs?: number;
  /** Per-request timeout (default 5 s). */
  timeoutMs?: number;
  /** Events waiting beyond this are dropped and counted (default 1,000). */
  maxPending?: number;
}

/**
 * Posts events to one receiver, one at a time in arrival order. A connection
 * error, a timeout or a 5xx answer is retried with backoff; 429 means the
 * receiver already has the event (Flux's receiver answers so to duplicates)
 * and other 4xx answers are not retried. A bounded queue: when the receiver
 * is down for long, the oldest events wait and new ones beyond the bound are
 * dropped, counted, and logged once per hundred.
 */
export class EventSink {
  private readonly queue: FluxEvent[] = [];
  private running = false;
  private idle: Array<() => void> = [];
  dropped = 0;
  delivered = 0;

  constructor(private readonly o: EventSinkOptions) {}

  send(event: FluxEvent): void {
    if (this.queue.length >= (this.o.maxPending ?? 1_000)) {
      if (this.dropped++ % 100 === 0) this.o.log.error('events to the receiver dropped: too many waiting', { address: this.o.address, dropped: this.dropped });
      return;
    }
    this.queue.push(event);
    if (!this.running) void this.drain();
  }

  /** Resolves when every queued event was delivered or given up (or `timeoutMs` passed). */
  async flush(timeoutMs = 10_000): Promise<void> {
    if (!this.running) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([new Promise<void>((r) => this.idle.push(r)), new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
  }

  private async drain(): Promise<void> {
    this.running = true;
    while (this.queue.length) {
      const event = this.queue.shift()!;
      if (await this.post(event)) this.delivered++;
    }
    this.running = false;
    for (const r of this.idle.splice(0)) r();
  }

  private async post(event: FluxEvent): Promise<boolean> {
    const retries = this.o.retries ?? 4;
    const body = JSON.stringify(event);
    let last = '';
    for (let attempt = 0; attempt <= retries; attempt++) {
      if (attempt) await new Promise((r) => setTimeout(r, Math.min(30_000, (this.o.retryBaseMs ?? 1_000) * 2 ** (attempt - 1))));
      try {
        const res = await fetch(this.o.address, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
          signal: AbortSignal.timeout(this.o.timeoutMs ?? 5_000),
        });
        await res.arrayBuffer().catch(() => undefined);
        if (res.ok || res.status === 429) return res.ok;
        last = `HTTP ${res.status}`;
        if (res.status < 500) break;
      } catch (err) {
        last = (err as Error).message;
      }
    }
    this.o.log.error('could not send the event to the receiver', {
      address: this.o.address,
      object: `${event.involvedObject.kind}/${event.involvedObject.namespace}/${event.involvedObject.name}`,
      reason: event.reason,
      error: last,
    });
    return false;
  }
}
