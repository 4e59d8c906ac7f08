// src/apply: Sluice's server-side apply manager, cut as Flux's ssa package is
// (a file per verb: apply here, diff, prune, wait through health/), and the
// apply → prune → wait pipeline (pipeline.ts) the CLI and the Kustomization
// controller share.
import type { KubeClient } from '../kube/client.ts';
import { Discovery, resourcePath } from '../kube/discovery.ts';
import { KubeApiError, isNotFound } from '../kube/errors.ts';
import { findCondition, objectId, parseApiVersion, subject, type KubeObject } from '../kube/object.ts';
import { forceEnabled, reconcileDisabled, ssaPolicy } from './annotations.ts';
import type { ChangeSetEntry } from './changeset.ts';
import { appliedBy, immutableFields, isImmutableError, sameContent } from './compare.ts';
import { mapSettled } from '../util/pool.ts';
import { adoptIgnored, ignoredPaths } from './ignore.ts';
import { byStage } from './stages.ts';
import { DEFAULT_TAKEOVER_MANAGERS, needsTakeover, takeOver } from './takeover.ts';
import { validateSet, type Problem } from './validate.ts';
import type { ApplyOptions, Planned } from './types.ts';

export type { ApplyOptions, Planned } from './types.ts';

/** Apply refused or failed; `problems` names every object at fault. */
export class ApplyError extends Error {
  constructor(
    message: string,
    readonly problems: Problem[],
    readonly changeSet: ChangeSetEntry[] = [],
  ) {
    super(`${message}:\n${problems.map((p) => `  ${p.subject}: ${p.message}`).join('\n')}`);
    this.name = 'ApplyError';
  }
}

const APPLY_PATCH = 'application/apply-patch+yaml';
/** From this many objects of one resource in one namespace, a LIST beats GETs. */
const LIST_THRESHOLD = 8;

/**
 * Server-side apply of a set of objects, as Flux's ResourceManager does it:
 * validate everything first with a dry run, apply in stages (definitions,
 * classes, the rest), write only what changes, take over fields from Flux
 * and kubectl, and report one change-set entry per object.
 */
export class ResourceManager {
  readonly discovery: Discovery;

  constructor(
    readonly client: KubeClient,
    discovery?: Discovery,
  ) {
    this.discovery = discovery ?? new Discovery(client);
  }

  /** Applies `objects`; throws ApplyError before writing anything if any object is invalid. */
  async apply(objects: KubeObject[], opts: ApplyOptions = {}): Promise<ChangeSetEntry[]> {
    const plan = await this.plan(objects, opts);
    const entries: ChangeSetEntry[] = new Array(plan.length);
    const stages = byStage(plan.map((p) => ({ apiVersion: p.obj.apiVersion, kind: p.obj.kind, p })));
    for (const stage of stages) {
      const items = stage.map((s) => s.p);
      if (items.length === 0) continue;
      await this.resolveDeferred(items, opts, entries);
      const results = await mapSettled(items, opts.concurrency ?? 16, async (p) => {
        const entry = await this.execute(p, opts);
        entries[p.index] = entry;
        opts.onEntry?.(entry);
        return entry;
      });
      const failed = results
        .map((r, i) => (r.error ? { subject: subject(items[i]!.obj), message: errorText(r.error) } : undefined))
        .filter((x): x is Problem => !!x);
      if (failed.length) throw new ApplyError('apply failed', failed, entries.filter(Boolean));
      const crds = items.filter((p) => p.obj.kind === 'CustomResourceDefinition' && p.decision !== 'skip');
      if (crds.length) {
        await this.waitEstablished(crds, opts.crdTimeoutMs ?? 60_000);
        this.discovery.invalidate();
      }
    }
    return entries;
  }

  /**
   * Everything apply decides without writing: validation, live objects and
   * dry-run results. Used by apply and by diff.
   */
  async plan(objects: KubeObject[], opts: ApplyOptions = {}): Promise<Planned[]> {
    const { planned, problems } = await validateSet(objects, this.discovery, opts);
    if (problems.length) throw new ApplyError('invalid objects, nothing was applied', problems);
    await this.fetchLive(planned, opts);
    const results = await mapSettled(planned, opts.concurrency ?? 16, (p) => this.inspect(p, opts));
    const failures: Problem[] = [];
    results.forEach((r, i) => {
      if (r.error) failures.push({ subject: subject(planned[i]!.obj), message: errorText(r.error) });
    });
    if (failures.length) throw new ApplyError('validation failed, nothing was applied', failures);
    return planned;
  }

  /**
   * Reads the live objects: one LIST per resource and namespace where many
   * objects share one (a thousand GETs become a few LISTs), GETs otherwise.
   */
  private async fetchLive(planned: Planned[], opts: ApplyOptions): Promise<void> {
    const groups = new Map<string, Planned[]>();
    for (const p of planned) {
      if (!p.mapping) continue;
      const path = resourcePath(p.mapping, p.obj.metadata.namespace);
      groups.set(path, [...(groups.get(path) ?? []), p]);
    }
    if (opts.liveCache) {
      const cache = opts.liveCache;
      await mapSettled([...groups.entries()], opts.concurrency ?? 16, async ([path, items]) => {
        const { informer, release } = await cache.acquire(path);
        try {
          for (const p of items) {
            const o = informer.get(p.obj.metadata.namespace, p.obj.metadata.name!);
            p.live = o ? { ...o, apiVersion: p.obj.apiVersion, kind: p.obj.kind } : undefined;
            p.liveFetched = true;
          }
        } finally {
          release();
        }
      });
      return;
    }
    const lists = [...groups.entries()].filter(([, items]) => items.length >= LIST_THRESHOLD);
    await mapSettled(lists, opts.concurrency ?? 16, async ([path, items]) => {
      const live = new Map<string, KubeObject>();
      let cont: string | undefined;
      do {
        const page = await this.client.request<{ items: KubeObject[]; metadata: { continue?: string } }>({
          path,
          query: { limit: 500, continue: cont },
        });
        for (const o of page.items) live.set(o.metadata.name!, o);
        cont = page.metadata.continue || undefined;
      } while (cont);
      for (const p of items) {
        const o = live.get(p.obj.metadata.name!);
        // List items lack kind and apiVersion, which the comparison needs.
        p.live = o ? { ...o, apiVersion: p.obj.apiVersion, kind: p.obj.kind } : undefined;
        p.liveFetched = true;
      }
    });
  }

  /** Reads the live object and dry-runs the apply to decide what to do. */
  private async inspect(p: Planned, opts: ApplyOptions): Promise<void> {
    if (p.decision === 'deferred') return;
    const mapping = p.mapping!;
    const path = resourcePath(mapping, p.obj.metadata.namespace, p.obj.metadata.name);
    if (!p.liveFetched) p.live = await this.client.getOrUndefined<KubeObject>(path);
    if (reconcileDisabled(p.obj) || reconcileDisabled(p.live)) {
      p.decision = 'skip';
      p.reason = 'reconcile disabled';
      return;
    }
    const policy = ssaPolicy(p.obj);
    if (policy === 'Ignore') {
      p.decision = 'skip';
      p.reason = 'ssa: Ignore';
      return;
    }
    if (policy === 'IfNotPresent' && p.live) {
      p.decision = 'skip';
      p.reason = 'ssa: IfNotPresent, object exists';
      return;
    }
    this.keepIgnored(p, opts);
    if (opts.memo?.unchanged(p.obj, p.live, p.json)) {
      p.decision = 'unchanged';
      return;
    }
    try {
      p.merged = await this.serverApply(p, opts, true);
      // A controller may write between our read and the dry run (a new
      // Deployment gets its revision annotation), or a cache may lag: compare
      // like with like. A dry-run create has no resourceVersion.
      for (let i = 0; i < 3 && (p.merged.metadata.resourceVersion ?? '') !== (p.live?.metadata.resourceVersion ?? ''); i++) {
        p.live = await this.client.getOrUndefined<KubeObject>(path);
        this.keepIgnored(p, opts);
        p.merged = await this.serverApply(p, opts, true);
      }
    } catch (err) {
      if (isNotFound(err) && this.createsNamespace(err, p)) {
        p.decision = 'deferred';
        return;
      }
      if (betaFluxObject(p.obj) && err instanceof KubeApiError && /unknown field|field not declared in schema/i.test(err.serverMessage)) {
        throw new Error(`${err.serverMessage}: ${p.obj.apiVersion} fields that the current version does not have would be lost; \`sluice migrate -f PATH\` rewrites them to the current version`);
      }
      if (isImmutableError(err)) {
        if (opts.force || forceEnabled(p.obj)) {
          p.decision = 'recreate';
          p.reason = `immutable fields changed: ${immutableFields(err as KubeApiError)}`;
          return;
        }
        throw new Error(
          `immutable field changed (${immutableFields(err as KubeApiError)}); ` +
            `to delete and recreate the object, set the annotation kustomize.toolkit.fluxcd.io/force: Enabled on it or apply with force`,
        );
      }
      throw err;
    }
    const managers = opts.takeoverManagers ?? DEFAULT_TAKEOVER_MANAGERS;
    p.takeover = !!p.live && policy !== 'Merge' && needsTakeover(p.live, managers);
    if (!p.live) p.decision = 'create';
    else if (!p.takeover && sameContent(p.merged, p.live) && appliedBy(p.live, opts.fieldManager ?? 'sluice')) {
      p.decision = 'unchanged';
      opts.memo?.record(p.obj, p.live.metadata.resourceVersion, p.json);
    } else p.decision = 'apply';
  }

  /**
   * Ignore rules: the live values of ignored fields go into the object sent,
   * so the dry run sees no drift there and an apply keeps them. Not on
   * create: a new object gets what the source says, as in Flux.
   */
  private keepIgnored(p: Planned, opts: ApplyOptions): void {
    if (!opts.ignore?.length) return;
    p.built ??= p.obj;
    const adopted = p.live ? adoptIgnored(p.built, p.live, ignoredPaths(opts.ignore, p.built)) : undefined;
    const next = adopted ?? p.built;
    if (next === p.obj) return;
    p.obj = next;
    p.json = JSON.stringify(next);
  }

  /** A 404 for a namespace that this very set creates: validate after stage 0. */
  private createsNamespace(err: unknown, p: Planned): boolean {
    const details = (err as KubeApiError).body?.details;
    return details?.kind === 'namespaces' && details.name === p.obj.metadata.namespace && p.namespaceInSet === true;
  }

  private async resolveDeferred(items: Planned[], opts: ApplyOptions, entries: ChangeSetEntry[]): Promise<void> {
    const deferred = items.filter((p) => p.decision === 'deferred');
    if (!deferred.length) return;
    const problems: Problem[] = [];
    for (const p of deferred) {
      p.mapping ??= await this.discovery.mapping(p.obj.apiVersion, p.obj.kind);
      if (!p.mapping) problems.push({ subject: subject(p.obj), message: `no resource for ${p.obj.apiVersion} ${p.obj.kind} after its CRD was applied` });
    }
    if (!problems.length) {
      const results = await mapSettled(deferred, opts.concurrency ?? 16, async (p) => {
        p.decision = 'create';
        await this.inspect(p, opts);
      });
      results.forEach((r, i) => {
        if (r.error) problems.push({ subject: subject(deferred[i]!.obj), message: errorText(r.error) });
      });
    }
    if (problems.length) throw new ApplyError('validation failed', problems, entries.filter(Boolean));
  }

  private async execute(p: Planned, opts: ApplyOptions): Promise<ChangeSetEntry> {
    const base = {
      subject: subject(p.obj),
      id: objectId(p.obj),
      version: parseApiVersion(p.obj.apiVersion).version,
    };
    const manager = opts.fieldManager ?? 'sluice';
    switch (p.decision) {
      case 'skip':
        return { ...base, action: 'skipped', reason: p.reason };
      case 'unchanged':
        return { ...base, action: 'unchanged' };
      case 'recreate': {
        await this.deleteAndWait(p);
        const generation = await this.applyAndRemember(p, opts);
        return { ...base, action: 'recreated', reason: p.reason, ...(generation !== undefined ? { generation } : {}) };
      }
      case 'create': {
        const generation = await this.applyAndRemember(p, opts);
        return { ...base, action: 'created', ...(generation !== undefined ? { generation } : {}) };
      }
      case 'apply': {
        if (p.takeover && p.live) {
          const path = resourcePath(p.mapping!, p.obj.metadata.namespace, p.obj.metadata.name);
          await takeOver(this.client, path, p.live, opts.takeoverManagers ?? DEFAULT_TAKEOVER_MANAGERS, manager);
        }
        const generation = await this.applyAndRemember(p, opts);
        return { ...base, action: 'configured', ...(generation !== undefined ? { generation } : {}) };
      }
      case 'deferred':
        throw new Error('internal: deferred object reached execution');
    }
  }

  /** The real apply; the memo keeps the resourceVersion it produced. Returns the object's new generation. */
  private async applyAndRemember(p: Planned, opts: ApplyOptions): Promise<number | undefined> {
    const result = await this.serverApply(p, opts, false);
    opts.memo?.record(p.obj, result.metadata.resourceVersion, p.json);
    return result.metadata.generation;
  }

  private serverApply(p: Planned, opts: ApplyOptions, dryRun: boolean): Promise<KubeObject> {
    const path = resourcePath(p.mapping!, p.obj.metadata.namespace, p.obj.metadata.name);
    return this.client.request<KubeObject>({
      method: 'PATCH',
      path,
      query: {
        fieldManager: opts.fieldManager ?? 'sluice',
        force: 'true',
        ...(dryRun ? { dryRun: 'All' } : {}),
        // Sluice serves Flux's betas with the current schema: a field only a beta
        // had would be dropped without a word (a warning header at most) under
        // the server's default; refused instead, before anything is applied.
        ...(betaFluxObject(p.obj) ? { fieldValidation: 'Strict' } : {}),
      },
      body: p.obj,
      contentType: APPLY_PATCH,
    });
  }

  private async deleteAndWait(p: Planned, timeoutMs = 60_000): Promise<void> {
    const path = resourcePath(p.mapping!, p.obj.metadata.namespace, p.obj.metadata.name);
    try {
      await this.client.request({
        method: 'DELETE',
        path,
        body: { apiVersion: 'v1', kind: 'DeleteOptions', propagationPolicy: 'Foreground' },
      });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    const deadline = Date.now() + timeoutMs;
    while ((await this.client.getOrUndefined(path)) !== undefined) {
      if (Date.now() > deadline) throw new Error(`still being deleted after ${timeoutMs / 1000} s, cannot recreate`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  private async waitEstablished(crds: Planned[], timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (const p of crds) {
      const path = resourcePath(p.mapping!, undefined, p.obj.metadata.name);
      for (;;) {
        const crd = await this.client.getOrUndefined<KubeObject>(path);
        if (findCondition(crd, 'Established')?.status === 'True') break;
        if (Date.now() > deadline) {
          throw new ApplyError('CRDs not established', [
            { subject: subject(p.obj), message: `not Established after ${timeoutMs / 1000} s` },
          ]);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }
}

/** A Flux object written for a beta API version (kustomize.toolkit.fluxcd.io/v1beta2, helm.toolkit.fluxcd.io/v2beta1, ...). */
function betaFluxObject(obj: KubeObject): boolean {
  return /^[a-z]+\.toolkit\.fluxcd\.io\/v\d+(alpha|beta)\d+$/.test(obj.apiVersion ?? '');
}

export function errorText(err: unknown): string {
  if (err instanceof KubeApiError) return err.serverMessage;
  return err instanceof Error ? err.message : String(err);
}
