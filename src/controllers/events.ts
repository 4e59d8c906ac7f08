import { randomBytes } from 'node:crypto';
import type { KubeClient } from '../kube/client.ts';
import type { KubeObject } from '../kube/object.ts';
import type { Logger } from '../util/log.ts';

export type EventType = 'Normal' | 'Warning';

const AGGREGATE_WINDOW_MS = 10 * 60_000;
const MAX_MESSAGE = 1024;

/**
 * Records core/v1 Events about objects, as client-go's recorder does: a
 * repeat of the same reason and message on the same object within ten
 * minutes bumps the count of the existing Event instead of making a new one.
 * Failures to record never fail a reconcile.
 */
export class EventRecorder {
  private readonly recent = new Map<string, { name: string; namespace: string; count: number; at: number }>();

  constructor(
    private readonly client: KubeClient,
    private readonly component: string,
    private readonly log: Logger,
    private readonly instance = process.env.HOSTNAME ?? 'sluice',
  ) {}

  async record(obj: KubeObject, type: EventType, reason: string, message: string, annotations?: Record<string, string>): Promise<void> {
    const namespace = obj.metadata.namespace ?? 'default';
    const msg = message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE - 3)}...` : message;
    const key = `${obj.metadata.uid}/${type}/${reason}/${msg}`;
    const now = new Date();
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
