import semver from 'semver';

// Flux resolves `.spec.ref.semver` with Masterminds/semver: tag names may
// carry a leading 'v' and omit minor/patch ('v1.2'), and constraints may join
// comparators with commas ('>= 1.2, < 2.0'), use '~>' and '!='. The npm
// `semver` package does the matching; this file only bridges the syntax.

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
  let best: { tag: string; v: semver.SemVer } | undefined;
  for (const tag of [...tags].sort()) {
    const v = parseTagVersion(tag);
    if (!v || !c.test(v)) continue;
    if (!best || semver.gt(v, best.v)) best = { tag, v };
  }
  return best?.tag;
}
