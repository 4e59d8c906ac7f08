// OCI addresses and credentials: oci:// URLs split into host and path,
// username and password from a Secret or a .dockerconfigjson, redaction.
import { RepositoryError } from '../errors.ts';

/** An OCI repository address split into its registry host and repository path. */
export interface OciRepositoryRef {
  /** host[:port], as a registry config file keys it. */
  host: string;
  /** Repository path inside the registry, without leading or trailing slashes (may be empty for a bare host). */
  path: string;
}

/** Parses `oci://host[:port]/path`; anything else is a URLInvalid RepositoryError. */
export function parseOciUrl(url: string): OciRepositoryRef {
  const m = /^oci:\/\/([^/?#@\s]+)(\/[^?#@\s]*)?$/.exec(url.trim());
  if (!m) throw new RepositoryError(`invalid OCI registry URL: '${url}' (want oci://host[:port]/path)`, 'URLInvalid');
  const host = m[1]!;
  const path = (m[2] ?? '').replace(/^\/+|\/+$/g, '');
  if (path.split('/').some((seg) => seg && !/^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/.test(seg))) {
    throw new RepositoryError(`invalid OCI registry URL: '${url}': repository path segments must be lowercase letters, digits and separators`, 'URLInvalid');
  }
  return { host, path };
}

/** Username and password for a registry, from a Secret's data. */
export interface RegistryCredentials {
  username: string;
  password: string;
}

/**
 * Credentials for `host` from a Secret: `username` and `password` keys, or a
 * `.dockerconfigjson` (kubernetes.io/dockerconfigjson) holding an entry for
 * the host. Undefined when the Secret has none for this host.
 */
export function credentialsFromSecret(data: Record<string, Buffer>, host: string): RegistryCredentials | undefined {
  if (data.username || data.password) return { username: data.username?.toString('utf8') ?? '', password: data.password?.toString('utf8') ?? '' };
  const raw = data['.dockerconfigjson'];
  if (!raw) return undefined;
  let doc: { auths?: Record<string, { auth?: string; username?: string; password?: string }> };
  try {
    doc = JSON.parse(raw.toString('utf8'));
  } catch {
    // The content may hold secrets: never echo it.
    throw new RepositoryError('the .dockerconfigjson of the secret is not valid JSON', 'AuthenticationFailed');
  }
  for (const [key, entry] of Object.entries(doc.auths ?? {})) {
    if (registryHostOf(key) !== host) continue;
    if (entry.username !== undefined || entry.password !== undefined) return { username: entry.username ?? '', password: entry.password ?? '' };
    if (entry.auth) {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
      const i = decoded.indexOf(':');
      if (i > 0) return { username: decoded.slice(0, i), password: decoded.slice(i + 1) };
    }
  }
  return undefined;
}

/** `https://host/v1/`, `host/path` or `host` → `host` (docker config keys come in all these shapes). */
function registryHostOf(key: string): string {
  return key.replace(/^[a-z]+:\/\//, '').split('/')[0]!;
}

/** Removes every occurrence of the secrets from a message (a registry or helm error must never carry them). */
export function redactSecrets(message: string, creds: RegistryCredentials | undefined): string {
  if (!creds) return message;
  let out = message;
  const secrets = [creds.password, Buffer.from(`${creds.username}:${creds.password}`).toString('base64')].filter((s) => s.length >= 3);
  for (const s of secrets) out = out.split(s).join('***');
  return out;
}
