import { accessSync, constants, readFileSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';

// The system programs the tests run, where to find them, and how to install
// the missing ones. scripts/test.ts checks a run's files up front (before it
// starts a cluster) and stops with the exact command to run; the test
// helpers use findProgram to fail fast too.

export interface Program {
  /** Absolute paths to look at before PATH (sshd lives in /usr/sbin, often not on a user's PATH). */
  paths?: string[];
  /** The Debian package that provides it. */
  deb?: string;
  /** How to get it when it is not a Debian package. */
  hint?: string;
}

export const PROGRAMS: Record<string, Program> = {
  git: { deb: 'git' },
  sshd: { paths: ['/usr/sbin/sshd'], deb: 'openssh-server' },
  ssh: { deb: 'openssh-client' },
  'ssh-keygen': { deb: 'openssh-client' },
  'ssh-keyscan': { deb: 'openssh-client' },
  gpg: { deb: 'gnupg' },
  gpgconf: { deb: 'gnupg' },
  openssl: { deb: 'openssl' },
  ps: { deb: 'procps' },
  // The container image: built without an engine, pushed to a loopback registry, run by an OCI runtime.
  mmdebstrap: { deb: 'mmdebstrap' },
  strip: { deb: 'binutils' },
  npm: { hint: 'npm: it comes with Node.js' },
  skopeo: { deb: 'skopeo' },
  umoci: { deb: 'umoci' },
  runc: { paths: ['/usr/sbin/runc'], deb: 'runc' },
  'docker-registry': { deb: 'docker-registry' },
  // test/cli/completion.test.ts loads `sluice completion zsh|fish` into the real shells.
  zsh: { deb: 'zsh' },
  fish: { deb: 'fish' },
  kubectl: { hint: 'kubectl: see https://kubernetes.io/docs/tasks/tools/install-kubectl-linux/' },
  // The dashboard's browser tests (test/ui) drive Debian's chromium through playwright-core.
  chromium: { paths: ['/usr/bin/chromium'], deb: 'chromium' },
  go: { hint: 'go (1.26): see https://go.dev/doc/install, then put /usr/local/go/bin on PATH' },
};

/** The absolute path of an executable program (its known paths first, then PATH), or undefined. */
export function findProgram(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const dirs = (env.PATH ?? '').split(delimiter).filter(Boolean);
  const candidates = [...(PROGRAMS[name]?.paths ?? []), ...dirs.map((d) => join(d, name))];
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return resolve(c);
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Like findProgram, but throws a message naming the program and how to install it. */
export function requireProgram(name: string): string {
  const p = findProgram(name);
  if (!p) throw new Error(missingProgramsMessage([name]));
  return p;
}

/** "missing programs: sshd, gpg" and the commands that install them. */
export function missingProgramsMessage(names: string[]): string {
  const debs = [...new Set(names.map((n) => PROGRAMS[n]?.deb).filter((d): d is string => !!d))];
  const hints = names.map((n) => PROGRAMS[n]?.hint).filter((h): h is string => !!h);
  const sudo = process.getuid?.() === 0 ? '' : 'sudo ';
  const lines = [`missing programs: ${names.join(', ')}`];
  if (debs.length) lines.push(`install them with:\n  ${sudo}apt-get install -y ${debs.join(' ')}`);
  for (const h of hints) lines.push(`install ${h}`);
  return lines.join('\n');
}

/**
 * What a test file needs, by what its source (and the test/ helpers it
 * imports, not re-exports) uses. Each rule: a pattern in the source, and the
 * programs it implies.
 */
const RULES: Array<[RegExp, string[]]> = [
  [/\bstartGitSshServer\b/, ['sshd', 'ssh', 'ssh-keygen', 'git']],
  [/\bcreateGpgSigner\b|run\('gpg'/, ['gpg', 'gpgconf']],
  [/\bcreateSshSigner\b|run\('ssh-keygen'/, ['ssh-keygen']],
  [/\bgenerateTls\b|run\('openssl'/, ['openssl']],
  [/\bTestRepo\b|\bstartGitHttpServer\b|run\('git'|spawn\('git'|\/source\/git\//, ['git']],
  [/\bwatchCommandLines\b/, ['ps']],
  [/run\('kubectl'/, ['kubectl']],
  [/requireProgram\('zsh'\)/, ['zsh']],
  [/requireProgram\('fish'\)/, ['fish']],
  [/run\('go'/, ['go']],
  [/run\('ssh-keyscan'|\bscanHostKeys\b|'bootstrap', 'git'/, ['ssh-keyscan', 'ssh-keygen', 'git']],
  [/\blaunchChromium\b/, ['chromium']],
  [/\bbuildImage\b/, ['mmdebstrap', 'strip', 'npm', 'go']],
  [/\bstartRegistry\b/, ['docker-registry']],
  [/\bpushImage\b|\bpullByDigest\b/, ['skopeo']],
  [/\bunpack\(/, ['umoci']],
  [/\bnew Container\(/, ['runc']],
  [/\bensure(?:Kustomize|Helm|Sops|HelmDriver|OciRegistry|GoTool|LocalGoTool|FluxCli)\b|\bstartOciRegistry\b|\btestHelm\b|\bstartTestOperator\b|\bstartHelmFixture\b/, ['go']],
];

/** The local (./ or ../) modules a source imports, not re-exports, under `within`. */
function localImports(file: string, text: string, within: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/^import\s[^;]*?from\s+'(\.{1,2}\/[^']+)'/gms)) {
    const p = resolve(dirname(file), m[1]!);
    if (p.startsWith(within)) out.push(p);
  }
  return out;
}

/** The programs a test file needs (cluster: whether it runs against the control plane, which needs go to build it). */
export function programsFor(file: string, opts: { cluster: boolean; testRoot: string }): string[] {
  const needs = new Set<string>(opts.cluster ? ['go'] : []);
  const seen = new Set<string>();
  const stack = [resolve(file)];
  while (stack.length) {
    const f = stack.pop()!;
    if (seen.has(f)) continue;
    seen.add(f);
    let text: string;
    try {
      text = readFileSync(f, 'utf8');
    } catch {
      continue;
    }
    // What a module re-exports (`export { x } from './y.ts'`) is not what it uses.
    const used = text.replace(/^export\s[^;]*?\sfrom\s+'[^']+';/gms, '');
    for (const [re, progs] of RULES) if (re.test(used)) for (const p of progs) needs.add(p);
    stack.push(...localImports(f, text, opts.testRoot));
  }
  return [...needs].sort();
}
