// Errors that say what to do next: a missing object names the namespaces
// where one of that name exists.
import type { KubeClient } from '../kube/client.ts';
import type { KubeObject } from '../kube/object.ts';
import { collectionPath, kindWords, type CliKind } from './args.ts';

/** `Kustomization "x" not found in namespace "y"; did you mean -n z?` (the hint when a list of all namespaces finds one). */
export async function notFoundMessage(client: KubeClient, kind: CliKind, namespace: string, name: string): Promise<string> {
  const base = `${kind.def.kind} "${name}" not found in namespace "${namespace}"`;
  const elsewhere = await client
    .request<{ items: KubeObject[] }>({ path: `${collectionPath(kind, undefined)}?fieldSelector=${encodeURIComponent(`metadata.name=${name}`)}` })
    .then((l) => l.items.map((o) => o.metadata.namespace!).filter((n) => n !== namespace))
    .catch(() => [] as string[]);
  if (elsewhere.length === 1) return `${base}; did you mean -n ${elsewhere[0]}?`;
  if (elsewhere.length > 1) return `${base}; there is one in namespaces ${elsewhere.join(', ')} (-n NAMESPACE)`;
  return `${base} (sluice get ${kindWords(kind)} -A lists them all)`;
}
