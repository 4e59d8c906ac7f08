// Reading Secrets for the controllers: one place that knows the REST path and
// that the API server hands Secret data over base64-encoded.
import type { KubeClient } from '../kube/client.ts';

/** A Secret's data, decoded. */
export type SecretData = Record<string, Buffer>;

/** A Secret as the controllers use it: its decoded data, and the version that says when it changed. */
export interface SecretObject {
  data: SecretData;
  resourceVersion: string;
}

/** Reads a Secret's data, decoded; undefined when the Secret does not exist. */
export type SecretReader = (namespace: string, name: string) => Promise<SecretData | undefined>;

/** Reads one Secret; undefined when it does not exist, any other error thrown. */
export async function readSecret(client: KubeClient, namespace: string, name: string): Promise<SecretObject | undefined> {
  const s = await client.getOrUndefined<{ data?: Record<string, string>; metadata?: { resourceVersion?: string } }>(
    `/api/v1/namespaces/${namespace}/secrets/${name}`,
  );
  if (!s) return undefined;
  return {
    data: Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
    resourceVersion: s.metadata?.resourceVersion ?? '',
  };
}

/** A SecretReader over one client (the controller's own, or an impersonating one). */
export function secretReader(client: KubeClient): SecretReader {
  return async (namespace, name) => (await readSecret(client, namespace, name))?.data;
}
