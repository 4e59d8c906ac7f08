// `sluice version [--client] [-o yaml|json]`: the client's version, the
// controller's (image and version label of its Deployment), and the API
// versions the cluster serves for each kind.
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import type { KubeClient } from '../kube/client.ts';
import type { KubeObject } from '../kube/object.ts';
import { sluiceVersion } from '../util/paths.ts';
import { ALL_KINDS, DEFAULT_NAMESPACE } from './args.ts';
import { clientFromFlags, clusterFlags } from './kubeconfig.ts';

const usage = `usage: sluice version [flags]
  --client                    the client's version only, without a cluster
  -o, --output FORMAT         text (default), yaml or json
  -n, --namespace NS          where the controller is installed (default ${DEFAULT_NAMESPACE}; any namespace when not there)
  --kubeconfig FILE  --context NAME

examples:
  sluice version
  sluice version --client
  sluice version -o json
`;

interface Deployment extends KubeObject {
  spec?: { template?: { spec?: { containers?: Array<{ name: string; image?: string }> } } };
  status?: { readyReplicas?: number; replicas?: number };
}
interface Crd extends KubeObject {
  spec?: { versions?: Array<{ name: string; served?: boolean; storage?: boolean; deprecated?: boolean }> };
}

export interface VersionInfo {
  sluice: string;
  controller?: { version: string; image: string; deployment: string; ready: string } | { error: string };
  apis?: Record<string, string>;
}

const SELECTOR = 'app.kubernetes.io/part-of=sluice,app.kubernetes.io/component=controller';

export async function versionCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { ...clusterFlags, namespace: { type: 'string', short: 'n' }, client: { type: 'boolean', default: false }, output: { type: 'string', short: 'o', default: 'text' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    process.stdout.write(usage);
    return 0;
  }
  if (positionals.length || !['text', 'yaml', 'json'].includes(values.output)) {
    process.stderr.write(`sluice version: ${positionals.length ? `unexpected ${positionals.join(' ')}` : `--output must be text, yaml or json, not ${values.output}`}\n${usage}`);
    return 2;
  }
  const info: VersionInfo = { sluice: sluiceVersion() };
  if (!values.client) {
    const client = await clientFromFlags(values);
    try {
      info.controller = await controllerVersion(client, values.namespace ?? DEFAULT_NAMESPACE);
      info.apis = await apiVersions(client);
    } finally {
      client.close();
    }
  }
  if (values.output === 'json') process.stdout.write(`${JSON.stringify(info, null, 2)}\n`);
  else if (values.output === 'yaml') process.stdout.write(stringify(info));
  else process.stdout.write(text(info));
  return 0;
}

function text(info: VersionInfo): string {
  const lines = [`sluice: v${info.sluice}`];
  const c = info.controller;
  if (c && 'error' in c) lines.push(`controller: ${c.error}`);
  else if (c) lines.push(`controller: v${c.version} (${c.deployment}, ${c.ready} ready)`, `image: ${c.image}`);
  if (info.apis) {
    lines.push('apis:');
    for (const [crd, v] of Object.entries(info.apis)) lines.push(`  ${crd}: ${v}`);
  }
  return `${lines.join('\n')}\n`;
}

async function controllerVersion(client: KubeClient, namespace: string): Promise<VersionInfo['controller']> {
  const query = { labelSelector: SELECTOR };
  let items = (await client.request<{ items: Deployment[] }>({ path: `/apis/apps/v1/namespaces/${namespace}/deployments`, query })).items;
  if (!items.length) items = (await client.request<{ items: Deployment[] }>({ path: '/apis/apps/v1/deployments', query })).items;
  const d = items[0];
  if (!d) return { error: 'no controller Deployment in the cluster (sluice install puts one there; a controller run with `sluice controller` outside the cluster has none)' };
  const image = d.spec?.template?.spec?.containers?.find((c) => c.name === 'controller')?.image ?? d.spec?.template?.spec?.containers?.[0]?.image ?? '';
  return {
    version: d.metadata.labels?.['app.kubernetes.io/version'] ?? 'unknown',
    image,
    deployment: `${d.metadata.namespace}/${d.metadata.name}`,
    ready: `${d.status?.readyReplicas ?? 0}/${d.status?.replicas ?? 0}`,
  };
}

/** Per CRD: the storage version first, then the other served ones (deprecated ones marked). */
async function apiVersions(client: KubeClient): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const k of ALL_KINDS) {
    const name = `${k.def.plural}.${k.def.group}`;
    const crd = await client.getOrUndefined<Crd>(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`);
    if (!crd) {
      out[name] = 'not installed';
      continue;
    }
    const versions = (crd.spec?.versions ?? []).filter((v) => v.served);
    versions.sort((a, b) => Number(!!b.storage) - Number(!!a.storage));
    out[name] = versions.map((v) => `${v.name}${v.storage ? ' (stored)' : ''}${v.deprecated ? ' (deprecated)' : ''}`).join(', ');
  }
  return out;
}
