// The Prometheus metrics every controller records (Flux's names).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The operator's Prometheus metrics, in a registry of its own. */
export class Metrics {
  readonly registry = new Registry();
  readonly reconcileDuration: Histogram<'kind' | 'result'>;
  readonly reconcileTotal: Counter<'kind' | 'result'>;
  readonly queueDepth: Gauge<'kind'>;
  readonly condition: Gauge<'kind' | 'name' | 'namespace' | 'type' | 'status'>;
  readonly suspended: Gauge<'kind' | 'name' | 'namespace'>;
  readonly buildCache: Counter<'kind' | 'result'>;
  /** The condition status last recorded per object and type: an unchanged one is not set again. */
  private readonly recorded = new Map<string, string>();

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'sluice_' });
    this.reconcileDuration = new Histogram({
      name: 'sluice_reconcile_duration_seconds',
      help: 'Time a reconcile took, per kind and result.',
      labelNames: ['kind', 'result'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers: [this.registry],
    });
    this.reconcileTotal = new Counter({
      name: 'sluice_reconcile_total',
      help: 'Reconciles run, per kind and result (success, error).',
      labelNames: ['kind', 'result'],
      registers: [this.registry],
    });
    this.queueDepth = new Gauge({
      name: 'sluice_workqueue_depth',
      help: 'Keys waiting in the work queue, per kind.',
      labelNames: ['kind'],
      registers: [this.registry],
    });
    this.condition = new Gauge({
      name: 'sluice_reconcile_condition',
      help: 'Condition status of each object: 1 for the status it has, 0 for the others.',
      labelNames: ['kind', 'name', 'namespace', 'type', 'status'],
      registers: [this.registry],
    });
    this.suspended = new Gauge({
      name: 'sluice_suspend_status',
      help: 'Whether an object is suspended (1) or not (0).',
      labelNames: ['kind', 'name', 'namespace'],
      registers: [this.registry],
    });
    this.buildCache = new Counter({
      name: 'sluice_build_cache_total',
      help: 'Builds per kind: hit (the last build of the same inputs reused), miss (built), uncacheable (built; reads Secrets or ConfigMaps).',
      labelNames: ['kind', 'result'],
      registers: [this.registry],
    });
  }

  /** Records an object's Ready condition as Flux's gotk_reconcile_condition does. */
  recordCondition(kind: string, namespace: string, name: string, type: string, status: string | undefined): void {
    const key = `${kind}/${namespace}/${name}/${type}`;
    const current = status ?? 'Unknown';
    if (this.recorded.get(key) === current) return;
    this.recorded.set(key, current);
    for (const s of ['True', 'False', 'Unknown', 'Deleted']) {
      this.condition.set({ kind, name, namespace, type, status: s }, s === current ? 1 : 0);
    }
  }

  forget(kind: string, namespace: string, name: string): void {
    for (const s of ['True', 'False', 'Unknown']) this.condition.remove({ kind, name, namespace, type: 'Ready', status: s });
    this.condition.set({ kind, name, namespace, type: 'Ready', status: 'Deleted' }, 1);
    this.recorded.delete(`${kind}/${namespace}/${name}/Ready`);
    this.suspended.remove({ kind, name, namespace });
  }
}
