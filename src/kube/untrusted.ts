import { parse } from 'yaml';

/**
 * A kubeconfig that a user put in a Secret (spec.kubeConfig.secretRef) runs
 * inside the controller with the controller's files and rights. Whatever in
 * it would reach beyond the text itself is refused before it is used:
 *
 * - `exec` and `auth-provider` run programs in the controller's process (a
 *   tenant could read the controller's token or anything else it can read);
 * - file references (`tokenFile`, `client-certificate`, `client-key`,
 *   `certificate-authority`) read the controller's own files, for example
 *   its service-account token, and send them to a server the user chose;
 * - `insecure-skip-tls-verify` on an https server would send the credentials
 *   to whoever answers.
 *
 * Flux refuses the same by default (--insecure-kubeconfig-exec and
 * --insecure-kubeconfig-tls are off); Sluice has no switch to allow them.
 */
export class UntrustedKubeconfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UntrustedKubeconfigError';
  }
}

const USER_FILE_FIELDS = ['tokenFile', 'client-certificate', 'client-key'] as const;
const CLUSTER_FILE_FIELDS = ['certificate-authority'] as const;

type Named = { name?: unknown; user?: unknown; cluster?: unknown };

function entries(v: unknown): Named[] {
  return Array.isArray(v) ? (v.filter((e) => e && typeof e === 'object') as Named[]) : [];
}

/**
 * Throws UntrustedKubeconfigError naming `where` (e.g. "Secret 'ns/name' key
 * 'value'") and the offending field when the kubeconfig text uses a
 * credential plugin, a file or disables TLS verification. The message never
 * quotes values: they may be credentials.
 */
export function checkUntrustedKubeconfig(text: string, where: string): void {
  let raw: Record<string, unknown>;
  try {
    raw = (parse(text, { maxAliasCount: 100 }) ?? {}) as Record<string, unknown>;
  } catch (err) {
    // The parser's message holds a code frame of the text: leave it out.
    throw new UntrustedKubeconfigError(`${where}: not a valid kubeconfig (YAML: ${String((err as Error).message).split('\n')[0]?.replace(/:.*$/, '')})`);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new UntrustedKubeconfigError(`${where}: not a valid kubeconfig (not a mapping)`);
  for (const u of entries(raw.users)) {
    const user = (u.user && typeof u.user === 'object' ? u.user : {}) as Record<string, unknown>;
    const name = typeof u.name === 'string' ? u.name : '?';
    if (user.exec !== undefined && user.exec !== null) {
      throw new UntrustedKubeconfigError(`${where}: users[${JSON.stringify(name)}].user.exec is refused: a kubeconfig from a Secret may not run programs in the controller`);
    }
    if (user['auth-provider'] !== undefined && user['auth-provider'] !== null) {
      throw new UntrustedKubeconfigError(`${where}: users[${JSON.stringify(name)}].user.auth-provider is refused: a kubeconfig from a Secret may not run credential plugins in the controller`);
    }
    for (const f of USER_FILE_FIELDS) {
      if (user[f] !== undefined && user[f] !== null && user[f] !== '') {
        throw new UntrustedKubeconfigError(`${where}: users[${JSON.stringify(name)}].user.${f} is refused: a kubeconfig from a Secret may not read the controller's files (put the data inline, ${f === 'tokenFile' ? 'token' : `${f}-data`})`);
      }
    }
  }
  for (const c of entries(raw.clusters)) {
    const cluster = (c.cluster && typeof c.cluster === 'object' ? c.cluster : {}) as Record<string, unknown>;
    const name = typeof c.name === 'string' ? c.name : '?';
    for (const f of CLUSTER_FILE_FIELDS) {
      if (cluster[f] !== undefined && cluster[f] !== null && cluster[f] !== '') {
        throw new UntrustedKubeconfigError(`${where}: clusters[${JSON.stringify(name)}].cluster.${f} is refused: a kubeconfig from a Secret may not read the controller's files (put the data inline, ${f}-data)`);
      }
    }
    // Only where there is TLS to skip: a plain http:// server (a loopback proxy) has none.
    const https = typeof cluster.server === 'string' && cluster.server.startsWith('https:');
    if (https && (cluster['insecure-skip-tls-verify'] === true || cluster['insecure-skip-tls-verify'] === 'true')) {
      throw new UntrustedKubeconfigError(`${where}: clusters[${JSON.stringify(name)}].cluster.insecure-skip-tls-verify is refused: credentials from a Secret are sent only to a verified server`);
    }
  }
}
