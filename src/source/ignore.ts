// Which files an artifact leaves out: Flux's default exclusions, .sourceignore
// files and spec.ignore, in .gitignore syntax.
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import ignore, { type Ignore } from 'ignore';

// Flux's exclusion rules for artifacts (fluxcd/pkg sourceignore):
//
// - Patterns come from every `.sourceignore` file in the tree (each scoped to
//   its own directory; root first, then subdirectories depth-first in name
//   order), followed by `spec.ignore` (scoped to the root).
// - When there are none, the default exclusions apply: VCS files, some media
//   and archive extensions, CI and CLI configs.
// - When there are some, only the VCS exclusions stay in front of them: a
//   `.sourceignore` or `spec.ignore` replaces the default list, and its
//   negations can re-include anything but the VCS files.
// - The last pattern that matches decides.
//
// Matching follows git's .gitignore format through the `ignore` package, so
// (as in git) a file cannot be re-included when one of its parent
// directories is excluded by a pattern of the same file.

export const IGNORE_FILE = '.sourceignore';
const MAX_IGNORE_FILE = 1024 * 1024;
export const EXCLUDE_VCS = ['.git/', '.gitignore', '.gitmodules', '.gitattributes'];
export const EXCLUDE_EXT = ['*.jpg', '*.jpeg', '*.gif', '*.png', '*.wmv', '*.flv', '*.tar.gz', '*.zip'];
export const EXCLUDE_CI = [
  '.github/',
  '.circleci/',
  '.travis.yml',
  '.gitlab-ci.yml',
  'appveyor.yml',
  '.drone.yml',
  'cloudbuild.yaml',
  'codeship-services.yml',
  'codeship-steps.yml',
];
export const EXCLUDE_EXTRA = ['**/.goreleaser.yml', '**/.sops.yaml', '**/.flux.yaml'];
export const DEFAULT_EXCLUSIONS = [...EXCLUDE_EXT, ...EXCLUDE_CI, ...EXCLUDE_EXTRA];

/** The patterns of one `.sourceignore` file and the directory it sits in. */
export interface IgnoreFile {
  /** Directory relative to the root ('' = root). */
  base: string;
  lines: string[];
}

/** What a checkout holds that shapes its artifact beyond the files themselves. */
export interface CheckoutRules {
  /** Every `.sourceignore` with patterns, in the order they apply. */
  ignoreFiles: IgnoreFile[];
  /** Whether any `.gitattributes` file exists: attributes can make checked-out bytes differ from the blobs. */
  gitAttributes: boolean;
}

interface PatternSource {
  /** Directory the patterns are scoped to, relative to the root ('' = root). */
  base: string;
  matcher: Ignore;
}

function patternLines(text: string): string[] {
  return text.split(/\r?\n/).filter((l) => l.trim().length > 0 && !l.startsWith('#'));
}

function makeSource(base: string, lines: string[]): PatternSource {
  return { base, matcher: ignore({ ignorecase: false }).add(lines) };
}

export class SourceIgnore {
  readonly #sources: PatternSource[];

  private constructor(sources: PatternSource[]) {
    this.#sources = sources;
  }

  /** Loads `.sourceignore` files under `root` and combines them with `specIgnore`. */
  static async load(root: string, specIgnore?: string): Promise<SourceIgnore> {
    return SourceIgnore.fromRules((await SourceIgnore.scan(root)).ignoreFiles, specIgnore);
  }

  /** Reads the `.sourceignore` files under `root` (and notes `.gitattributes` files). */
  static async scan(root: string): Promise<CheckoutRules> {
    const rules: CheckoutRules = { ignoreFiles: [], gitAttributes: false };
    await loadDir(root, '', rules);
    return rules;
  }

  /** The matcher `load` would give for a tree whose `.sourceignore` files are `files`. */
  static fromRules(files: IgnoreFile[], specIgnore?: string): SourceIgnore {
    const found = files.map((f) => makeSource(f.base, f.lines));
    if (specIgnore !== undefined) {
      const lines = patternLines(specIgnore);
      if (lines.length) found.push(makeSource('', lines));
    }
    return SourceIgnore.fromSources(found);
  }

  /** Builds a matcher from explicit pattern lists (for tests and callers without files). */
  static fromPatterns(patterns: { base?: string; text: string }[]): SourceIgnore {
    const found = patterns
      .map((p) => ({ base: p.base ?? '', lines: patternLines(p.text) }))
      .filter((p) => p.lines.length)
      .map((p) => makeSource(p.base, p.lines));
    return SourceIgnore.fromSources(found);
  }

  private static fromSources(found: PatternSource[]): SourceIgnore {
    const head = found.length ? makeSource('', EXCLUDE_VCS) : makeSource('', [...EXCLUDE_VCS, ...DEFAULT_EXCLUSIONS]);
    return new SourceIgnore([head, ...found]);
  }

  /** Whether the path (relative, '/'-separated) is excluded from the artifact. */
  ignores(relPath: string, isDir: boolean): boolean {
    const path = isDir ? `${relPath}/` : relPath;
    for (let i = this.#sources.length - 1; i >= 0; i--) {
      const src = this.#sources[i]!;
      let rel: string;
      if (src.base === '') rel = path;
      else if (path.startsWith(`${src.base}/`)) rel = path.slice(src.base.length + 1);
      else continue;
      if (!rel) continue;
      const r = src.matcher.test(rel);
      if (r.ignored) return true;
      if (r.unignored) return false;
    }
    return false;
  }
}

async function loadDir(abs: string, rel: string, out: CheckoutRules): Promise<void> {
  let text: string | undefined;
  // Only a regular file of sane size: a .sourceignore symlinked to a device
  // or to a file elsewhere is not read.
  const st = await lstat(join(abs, IGNORE_FILE)).catch(() => undefined);
  if (st?.isFile() && st.size <= MAX_IGNORE_FILE) text = await readFile(join(abs, IGNORE_FILE), 'utf8');
  if (text !== undefined) {
    const lines = patternLines(text);
    if (lines.length) out.ignoreFiles.push({ base: rel, lines });
  }
  const entries = await readdir(abs, { withFileTypes: true });
  if (entries.some((e) => e.name === '.gitattributes')) out.gitAttributes = true;
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    if (e.isDirectory() && e.name !== '.git') {
      await loadDir(join(abs, e.name), rel ? `${rel}/${e.name}` : e.name, out);
    }
  }
}
