// SemVer for every source kind: Git tags (`.spec.ref.semver`), OCI tags,
// chart versions in a repository index and chart tags in a registry. Flux
// resolves these with Masterminds/semver; the npm `semver` package does the
// matching, and this file bridges the syntax, in two dialects that keep each
// caller's results: Git tag names may carry a leading 'v' and omit
// minor/patch ('v1.2'), and their constraints may join comparators with
// commas ('>= 1.2, < 2.0'), use '~>' and '!='; chart versions and OCI tags
// follow Helm (loose versions, an exact match first, see newestMatching).
import semver from 'semver';

const TAG_VERSION = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/;

/** Parses a tag name as a version the way Masterminds' NewVersion would, or returns null. */
export function parseTagVersion(tag: string): semver.SemVer | null {
  const m = TAG_VERSION.exec(tag);
  if (!m) return null;
  const [, major, minor = '0', patch = '0', pre = '', build = ''] = m;
  return semver.parse(`${Number(major)}.${Number(minor)}.${Number(patch)}${pre}${build}`);
}

export interface SemverConstraint {
  test(v: semver.SemVer): boolean;
}

/** Compiles a Masterminds-style constraint; throws with a readable message when invalid. */
export function parseConstraint(expr: string): SemverConstraint {
  const groups = expr.split('||').map((g) => g.trim());
  if (!expr.trim() || groups.some((g) => !g)) throw new Error(`improper constraint: ${expr}`);
  const compiled = groups.map((group) => {
    const parts = group.split(',').map((p) => p.trim()).filter(Boolean);
    return parts.map((part) => {
      const ne = /^!=\s*(.+)$/.exec(part);
      if (ne) {
        const v = parseTagVersion(ne[1]!.trim());
        if (!v) throw new Error(`improper constraint: ${expr}`);
        return (x: semver.SemVer) => semver.neq(x, v);
      }
      const normalized = part.replace(/~>\s*/g, '~').replace(/(^|[\s<>=~^])v(?=\d)/g, '$1');
      let range: semver.Range;
      try {
        range = new semver.Range(normalized);
      } catch {
        throw new Error(`improper constraint: ${expr}`);
      }
      return (x: semver.SemVer) => range.test(x);
    });
  });
  return { test: (v) => compiled.some((and) => and.every((t) => t(v))) };
}

/** Picks the tag with the highest version matching `expr`, or undefined. */
export function pickSemverTag(tags: string[], expr: string): string | undefined {
  const c = parseConstraint(expr);
  return newest([...tags].sort(), (tag) => {
    const v = parseTagVersion(tag);
    return v && c.test(v) ? v : null;
  });
}

/** A constraint that is not one: the caller words its own error (each API has its own reason). */
export class ConstraintError extends Error {
  constructor(readonly constraint: string) {
    super(`improper constraint: ${constraint}`);
    this.name = 'ConstraintError';
  }
}

/**
 * The newest of `versions` within `range`, in the dialect Helm and Flux use
 * for chart versions and OCI tags: an exact string match wins first (so a
 * version that is not SemVer still matches itself); otherwise versions are
 * read loosely ('v1.2.3'), a comma means AND, and pre-releases count only
 * when the range names one. Returns the version as given, or undefined;
 * throws a ConstraintError when `range` is not a range.
 */
export function newestMatching(versions: string[], range = '*'): string | undefined {
  if (versions.includes(range)) return range;
  let r: semver.Range;
  try {
    r = new semver.Range(range.replace(/,/g, ' ').trim() || '*', { loose: true });
  } catch {
    throw new ConstraintError(range);
  }
  const includePrerelease = /-/.test(range);
  return newest(versions, (raw) => {
    const v = semver.valid(raw, { loose: true });
    return v && semver.satisfies(v, r, { includePrerelease, loose: true }) ? semver.parse(v, { loose: true }) : null;
  });
}

/**
 * The item whose version is highest, among those `matching` maps to a
 * version (null: not a candidate); the first one seen wins a tie.
 */
export function newest<T>(items: Iterable<T>, matching: (item: T) => semver.SemVer | null): T | undefined {
  let best: { item: T; v: semver.SemVer } | undefined;
  for (const item of items) {
    const v = matching(item);
    if (!v) continue;
    if (!best || semver.gt(v, best.v, true)) best = { item, v };
  }
  return best?.item;
}

/** A version read loosely ('v1.2.3', '=1.2.3'), as Helm reads chart versions; null when it is not one. */
export function parseLooseVersion(version: string): semver.SemVer | null {
  return semver.parse(version, { loose: true });
}

/** Orders versions newest first; SemVer before the rest, which go in reverse string order. */
export function newestFirst(a: string, b: string): number {
  const va = semver.valid(a, { loose: true });
  const vb = semver.valid(b, { loose: true });
  if (va && vb) return semver.rcompare(va, vb, true);
  return va ? -1 : vb ? 1 : b.localeCompare(a);
}
