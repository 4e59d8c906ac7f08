// The GitRepository reconcile core: the object and its dependencies (Secrets,
// included artifacts, the mirror cache, storage) in; the Flux-shaped status,
// the events and the outcome out. Includes, signature verification and the
// failure translations are in includes.ts, verification.ts and failure.ts.
import { lstat, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ArtifactContentError, DEFAULT_LIMITS, pruneTree, safeJoin, SKIPPED_METADATA, writeTarball, type ArtifactLimits, type SkippedEntry, type TarballResult } from '../artifact.ts';
import { Conditions, parseDuration, rfc3339 } from '../../runtime/conditions.ts';
import { prepareGitAuth, proxyFromSecret, type GitAuth, type SecretData } from './auth.ts';
import { scrubSecrets } from './errors.ts';
import { conciseFsError, getSecretOrFail, gitFailure, ReconcileError, secretValues } from './failure.ts';
import { contentConfigChanged, copyIncludes, fetchIncludes, includedArtifactRecord, includeSetDiffers } from './includes.ts';
import { parseGitUrl, type GitUrl } from './url.ts';
import { verifyRevision } from './verification.ts';
import { SourceIgnore, type CheckoutRules } from '../ignore.ts';
import { buildIncremental, prepareIncremental, type ArtifactRecipe, type IncrementalBuild } from './incremental.ts';
import { DEFAULT_BRANCH, type ResolvedRevision } from './mirror.ts';
import { commitMetadata, type CommitInfo } from './commit.ts';
import {
  ConditionType as C,
  GITREPOSITORY_GROUP,
  GITREPOSITORY_KIND,
  RECONCILE_REQUEST_ANNOTATION,
  Reason,
  type Artifact,
  type GitRepository,
  type GitRepositoryStatus,
  type SourceEvent,
} from './types.ts';

export type { IncludedArtifactRef, ReconcileDeps } from './deps.ts';
import type { ReconcileDeps } from './deps.ts';

export type ReconcileOutcome =
  | 'suspended'
  | 'unchanged' // remote revision and content config as before: nothing built (nor fetched, unless the reconcile was requested)
  | 'stored' // an artifact was (re)built and stored
  | 'up-to-date' // fetched and checked (e.g. re-verified) but the artifact did not change
  | 'failed' // transient failure: retry with backoff
  | 'waiting' // an include is not ready
  | 'stalled'; // needs a spec change

export interface ReconcileResult {
  status: GitRepositoryStatus;
  events: SourceEvent[];
  /** The unpacked tree of the current artifact (also after a failure, when one exists). */
  artifactDir?: string;
  outcome: ReconcileOutcome;
  /** spec.interval in ms: when to poll again after success. */
  requeueAfterMs?: number;
  /** Whether objects were fetched from the remote. */
  fetched: boolean;
  /** Milliseconds spent per stage (resolve, fetch, checkout, archive, store...), for debug logs. */
  timings: Record<string, number>;
  /**
   * How a new artifact was built: from a checkout ('full'), or from the
   * previous artifact and git's diff ('incremental'; 'incremental-linked'
   * when its tree had to be copied on the spot).
   */
  build?: 'full' | 'incremental' | 'incremental-linked';
  /** Why an artifact was not built incrementally, when that was tried. */
  buildNote?: string;
}

const FAIL_CONDITIONS = [C.FetchFailed, C.IncludeUnavailable, C.StorageOperationFailed];
/** Order in which abnormal conditions give Ready its reason (Flux's summarize order). */
const SUMMARY_ORDER = [
  C.StorageOperationFailed,
  C.FetchFailed,
  C.IncludeUnavailable,
  C.ArtifactOutdated,
  C.ArtifactInStorage,
  C.SourceVerified,
  C.Stalled,
  C.Reconciling,
];
const NEGATIVE = new Set<string>([
  C.StorageOperationFailed,
  C.FetchFailed,
  C.IncludeUnavailable,
  C.ArtifactOutdated,
  C.Stalled,
  C.Reconciling,
]);

/**
 * Reconciles a GitRepository once: resolves the reference on the remote,
 * fetches into the mirror cache when it moved, checks out, verifies, applies
 * includes and ignore rules, stores a content-addressed artifact, and returns
 * the Flux-shaped status and the events to record. Talks to no API server.
 */
export async function reconcileGitRepository(obj: GitRepository, deps: ReconcileDeps): Promise<ReconcileResult> {
  const clock = deps.clock ?? (() => new Date());
  const now = clock();
  const nowStr = rfc3339(now);
  const namespace = obj.metadata.namespace ?? 'default';
  // A stored object always has a name (generateName is resolved by the API server).
  const name = obj.metadata.name!;
  const generation = obj.metadata.generation ?? 0;
  const spec = obj.spec;
  const prev = obj.status ?? {};
  const storage = deps.storage;
  const limits: ArtifactLimits = { ...DEFAULT_LIMITS, ...(deps.limits ?? {}) };
  let requeueAfterMs: number | undefined;
  try {
    requeueAfterMs = parseDuration(spec.interval);
  } catch {
    requeueAfterMs = undefined;
  }

  if (spec.suspend) {
    const st = structuredClone(prev);
    const dir = st.artifact && (await storage.exists(st.artifact)) ? storage.treeDir(st.artifact) : undefined;
    return { status: st, events: [], artifactDir: dir, outcome: 'suspended', fetched: false, timings: {} };
  }

  const status: GitRepositoryStatus = structuredClone(prev);
  const conds = new Conditions(status.conditions, generation, nowStr);
  const events: SourceEvent[] = [];
  const hadFailure = FAIL_CONDITIONS.some((t) => conds.isTrue(t));
  const prevDigest = prev.artifact?.digest;
  const observedGeneration = prev.observedGeneration ?? -1;
  let progress =
    generation !== observedGeneration
      ? `processing object: new generation ${observedGeneration} -> ${generation}`
      : 'reconciliation in progress';

  let auth: GitAuth | undefined;
  let tmp: string | undefined;
  let fetched = false;
  let outcome: ReconcileOutcome = 'up-to-date';
  let secrets: string[] = [];
  let commitSubject: string | undefined;
  let commit: CommitInfo | undefined;
  let build: ReconcileResult['build'];
  let buildNote: string | undefined;
  const timings: Record<string, number> = {};
  let lap = performance.now();
  const mark = (stage: string) => {
    const t = performance.now();
    timings[stage] = Math.round((timings[stage] ?? 0) + t - lap);
    lap = t;
  };

  try {
    // --- storage: is the advertised artifact still there and intact?
    if (status.artifact) {
      const present = await storage.exists(status.artifact);
      const intact = present && (deps.verifyStoredDigest === false || (await storage.verify(status.artifact)));
      if (!intact) {
        if (present) {
          events.push({
            type: 'Warning',
            reason: 'ArtifactVerificationFailed',
            message: `failed to verify integrity of artifact: computed digest doesn't match '${status.artifact.digest}'`,
          });
          await rm(storage.localPath(status.artifact.path), { force: true });
          await rm(storage.treeDir(status.artifact), { recursive: true, force: true });
        }
        status.artifact = undefined;
        conds.delete(C.ArtifactInStorage);
        progress = 'building artifact: disappeared from storage';
      } else {
        status.artifact.url = storage.urlFor(status.artifact.path);
      }
    } else {
      conds.delete(C.ArtifactInStorage);
      progress = 'building artifact';
    }
    await storage
      .garbageCollect(GITREPOSITORY_KIND, namespace, name, status.artifact ? [status.artifact.path] : [])
      .catch(() => []);
    await storage.pruneTemp().catch(() => {});
    mark('storage-check');

    // A failed verification is recomputed; a successful one stays until then.
    if (conds.isFalse(C.SourceVerified)) conds.delete(C.SourceVerified);

    // --- configuration
    let url: GitUrl;
    try {
      url = parseGitUrl(spec.url);
    } catch (err) {
      throw new ReconcileError(C.FetchFailed, Reason.URLInvalid, (err as Error).message, 'stalling');
    }
    if (spec.provider && spec.provider !== 'generic') {
      throw new ReconcileError(
        C.FetchFailed,
        Reason.InvalidProviderConfiguration,
        `provider '${spec.provider}' is not supported: only 'generic' (secretRef) authentication is`,
        'stalling',
      );
    }
    let timeoutMs: number;
    try {
      timeoutMs = parseDuration(spec.timeout ?? '60s');
    } catch (err) {
      throw new ReconcileError(C.FetchFailed, Reason.GitOperationFailed, `invalid timeout: ${(err as Error).message}`, 'stalling');
    }

    let secretData: SecretData | undefined;
    if (spec.secretRef?.name) {
      secretData = await getSecretOrFail(deps, namespace, spec.secretRef.name, C.FetchFailed, Reason.AuthenticationFailed);
      secrets = secretValues(secretData);
    }
    let proxy;
    if (spec.proxySecretRef?.name) {
      const proxyData = await getSecretOrFail(deps, namespace, spec.proxySecretRef.name, C.FetchFailed, Reason.AuthenticationFailed);
      secrets.push(...secretValues(proxyData));
      try {
        proxy = proxyFromSecret(proxyData);
      } catch (err) {
        throw new ReconcileError(C.FetchFailed, Reason.AuthenticationFailed, `failed to configure proxy options: ${(err as Error).message}`);
      }
    }
    try {
      auth = await prepareGitAuth(url, secretData, { proxy, tmpRoot: deps.secretsTmpDir });
      secrets.push(...auth.secrets);
    } catch (err) {
      throw new ReconcileError(
        C.FetchFailed,
        Reason.AuthenticationFailed,
        `failed to configure authentication options: ${(err as Error).message}`,
      );
    }
    const gitOpts = { auth, timeoutMs };
    mark('config');

    // --- includes: are they all available?
    const includes = await fetchIncludes(deps, namespace, spec.include ?? []);
    conds.delete(C.IncludeUnavailable);
    const includeArtifacts = includes.map((i) => includedArtifactRecord(i, nowStr));
    const includesChanged = includeSetDiffers(includeArtifacts, status.includedArtifacts ?? []);
    if (includesChanged && (spec.include?.length || status.includedArtifacts?.length)) {
      progress = 'building artifact: included artifacts differ from last observed includes';
    }
    conds.delete(C.ArtifactOutdated);

    // --- resolve the reference on the remote (ls-remote only). A reconcile
    // that was asked for (a webhook, `flux reconcile`) of a branch fetches
    // straight away instead: a new commit is what it is usually about.
    let rev: ResolvedRevision | undefined;
    let prefetched = false;
    const requested = obj.metadata.annotations?.[RECONCILE_REQUEST_ANNOTATION];
    const branchOnly = !spec.ref || (!spec.ref.commit && !spec.ref.name && !spec.ref.semver && !spec.ref.tag);
    if (requested !== undefined && requested !== prev.lastHandledReconcileAt && branchOnly && status.artifact) {
      try {
        rev = await deps.mirrors.fetchBranch(url, spec.ref?.branch || DEFAULT_BRANCH, gitOpts);
        prefetched = fetched = true;
      } catch {
        // The usual way below says what is wrong.
      }
    }
    try {
      rev ??= await deps.mirrors.resolve(url, spec.ref, gitOpts);
    } catch (err) {
      throw gitFailure(err);
    }
    mark('resolve');

    const configChanged = contentConfigChanged(spec, status, includeArtifacts);
    if (status.artifact && status.artifact.revision === rev.revision && !configChanged) {
      // Nothing moved: no fetch, no checkout, no build.
      conds.delete(C.FetchFailed);
      conds.set(C.ArtifactInStorage, 'True', Reason.Succeeded, `stored artifact for revision '${rev.revision}'`);
      outcome = 'unchanged';
    } else {
      // --- fetch what the ref needs, then check out
      try {
        if (!prefetched) fetched = await deps.mirrors.sync(url, rev, gitOpts);
      } catch (err) {
        throw gitFailure(err);
      }
      mark('fetch');
      tmp = await storage.tempDir(`gitrepository-${namespace}-${name}`);
      const tree = join(tmp, 'tree');
      const sparse = spec.sparseCheckout?.map((d) => d.replace(/^\.\//, ''));
      const checkout = async () => {
        try {
          for (const d of sparse ?? []) safeJoin(tree, d, 'sparse checkout dir');
        } catch (err) {
          throw new ReconcileError(C.FetchFailed, Reason.GitOperationFailed, `failed to sparse checkout directories : ${(err as Error).message}`);
        }
        await rm(tree, { recursive: true, force: true });
        try {
          await deps.mirrors.checkout(url, rev.commit, tree, {
            ...gitOpts,
            sparseCheckout: sparse,
            recurseSubmodules: spec.recurseSubmodules ?? false,
            gitDir: join(tmp!, 'git'),
          });
        } catch (err) {
          throw gitFailure(err);
        }
        for (const d of sparse ?? []) {
          try {
            await lstat(safeJoin(tree, d, 'sparse checkout dir'));
          } catch {
            throw new ReconcileError(
              C.FetchFailed,
              Reason.GitOperationFailed,
              `failed to sparse checkout directories : sparse checkout dir '${d}' does not exist in repository`,
            );
          }
        }
        mark('checkout');
      };

      // A plain source (no include, sparse checkout or submodules) whose
      // previous artifact says how it was built starts from that artifact:
      // git tells what changed, and nothing else is checked out or read.
      const plain = !sparse?.length && !spec.recurseSubmodules && !spec.include?.length;
      let incremental: IncrementalBuild | undefined;
      if (plain && !configChanged && status.artifact && status.artifact.revision !== rev.revision) {
        const recipe = await storage.recipe<ArtifactRecipe>(status.artifact);
        const prepared = recipe
          ? await prepareIncremental(deps.mirrors, url, recipe, rev.commit, spec.ignore, limits).catch((err: Error) => ({ fallback: err.message }))
          : { fallback: 'the previous artifact has no recipe' };
        if ('fallback' in prepared) buildNote = prepared.fallback;
        else incremental = prepared;
        mark('diff');
      }
      if (incremental) {
        commit = incremental.commit;
      } else {
        await checkout();
        commit = await deps.mirrors.commitInfo(url, rev.commit);
      }
      commitSubject = commit.subject;
      conds.delete(C.FetchFailed);

      // --- signatures
      await verifyRevision(deps, obj, namespace, url, rev, status, conds);

      if (status.artifact?.revision !== rev.revision) {
        const message = `new upstream revision '${rev.revision}'`;
        if (status.artifact) conds.set(C.ArtifactOutdated, 'True', Reason.NewRevision, message);
        progress = `building artifact: ${message}`;
      }

      // --- includes: copy their content in
      await copyIncludes(tree, spec.include ?? [], includes);

      // --- the artifact
      if (status.artifact?.revision === rev.revision && !includesChanged && !configChanged) {
        outcome = 'up-to-date';
      } else {
        const tarball = join(tmp, 'artifact.tar.gz');
        let built: (TarballResult & { recipe?: ArtifactRecipe }) | undefined;
        let skipped: SkippedEntry[] = [];
        if (incremental) {
          try {
            build = (await storage.cloneTree(status.artifact!, tree)) === 'spare' ? 'incremental' : 'incremental-linked';
            mark('clone');
            built = {
              ...(await buildIncremental(storage.localPath(status.artifact!.path), tree, incremental, tarball, limits)),
              recipe: incremental.recipe,
            };
            mark('archive');
          } catch (err) {
            buildNote = `incremental build failed: ${(err as Error).message}`;
            await checkout();
          }
        }
        if (!built) {
          build = 'full';
          let rules: CheckoutRules;
          let ignore: SourceIgnore;
          try {
            rules = await SourceIgnore.scan(tree);
            ignore = SourceIgnore.fromRules(rules.ignoreFiles, spec.ignore);
          } catch (err) {
            throw new ReconcileError(
              C.StorageOperationFailed,
              'SourceIgnoreError',
              `failed to load source ignore patterns from repository: ${conciseFsError(err)}`,
            );
          }
          try {
            const pruned = await pruneTree(tree, ignore, limits);
            mark('prune');
            const result = await writeTarball(tree, pruned.entries, tarball);
            mark('archive');
            skipped = pruned.skipped;
            // An incremental build starts from the previous tree as the commit has it: not when files were left out.
            const recipe: ArtifactRecipe | undefined = plain && !skipped.length
              ? { version: 1, commit: rev.commit, ignoreFiles: rules.ignoreFiles, specIgnore: spec.ignore, gitAttributes: rules.gitAttributes }
              : undefined;
            built = { ...result, recipe };
          } catch (err) {
            const msg = err instanceof ArtifactContentError ? err.message : conciseFsError(err);
            throw new ReconcileError(C.StorageOperationFailed, Reason.ArchiveOperationFailed, `unable to archive artifact to storage: ${msg}`);
          }
        }
        let artifact: Artifact;
        try {
          const { digest, size, files, recipe } = built;
          artifact = await storage.store({
            kind: GITREPOSITORY_KIND,
            namespace,
            name,
            revision: rev.revision,
            treeDir: tree,
            tarball,
            digest,
            size,
            now,
            files,
            recipe,
          });
          mark('store');
          // The next commit's build starts from a copy of this tree, made in the background.
          if (recipe) storage.prepareSpare(artifact);
          // Who wrote the commit and what it says, for the dashboard (only on a new artifact: the read is already done).
          const about = commitMetadata(commit);
          if (Object.keys(about).length) artifact = { ...artifact, metadata: { ...artifact.metadata, ...about } };
          if (skipped.length) {
            artifact = { ...artifact, metadata: { ...artifact.metadata, [SKIPPED_METADATA]: JSON.stringify(skipped.slice(0, 20)) } };
            events.push({
              type: 'Warning',
              reason: 'ArtifactContentSkipped',
              message: `left out of the artifact of '${rev.revision}': ${skipped.slice(0, 5).map((e) => e.reason).join('; ')}${skipped.length > 5 ? ` (and ${skipped.length - 5} more)` : ''}`,
            });
          }
        } catch (err) {
          const msg = err instanceof ArtifactContentError ? err.message : conciseFsError(err);
          throw new ReconcileError(C.StorageOperationFailed, Reason.ArchiveOperationFailed, `unable to archive artifact to storage: ${msg}`);
        }
        status.artifact = artifact;
        status.includedArtifacts = includeArtifacts.length ? includeArtifacts : undefined;
        status.observedIgnore = spec.ignore;
        status.observedRecurseSubmodules = spec.recurseSubmodules || undefined;
        status.observedInclude = spec.include?.length ? structuredClone(spec.include) : undefined;
        status.observedSparseCheckout = spec.sparseCheckout?.length ? [...spec.sparseCheckout] : undefined;
        conds.delete(C.StorageOperationFailed);
        outcome = 'stored';
      }
      conds.delete(C.ArtifactOutdated);
      conds.set(C.ArtifactInStorage, 'True', Reason.Succeeded, `stored artifact for revision '${status.artifact!.revision}'`);
    }

    // --- success
    conds.delete(C.Reconciling);
    conds.delete(C.Stalled);
    conds.set(C.Ready, 'True', Reason.Succeeded, conds.get(C.ArtifactInStorage)!.message);
    status.observedGeneration = generation;
    const artifact = status.artifact!;
    const annotations = {
      [`${GITREPOSITORY_GROUP}/revision`]: artifact.revision,
      ...(artifact.digest ? { [`${GITREPOSITORY_GROUP}/digest`]: artifact.digest } : {}),
    };
    const message = `stored artifact for commit '${commitSubject !== undefined ? shortMessage(commitSubject) : artifact.revision}'`;
    if (artifact.digest !== prevDigest) {
      events.push({ type: 'Normal', reason: Reason.NewArtifact, message, annotations });
    } else if (hadFailure) {
      events.push({ type: 'Normal', reason: Reason.Succeeded, message, annotations });
    }
  } catch (err) {
    const e =
      err instanceof ReconcileError
        ? err
        : new ReconcileError(C.FetchFailed, Reason.GitOperationFailed, `reconcile failed: ${conciseFsError(err)}`);
    const message = scrubSecrets(e.message, secrets);
    if (e.condition === C.SourceVerified) conds.set(C.SourceVerified, 'False', e.reason, message);
    else conds.set(e.condition, 'True', e.reason, message);
    if (e.kind === 'stalling') {
      conds.set(C.Stalled, 'True', e.reason, message);
      conds.delete(C.Reconciling);
      status.observedGeneration = generation;
      outcome = 'stalled';
    } else {
      conds.set(C.Reconciling, 'True', Reason.ProgressingWithRetry, progress);
      conds.delete(C.Stalled);
      outcome = e.kind === 'waiting' ? 'waiting' : 'failed';
    }
    const summary = summarize(conds) ?? { reason: e.reason, message };
    conds.set(C.Ready, 'False', summary.reason, summary.message);
    events.push({ type: e.kind === 'waiting' ? 'Normal' : 'Warning', reason: e.reason, message });
  } finally {
    await auth?.dispose().catch(() => {});
    if (tmp) await rm(tmp, { recursive: true, force: true }).catch(() => {});
    mark('cleanup');
  }

  const requested = obj.metadata.annotations?.[RECONCILE_REQUEST_ANNOTATION];
  if (requested !== undefined) status.lastHandledReconcileAt = requested;
  status.conditions = conds.toArray();
  const artifactDir = status.artifact ? storage.treeDir(status.artifact) : undefined;
  return {
    status: pruneUndefined(status),
    events,
    artifactDir,
    outcome,
    requeueAfterMs: outcome === 'stalled' ? undefined : requeueAfterMs,
    fetched,
    timings,
    build,
    buildNote,
  };
}

/** The first abnormal condition in Flux's summarize order gives Ready its reason and message. */
function summarize(conds: Conditions): { reason: string; message: string } | undefined {
  for (const type of SUMMARY_ORDER) {
    const c = conds.get(type);
    if (!c) continue;
    const abnormal = NEGATIVE.has(type) ? c.status === 'True' : c.status === 'False';
    if (abnormal && type !== C.Reconciling) return { reason: c.reason, message: c.message };
  }
  return undefined;
}

/** Flux's commit ShortMessage: the subject, cut at 50 characters. */
export function shortMessage(subject: string): string {
  const chars = [...subject];
  return chars.length > 50 ? `${chars.slice(0, 50).join('')}...` : subject;
}

function pruneUndefined<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}
