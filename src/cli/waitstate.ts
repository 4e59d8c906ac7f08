// What `sluice wait` decides from one read of a Kustomization or HelmRelease:
// whether the revision CI asks about is applied and healthy, failed, or still
// on its way. Pure functions of the object.
import { findCondition, type KubeObject } from '../kube/object.ts';

const rec = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' ? (v as Record<string, unknown>) : {});
const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/**
 * Whether a revision as the controller writes it (`main@sha1:<sha>`,
 * `sha256:<digest>`, a chart version `1.2.0+<sha12>`) is the one asked for:
 * the whole string, or a commit SHA or digest (7 hex digits at least) that
 * one of its hexadecimal parts starts with, or that starts with one of them
 * (Flux's chart versions from Git carry a 12-digit prefix of the commit).
 */
export function matchesRevision(actual: string | undefined, want: string): boolean {
  if (!actual) return false;
  if (actual === want) return true;
  const w = want.toLowerCase().replace(/^(sha1|sha256|sha384|sha512):/, '');
  if (want.includes('@') || want.includes(':')) {
    // A full revision was given: the same ref and digest, or the same digest.
    const digest = (s: string) => s.slice(s.lastIndexOf(':') + 1).toLowerCase();
    return digest(actual) === digest(want) && (!want.includes('@') || !actual.includes('@') || actual.split('@')[0] === want.split('@')[0]);
  }
  if (!/^[0-9a-f]{7,}$/.test(w)) return false;
  return actual
    .toLowerCase()
    .split(/[^0-9a-f]+/)
    .filter((t) => t.length >= 7)
    .some((t) => t.startsWith(w) || w.startsWith(t));
}

export type WaitState =
  | { phase: 'waiting'; summary: string }
  | { phase: 'ready'; revision: string }
  | { phase: 'failed'; revision: string; reason: string; message: string };

/** The revisions an object reports as applied (Ready) and as last attempted. */
export function revisions(obj: KubeObject): { applied: string[]; attempted: string[] } {
  const status = rec(obj.status);
  if (obj.kind === 'HelmRelease') {
    const history = Array.isArray(status.history) ? (status.history as unknown[]).map(rec) : [];
    const latest = history[0] ?? {};
    const chart = [str(latest.chartVersion), str(latest.ociDigest)].filter(Boolean);
    return { applied: chart, attempted: [str(status.lastAttemptedRevision), str(status.lastAttemptedRevisionDigest), ...chart].filter(Boolean) };
  }
  const origin = str(rec(status).lastAppliedOriginRevision);
  return {
    applied: [str(status.lastAppliedRevision), origin].filter(Boolean),
    attempted: [str(status.lastAttemptedRevision), origin].filter(Boolean),
  };
}

/**
 * Applied and healthy: Ready=True for the current generation at the
 * revision. Failed: Ready=False at the revision for another reason than a
 * dependency not being ready yet (a failed build, apply, health check or Helm
 * action; the controller retries, but CI has its answer). Anything else is
 * still on its way, summarised in one line for the progress output.
 */
export function waitState(obj: KubeObject, want: string): WaitState {
  const status = rec(obj.status);
  const ready = findCondition(obj, 'Ready');
  const generation = obj.metadata.generation;
  const current = generation === undefined || status.observedGeneration === generation;
  const { applied, attempted } = revisions(obj);
  const lastApplied = applied[0] ?? '';
  const lastAttempted = attempted[0] ?? '';
  if (current && ready?.status === 'True' && applied.some((r) => matchesRevision(r, want))) return { phase: 'ready', revision: lastApplied };
  if (current && ready?.status === 'False' && ready.reason !== 'DependencyNotReady' && attempted.some((r) => matchesRevision(r, want))) {
    return { phase: 'failed', revision: lastAttempted, reason: ready.reason ?? '', message: ready.message ?? '' };
  }
  // Suspended, it will not get there: say so now rather than at the timeout.
  if (rec(obj.spec).suspend === true) {
    const k = obj.kind === 'HelmRelease' ? 'hr' : 'ks';
    return { phase: 'failed', revision: lastApplied, reason: 'Suspended', message: `${obj.kind} is suspended: resume it (sluice resume ${k} ${obj.metadata.name} -n ${obj.metadata.namespace}) to apply ${want}` };
  }
  const parts = [`Ready ${ready?.status ?? 'Unknown'}${ready?.reason ? ` (${ready.reason})` : ''}`];
  if (lastApplied) parts.push(`last applied ${lastApplied}`);
  if (lastAttempted && lastAttempted !== lastApplied) parts.push(`last attempted ${lastAttempted}`);
  if (!current) parts.push('new generation not yet reconciled');
  return { phase: 'waiting', summary: parts.join(', ') };
}
