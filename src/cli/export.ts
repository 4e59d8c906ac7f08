// `sluice export KIND NAME|--all`: objects as a user commits them, as flux
// export prints them: apiVersion, kind, metadata (name, namespace, labels,
// annotations) and spec, keys sorted, no status and no server fields.
import { stringify } from 'yaml';
import type { KubeClient } from '../kube/client.ts';
import type { KubeObject } from '../kube/object.ts';
import { apiVersionOf, collectionPath, DEFAULT_NAMESPACE, KIND_USAGE, kindWords, objectPath, parseKind, type CliKind } from './args.ts';
import { notFoundMessage } from './hints.ts';
import { clientFromFlags, clusterFlags } from './kubeconfig.ts';
import { startVerb } from './verb.ts';

const usage = `usage: sluice export KIND NAME|--all [flags]
  ${KIND_USAGE}, or all
Prints clean YAML to commit: no status, no server fields (uid, resourceVersion,
managedFields, generation, timestamps, finalizers), keys sorted as flux export
prints them.
  --all                       every object of the kind in the namespace
  --with-credentials          sources: the Secret of spec.secretRef too
  -n, --namespace NS          namespace (default ${DEFAULT_NAMESPACE})
  --kubeconfig FILE  --context NAME

examples:
  sluice export ks apps > apps.yaml
  sluice export source git --all --with-credentials -n flux-system
  sluice export all -n apps
`;

const DROPPED_ANNOTATIONS = ['kubectl.kubernetes.io/last-applied-configuration'];

/** The committable form of an object: what flux export keeps. */
export function exportable(k: CliKind, obj: KubeObject): KubeObject {
  const m = obj.metadata;
  const annotations = Object.fromEntries(Object.entries(m.annotations ?? {}).filter(([a]) => !DROPPED_ANNOTATIONS.includes(a)));
  const metadata: KubeObject['metadata'] = { name: m.name, namespace: m.namespace };
  if (m.labels && Object.keys(m.labels).length) metadata.labels = m.labels;
  if (Object.keys(annotations).length) metadata.annotations = annotations;
  const spec = structuredClone(obj.spec ?? {});
  dropDefaults(spec, k.def.versions[0]!.spec);
  return { apiVersion: apiVersionOf(k), kind: k.def.kind, metadata, spec } as KubeObject;
}

type Schema = { default?: unknown; properties?: Record<string, Schema>; items?: Schema; anyOf?: Schema[] };

/**
 * Removes what the API server filled in from the schema's defaults (force:
 * false, ...), which the user never wrote, as flux export's omitempty fields
 * leave them out.
 */
export function dropDefaults(value: unknown, schema: Schema | undefined): void {
  if (!schema || !value || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    for (const v of value) dropDefaults(v, schema.items);
    return;
  }
  const v = value as Record<string, unknown>;
  for (const [key, prop] of Object.entries(schema.properties ?? {})) {
    if (!(key in v)) continue;
    if (prop.default !== undefined && JSON.stringify(prop.default) === JSON.stringify(v[key])) delete v[key];
    else dropDefaults(v[key], prop);
  }
}

/** One document as flux export writes it: `---`, then the YAML with sorted keys. */
export function exportDoc(obj: unknown): string {
  return `---\n${stringify(obj, { sortMapEntries: true }).trimEnd()}\n`;
}

export async function exportCommand(args: string[]): Promise<number> {
  const { values, positionals, help, fail } = startVerb('export', usage, args, {
    ...clusterFlags,
    namespace: { type: 'string', short: 'n' },
    all: { type: 'boolean', default: false },
    'with-credentials': { type: 'boolean', default: false },
  });
  if (help !== undefined) return help;
  const parsed = parseKind(positionals, true);
  if ('error' in parsed) return fail(parsed.error);
  const all = values.all || parsed.kinds.length > 1;
  if (!all && parsed.rest.length !== 1) return fail('give a NAME or --all');
  if (all && parsed.rest.length) return fail('a NAME or --all, not both');
  const namespace = values.namespace ?? DEFAULT_NAMESPACE;
  const client = await clientFromFlags(values);
  try {
    let found = 0;
    for (const kind of parsed.kinds) {
      let objects: KubeObject[];
      if (all) {
        objects = (await client.request<{ items: KubeObject[] }>({ path: collectionPath(kind, namespace) })).items;
      } else {
        const obj = await client.getOrUndefined<KubeObject>(objectPath(kind, namespace, parsed.rest[0]!));
        if (!obj) {
          process.stderr.write(`✗ ${await notFoundMessage(client, kind, namespace, parsed.rest[0]!)}\n`);
          return 1;
        }
        objects = [obj];
      }
      for (const obj of objects) {
        found++;
        process.stdout.write(exportDoc(exportable(kind, obj)));
        if (values['with-credentials'] && kind.source) {
          const secret = await credentials(client, obj);
          if (secret) process.stdout.write(exportDoc(secret));
        }
      }
    }
    if (!found) {
      const what = parsed.kinds.length === 1 ? kindWords(parsed.kinds[0]!) : 'objects';
      process.stderr.write(`✗ no ${what} found in namespace "${namespace}"\n`);
      return 1;
    }
    return 0;
  } finally {
    client.close();
  }
}

/** The Secret a source's spec.secretRef names, as committable as a Secret can be. */
async function credentials(client: KubeClient, obj: KubeObject): Promise<KubeObject | undefined> {
  const ref = (obj.spec as { secretRef?: { name?: string } } | undefined)?.secretRef?.name;
  if (!ref) return undefined;
  const s = await client.getOrUndefined<KubeObject & { data?: Record<string, string>; type?: string }>(`/api/v1/namespaces/${obj.metadata.namespace}/secrets/${ref}`);
  if (!s) return undefined;
  const out: Record<string, unknown> = { apiVersion: 'v1', kind: 'Secret', metadata: { name: s.metadata.name, namespace: s.metadata.namespace, ...(s.metadata.labels ? { labels: s.metadata.labels } : {}) } };
  if (s.type) out.type = s.type;
  if (s.data) out.data = s.data;
  return out as unknown as KubeObject;
}
