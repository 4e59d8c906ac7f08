// spec.kubeConfig.configMapRef: Flux's secret-less remote cluster access. The
// ConfigMap names a provider and how to reach the cluster; the controller
// builds the kubeconfig itself. Sluice serves the `generic` provider (the
// remote API server trusts this cluster's service-account tokens, as OIDC
// issuer or by key): a token for the ConfigMap's serviceAccountName (or
// --default-kubeconfig-service-account's, or the controller's own service
// account, never under --default-service-account: see target.ts) from the
// TokenRequest API, with the
// ConfigMap's audiences (its address by default). The cloud providers (aws,
// azure, gcp) need cloud workload identity, which Sluice does not have: they
// are refused with a message that says so.
import { readFileSync } from 'node:fs';
import type { KubeClient } from '../kube/client.ts';

/** The providers Flux accepts in the ConfigMap. */
export const KUBECONFIG_PROVIDERS = ['generic', 'aws', 'azure', 'gcp'] as const;

/** What the ConfigMap asks for, checked (parseKubeConfigMap). */
export interface KubeConfigParams {
  address: string;
  /** PEM, when the ConfigMap has ca.crt. */
  caCert?: string;
  audiences: string[];
  /** The service account whose token authenticates; the controller's own when absent. */
  serviceAccountName?: string;
}

/** The ConfigMap's data checked as Flux checks it for the generic provider; throws with what is wrong (`where` names the ConfigMap). */
export function parseKubeConfigMap(data: Record<string, string>, where: string): KubeConfigParams {
  const provider = data.provider;
  if (!provider) throw new Error(`kubeconfig ConfigMap ${where}: key 'provider' is required (one of ${KUBECONFIG_PROVIDERS.join(', ')})`);
  if (!(KUBECONFIG_PROVIDERS as readonly string[]).includes(provider)) {
    throw new Error(`kubeconfig ConfigMap ${where}: unknown provider '${provider}' (one of ${KUBECONFIG_PROVIDERS.join(', ')})`);
  }
  if (provider !== 'generic') {
    throw new Error(
      `kubeconfig ConfigMap ${where}: provider '${provider}' authenticates through cloud workload identity, which Sluice does not support; ` +
        `use provider 'generic' (a cluster that trusts this cluster's service-account tokens) or spec.kubeConfig.secretRef`,
    );
  }
  const address = data.address?.trim();
  if (!address) throw new Error(`kubeconfig ConfigMap ${where}: key 'address' is required for provider 'generic'`);
  if (!URL.canParse(address)) throw new Error(`kubeconfig ConfigMap ${where}: address '${address}' is not a URL`);
  const audiences = (data.audiences ?? '')
    .split('\n')
    .map((s) => s.trim())
    .filter(Boolean);
  const caCert = data['ca.crt'];
  if (caCert !== undefined && !caCert.includes('-----BEGIN CERTIFICATE-----')) throw new Error(`kubeconfig ConfigMap ${where}: ca.crt is not a PEM certificate`);
  return { address, caCert: caCert || undefined, audiences: audiences.length ? audiences : [address], serviceAccountName: data.serviceAccountName?.trim() || undefined };
}

/** The kubeconfig for `params` with a bearer token. */
export function kubeconfigFor(params: KubeConfigParams, token: string): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'remote', cluster: { server: params.address, ...(params.caCert ? { 'certificate-authority-data': Buffer.from(params.caCert).toString('base64') } : {}) } }],
    users: [{ name: 'remote', user: { token } }],
    contexts: [{ name: 'remote', context: { cluster: 'remote', user: 'remote' } }],
    'current-context': 'remote',
  });
}

/** A service-account token and when it expires (ms since the epoch). */
export interface IssuedToken {
  token: string;
  expiresAt: number;
}

const TOKEN_SECONDS = 3600;
const SA_TOKEN_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/**
 * A token for the service account through the TokenRequest API, or for the
 * controller's own service account (read from its mounted token) when the
 * ConfigMap names none.
 */
export async function requestToken(client: KubeClient, namespace: string, params: KubeConfigParams, where: string): Promise<IssuedToken> {
  let ns = namespace;
  let name = params.serviceAccountName;
  if (!name) {
    const own = ownServiceAccount();
    if (!own) {
      throw new Error(`kubeconfig ConfigMap ${where}: no serviceAccountName, and the controller runs without a service account of its own to take a token for; set serviceAccountName`);
    }
    [ns, name] = own;
  }
  try {
    const res = await client.request<{ status: { token: string; expirationTimestamp: string } }>({
      method: 'POST',
      path: `/api/v1/namespaces/${ns}/serviceaccounts/${name}/token`,
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { audiences: params.audiences, expirationSeconds: TOKEN_SECONDS } },
    });
    return { token: res.status.token, expiresAt: Date.parse(res.status.expirationTimestamp) };
  } catch (err) {
    throw new Error(`kubeconfig ConfigMap ${where}: cannot get a token for ServiceAccount '${ns}/${name}': ${(err as Error).message}`);
  }
}

/** [namespace, name] of the service account this process runs as in a cluster, from the `sub` of its mounted token. */
function ownServiceAccount(): [string, string] | undefined {
  let jwt: string;
  try {
    jwt = readFileSync(SA_TOKEN_FILE, 'utf8').trim();
  } catch {
    return undefined;
  }
  try {
    const claims = JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as { sub?: string };
    const m = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(claims.sub ?? '');
    return m ? [m[1]!, m[2]!] : undefined;
  } catch {
    return undefined;
  }
}
