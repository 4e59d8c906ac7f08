// Leader election on a Lease, so two replicas never reconcile at once.
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { KubeClient } from '../kube/client.ts';
import { isConflict, isNotFound } from '../kube/errors.ts';

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  identity?: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  /** Give the lease up on stop, so a replica takes over at once (default true; Flux's --leader-election-release-on-cancel). */
  releaseOnCancel?: boolean;
  onStartedLeading: () => void;
  /** Leadership was lost (not released): the process must stop acting at once. */
  onStoppedLeading: () => void;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
}

interface Lease {
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

/**
 * Leader election on a coordination.k8s.io Lease, as client-go does it: the
 * holder renews every retry period; others take over once they have seen no
 * renewal for a whole lease duration (measured on their own clock, so clock
 * skew between replicas does not matter); the leader releases the lease on
 * a clean shutdown so a successor need not wait.
 */
export class LeaderElector {
  readonly identity: string;
  private readonly path: string;
  private readonly leaseMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryMs: number;
  private observed: { record: string; at: number } | undefined;
  private leading = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private lastRenew = 0;
  /** The acquire/renew round in flight, awaited by stop() so a release is not overwritten by it. */
  private inflight: Promise<void> | undefined;

  constructor(
    private readonly client: KubeClient,
    private readonly opts: LeaderElectionOptions,
  ) {
    this.identity = opts.identity ?? `${hostname()}_${randomBytes(4).toString('hex')}`;
    this.path = `/apis/coordination.k8s.io/v1/namespaces/${opts.namespace}/leases/${opts.name}`;
    this.leaseMs = opts.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = opts.renewDeadlineMs ?? 10_000;
    this.retryMs = opts.retryPeriodMs ?? 2_000;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    this.runTick();
  }

  /** Stops, and releases the lease if held so a successor can take over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.inflight;
    if (!this.leading) return;
    this.leading = false;
    if (this.opts.releaseOnCancel === false) return;
    try {
      const lease = await this.client.request<Lease>({ path: this.path });
      if (lease.spec.holderIdentity !== this.identity) return;
      lease.spec.holderIdentity = '';
      lease.spec.leaseDurationSeconds = 1;
      await this.client.request({ method: 'PUT', path: this.path, body: lease });
      this.opts.log?.('released leadership', { lease: this.opts.name });
    } catch (err) {
      this.opts.log?.('could not release the lease', { error: String(err) });
    }
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => this.runTick(), this.retryMs);
  }

  private runTick(): void {
    this.inflight = this.tick().finally(() => (this.inflight = undefined));
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    try {
      const ok = await this.tryAcquireOrRenew();
      if (ok) {
        this.lastRenew = Date.now();
        if (!this.leading) {
          this.leading = true;
          // Acquired while stopping: hold it only until stop() releases it, do not start acting.
          if (!this.stopped) {
            this.opts.log?.('became leader', { identity: this.identity, lease: this.opts.name });
            this.opts.onStartedLeading();
          }
        }
      } else if (this.leading) {
        this.lose('another replica holds the lease');
      }
    } catch (err) {
      this.opts.log?.('lease update failed', { error: String(err) });
      if (this.leading && Date.now() - this.lastRenew > this.renewDeadlineMs) {
        this.lose(`could not renew the lease for ${this.renewDeadlineMs / 1000} s`);
      }
    }
    this.schedule();
  }

  private lose(why: string): void {
    this.leading = false;
    this.opts.log?.('lost leadership', { reason: why });
    this.opts.onStoppedLeading();
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const now = new Date();
    // A Lease's times are MicroTime: the API server accepts exactly six fractional digits.
    const nowIso = now.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
    let lease: Lease;
    try {
      lease = await this.client.request<Lease>({ path: this.path });
    } catch (err) {
      if (!isNotFound(err)) throw err;
      await this.client.request({
        method: 'POST',
        path: this.path.replace(/\/[^/]+$/, ''),
        body: {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name: this.opts.name, namespace: this.opts.namespace },
          spec: {
            holderIdentity: this.identity,
            leaseDurationSeconds: Math.ceil(this.leaseMs / 1000),
            acquireTime: nowIso,
            renewTime: nowIso,
            leaseTransitions: 0,
          },
        },
      }).catch((e) => {
        if (isConflict(e)) return; // someone else created it first
        throw e;
      });
      return (await this.client.request<Lease>({ path: this.path })).spec.holderIdentity === this.identity;
    }
    const record = JSON.stringify(lease.spec);
    if (!this.observed || this.observed.record !== record) this.observed = { record, at: now.getTime() };
    const holder = lease.spec.holderIdentity ?? '';
    const duration = (lease.spec.leaseDurationSeconds ?? Math.ceil(this.leaseMs / 1000)) * 1000;
    const expired = this.observed.at + duration < now.getTime();
    if (holder && holder !== this.identity && !expired) return false;
    const takingOver = holder !== this.identity;
    lease.spec = {
      ...lease.spec,
      holderIdentity: this.identity,
      leaseDurationSeconds: Math.ceil(this.leaseMs / 1000),
      renewTime: nowIso,
      ...(takingOver ? { acquireTime: nowIso, leaseTransitions: (lease.spec.leaseTransitions ?? 0) + 1 } : {}),
    };
    try {
      await this.client.request({ method: 'PUT', path: this.path, body: lease });
    } catch (err) {
      if (isConflict(err)) return false; // another replica wrote first
      throw err;
    }
    return true;
  }
}
