// `sluice stats [-A]`: per kind, how many reconcilers run, fail and are
// suspended, and the storage their artifacts take, as flux stats counts them.
import { parseArgs } from 'node:util';
import type { KubeClient } from '../kube/client.ts';
import { isNotFound } from '../kube/errors.ts';
import { findCondition, type KubeObject } from '../kube/object.ts';
import { DEFAULT_NAMESPACE } from './args.ts';
import { clientFromFlags, clusterFlags } from './kubeconfig.ts';
import { formatTable } from './rows.ts';

const usage = `usage: sluice stats [flags]
Counts per kind: RUNNING (not suspended), FAILING (Ready=False), SUSPENDED, and
STORAGE (the size of the sources' artifacts). Kinds the cluster does not serve count 0.
  -A, --all-namespaces        every namespace
  -n, --namespace NS          namespace (default ${DEFAULT_NAMESPACE})
  --kubeconfig FILE  --context NAME

examples:
  sluice stats -A
  sluice stats -n apps
`;

/** flux stats's kinds, in its order, with the API version each is listed in. */
export const STATS_KINDS: Array<[kind: string, apiVersion: string, plural: string]> = [
  ['GitRepository', 'source.toolkit.fluxcd.io/v1', 'gitrepositories'],
  ['OCIRepository', 'source.toolkit.fluxcd.io/v1', 'ocirepositories'],
  ['HelmRepository', 'source.toolkit.fluxcd.io/v1', 'helmrepositories'],
  ['HelmChart', 'source.toolkit.fluxcd.io/v1', 'helmcharts'],
  ['Bucket', 'source.toolkit.fluxcd.io/v1', 'buckets'],
  ['Kustomization', 'kustomize.toolkit.fluxcd.io/v1', 'kustomizations'],
  ['HelmRelease', 'helm.toolkit.fluxcd.io/v2', 'helmreleases'],
  ['Alert', 'notification.toolkit.fluxcd.io/v1beta3', 'alerts'],
  ['Provider', 'notification.toolkit.fluxcd.io/v1beta3', 'providers'],
  ['Receiver', 'notification.toolkit.fluxcd.io/v1', 'receivers'],
  ['ImageUpdateAutomation', 'image.toolkit.fluxcd.io/v1', 'imageupdateautomations'],
  ['ImagePolicy', 'image.toolkit.fluxcd.io/v1', 'imagepolicies'],
  ['ImageRepository', 'image.toolkit.fluxcd.io/v1', 'imagerepositories'],
];

export interface KindStats {
  total: number;
  failing: number;
  suspended: number;
  size: number;
}

export function countObjects(items: KubeObject[]): KindStats {
  const s: KindStats = { total: items.length, failing: 0, suspended: 0, size: 0 };
  for (const o of items) {
    if ((o.spec as { suspend?: boolean } | undefined)?.suspend === true) s.suspended++;
    if (findCondition(o, 'Ready')?.status === 'False') s.failing++;
    const size = (o.status as { artifact?: { size?: number } } | undefined)?.artifact?.size;
    if (typeof size === 'number') s.size += size;
  }
  return s;
}

/** Bytes as flux stats writes them: -, 512 B, 1.2 KiB, 3.4 MiB. */
export function formatSize(b: number): string {
  if (b === 0) return '-';
  if (b < 1024) return `${b} B`;
  let div = 1024;
  let exp = 0;
  for (let n = Math.floor(b / 1024); n >= 1024; n = Math.floor(n / 1024)) {
    div *= 1024;
    exp++;
  }
  return `${(b / div).toFixed(1)} ${'KMGTPE'[exp]}iB`;
}

async function listAll(client: KubeClient, apiVersion: string, plural: string, namespace: string | undefined): Promise<KubeObject[]> {
  const out: KubeObject[] = [];
  let cont: string | undefined;
  do {
    const path = `/apis/${apiVersion}${namespace ? `/namespaces/${namespace}` : ''}/${plural}`;
    const page = await client.request<{ items: KubeObject[]; metadata?: { continue?: string } }>({ path, query: { limit: '500', ...(cont ? { continue: cont } : {}) } });
    out.push(...page.items);
    cont = page.metadata?.continue || undefined;
  } while (cont);
  return out;
}

export async function statsCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { ...clusterFlags, namespace: { type: 'string', short: 'n' }, 'all-namespaces': { type: 'boolean', short: 'A', default: false }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    process.stdout.write(usage);
    return 0;
  }
  if (positionals.length) {
    process.stderr.write(`sluice stats: unexpected ${positionals.join(' ')}\n${usage}`);
    return 2;
  }
  const namespace = values['all-namespaces'] ? undefined : (values.namespace ?? DEFAULT_NAMESPACE);
  const client = await clientFromFlags(values);
  try {
    const rows = await Promise.all(
      STATS_KINDS.map(async ([kind, apiVersion, plural]) => {
        const items = await listAll(client, apiVersion, plural, namespace).catch((err: unknown) => {
          if (isNotFound(err)) return [];
          throw err;
        });
        const s = countObjects(items);
        return [kind, String(s.total - s.suspended), String(s.failing), String(s.suspended), formatSize(s.size)];
      }),
    );
    process.stdout.write(formatTable(['RECONCILERS', 'RUNNING', 'FAILING', 'SUSPENDED', 'STORAGE'], rows, false));
    return 0;
  } finally {
    client.close();
  }
}
