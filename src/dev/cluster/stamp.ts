// What the local control plane's binary says it is. Kubernetes' own build
// (hack/lib/version.sh) stamps the version into the binary with the linker;
// built from Go modules, sluice-kube would otherwise report
// `v0.0.0-master+$Format:%H$`, which `kubectl version`, `flux check` and
// every chart with a `kubeVersion` constraint read. The versions come from
// the cluster module's go.mod, so the stamp cannot drift from the code.

/** The versions go.mod pins for the components in the binary. */
export interface ModuleVersions {
  kubernetes: string;
  etcd: string;
  kwok: string;
}

const MODULES: Record<keyof ModuleVersions, string> = {
  kubernetes: 'k8s.io/kubernetes',
  etcd: 'go.etcd.io/etcd/server/v3',
  kwok: 'sigs.k8s.io/kwok',
};

/**
 * Reads the required versions from go.mod text: `require` lines in a block
 * or on their own, with a `replace` of the same module (to a version, not a
 * directory) taking precedence as it does for the Go build.
 */
export function moduleVersions(gomod: string): ModuleVersions {
  const required = new Map<string, string>();
  const replaced = new Map<string, string>();
  let block: 'require' | 'replace' | undefined;
  for (const raw of gomod.split('\n')) {
    const line = raw.replace(/\/\/.*$/, '').trim();
    if (!line) continue;
    if (block) {
      if (line === ')') {
        block = undefined;
        continue;
      }
      record(block, line);
      continue;
    }
    const m = /^(require|replace)\s*(\(|.*)$/.exec(line);
    if (!m) continue;
    const kind = m[1] as 'require' | 'replace';
    const rest = m[2] ?? '';
    if (rest === '(') block = kind;
    else record(kind, rest);
  }
  function record(kind: 'require' | 'replace', line: string): void {
    const [path = '', version] = line.split(/\s+/);
    if (kind === 'require' && version) required.set(path, version);
    // `old [v] => new v`: only a module-to-module replacement has a version.
    const target = /=>\s*(\S+)\s+(\S+)$/.exec(line);
    if (kind === 'replace' && target?.[2]) replaced.set(path, target[2]);
  }
  const out = {} as ModuleVersions;
  for (const [key, path] of Object.entries(MODULES) as Array<[keyof ModuleVersions, string]>) {
    const v = replaced.get(path) ?? required.get(path);
    if (!v) throw new Error(`cluster/go.mod does not require ${path}; the local control plane cannot be stamped with its version`);
    out[key] = v;
  }
  return out;
}

export interface KubeVersion {
  gitVersion: string;
  gitMajor: string;
  gitMinor: string;
}

/**
 * The version fields as Kubernetes' build derives them from a tag: the
 * minor gets a `+` on a pre-release (v1.36.0-rc.1 → "36+"), as upstream's
 * does for anything that is not exactly a release.
 */
export function kubeVersion(gitVersion: string): KubeVersion {
  const m = /^v(\d+)\.(\d+)\.(\d+)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/.exec(gitVersion);
  if (!m) throw new Error(`k8s.io/kubernetes ${gitVersion} is not a Kubernetes release version (vMAJOR.MINOR.PATCH)`);
  const [, major = '', minor = '', , pre, build] = m;
  return { gitVersion, gitMajor: major, gitMinor: pre || build ? `${minor}+` : minor };
}

export interface StampInput {
  versions: ModuleVersions;
  /**
   * RFC 3339 time written as the build date: the Kubernetes module's
   * publication time, the same on every machine, so the binary (and its
   * cache key) depends only on the sources.
   */
  buildDate: string;
}

/** The epoch, for a module whose publication time is unknown. */
export const UNKNOWN_BUILD_DATE = '1970-01-01T00:00:00Z';

/**
 * Linker flags: strip symbols, and set the version variables of
 * component-base (what the API server's /version and the components'
 * --version report) and of client-go (its User-Agent), plus KWOK's own.
 * No commit: a module download carries none, so gitCommit is left empty
 * rather than upstream's unexpanded `$Format:%H$`.
 */
export function ldflags(input: StampInput): string[] {
  const k = kubeVersion(input.versions.kubernetes);
  const vars: Record<string, string> = {
    gitVersion: k.gitVersion,
    gitMajor: k.gitMajor,
    gitMinor: k.gitMinor,
    gitCommit: '',
    gitTreeState: 'clean',
    buildDate: input.buildDate,
  };
  const flags = ['-s', '-w'];
  for (const pkg of ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version']) {
    for (const [name, value] of Object.entries(vars)) flags.push(`-X=${pkg}.${name}=${value}`);
  }
  const bare = (v: string) => v.replace(/^v/, '');
  flags.push(`-X=sigs.k8s.io/kwok/pkg/consts.Version=${bare(input.versions.kwok)}`);
  flags.push(`-X=sigs.k8s.io/kwok/pkg/consts.KubeVersion=${bare(k.gitVersion)}`);
  return flags;
}
