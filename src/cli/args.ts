// Arguments the Flux-style verbs (get, reconcile, suspend, resume) share: the
// kind words as `flux` spells them, and boolean flags that take `=false`.
import { gitRepositoryKind } from '../api/gitrepository.ts';
import { helmChartKind } from '../api/helmchart.ts';
import { helmReleaseKind } from '../api/helmrelease.ts';
import { helmRepositoryKind } from '../api/helmrepository.ts';
import { kustomizationKind } from '../api/kustomization.ts';
import { ociRepositoryKind } from '../api/ocirepository.ts';
import type { KindDefinition } from '../api/schema.ts';

/** The namespace the verbs use when -n is not given, as Flux's CLI does. */
export const DEFAULT_NAMESPACE = 'flux-system';

/** A kind as the command line names it. */
export interface CliKind {
  def: KindDefinition;
  /** The word `sluice get all` puts before each name, e.g. gitrepository. */
  word: string;
  /** Whether it is a source (sources show the artifact's revision). */
  source: boolean;
}

const source = (def: KindDefinition): CliKind => ({ def, word: def.singular, source: true });
const applier = (def: KindDefinition): CliKind => ({ def, word: def.singular, source: false });

export const SOURCE_KINDS: Record<string, CliKind> = {
  git: source(gitRepositoryKind),
  oci: source(ociRepositoryKind),
  helm: source(helmRepositoryKind),
  chart: source(helmChartKind),
};
const KUSTOMIZATION = applier(kustomizationKind);
const HELMRELEASE = applier(helmReleaseKind);
const APPLIERS: Record<string, CliKind> = {
  ks: KUSTOMIZATION,
  kustomization: KUSTOMIZATION,
  kustomizations: KUSTOMIZATION,
  hr: HELMRELEASE,
  helmrelease: HELMRELEASE,
  helmreleases: HELMRELEASE,
};
export const ALL_KINDS: CliKind[] = [...Object.values(SOURCE_KINDS), KUSTOMIZATION, HELMRELEASE];

export const KIND_USAGE = 'KIND is source git|oci|helm|chart, kustomization (ks) or helmrelease (hr)';

/**
 * Reads the kind words at the start of the positionals: `source git`,
 * `sources all`, `ks`, `hr`, `all` (when allowAll). Returns the kinds and
 * the positionals after them, or an error message.
 */
export function parseKind(positionals: string[], allowAll: boolean): { kinds: CliKind[]; rest: string[] } | { error: string } {
  const [first, second, ...more] = positionals;
  if (!first) return { error: `missing KIND: ${KIND_USAGE}` };
  const word = first.toLowerCase();
  if (word === 'source' || word === 'sources') {
    const sub = second?.toLowerCase();
    if (!sub) return { error: `missing source kind: source git|oci|helm|chart${allowAll ? '|all' : ''}` };
    if (sub === 'all' && allowAll) return { kinds: Object.values(SOURCE_KINDS), rest: more };
    const k = SOURCE_KINDS[sub];
    if (!k) return { error: `unknown source kind "${second}": use git, oci, helm or chart${allowAll ? ' (or all)' : ''}` };
    return { kinds: [k], rest: more };
  }
  const rest = positionals.slice(1);
  if (word === 'all' && allowAll) return { kinds: ALL_KINDS, rest };
  const k = APPLIERS[word];
  if (!k) return { error: `unknown kind "${first}": ${KIND_USAGE}${allowAll ? ', or all' : ''}` };
  return { kinds: [k], rest };
}

/** The kind a reference names (sourceRef.kind, chartRef.kind), if the CLI knows it. */
export function kindByName(kind: string): CliKind | undefined {
  return ALL_KINDS.find((k) => k.def.kind === kind);
}

/** The API version the verbs read and write: the kind's first (storage) version. */
export function apiVersionOf(k: CliKind): string {
  return `${k.def.group}/${k.def.versions[0]!.name}`;
}

/** The collection path of a kind, in one namespace or (namespace undefined) all of them. */
export function collectionPath(k: CliKind, namespace: string | undefined): string {
  const base = `/apis/${apiVersionOf(k)}`;
  return namespace ? `${base}/namespaces/${namespace}/${k.def.plural}` : `${base}/${k.def.plural}`;
}

export function objectPath(k: CliKind, namespace: string, name: string): string {
  return `${collectionPath(k, namespace)}/${name}`;
}

/**
 * Takes a boolean flag out of the arguments in every spelling a user may
 * write it: `--wait`, `--wait=true`, `--wait=false`, `--no-wait`.
 * node:util's parseArgs rejects a value on a boolean flag, so this runs
 * first; the last spelling wins.
 */
export function takeBoolFlag(args: string[], name: string, fallback: boolean): { value: boolean; args: string[] } | { error: string } {
  let value = fallback;
  const out: string[] = [];
  for (const [i, a] of args.entries()) {
    if (a === '--') {
      out.push(...args.slice(i));
      break;
    }
    if (a === `--${name}`) value = true;
    else if (a === `--no-${name}`) value = false;
    else if (a.startsWith(`--${name}=`)) {
      const v = a.slice(name.length + 3).toLowerCase();
      if (v === 'true' || v === '1') value = true;
      else if (v === 'false' || v === '0') value = false;
      else return { error: `--${name} takes true or false, not "${a.slice(name.length + 3)}"` };
    } else out.push(a);
  }
  return { value, args: out };
}

/** How the command line names a kind: `source git`, `kustomization`, `helmrelease`. */
export function kindWords(k: CliKind): string {
  const src = Object.entries(SOURCE_KINDS).find(([, v]) => v === k)?.[0];
  return src ? `source ${src}` : k.word;
}
