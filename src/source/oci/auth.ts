// Registry credentials and TLS for an OCI source, from the Secrets it names.
import { credentialsFromSecret, type RegistryCredentials } from './ref.ts';
import { RepositoryError } from '../errors.ts';
import type { SecretReader } from '../../runtime/secrets.ts';

export interface OciAuth {
  credentials?: RegistryCredentials;
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer };
}

/**
 * Credentials for an OCI registry from the Secrets an OCI source names:
 * `secretRef` holds `username` and `password`, or a `.dockerconfigjson`
 * with an entry for the registry's host; `certSecretRef` holds `ca.crt`,
 * and `tls.crt` with `tls.key` for client authentication. Errors name the
 * Secret, never its content.
 */
export async function ociAuth(
  secrets: SecretReader,
  namespace: string,
  host: string,
  refs: { secretRef?: { name: string }; certSecretRef?: { name: string } },
): Promise<OciAuth> {
  const auth: OciAuth = {};
  const read = async (name: string) => {
    const data = await secrets(namespace, name);
    if (!data) throw new RepositoryError(`failed to get secret '${namespace}/${name}': secrets "${name}" not found`, 'AuthenticationFailed');
    return data;
  };
  if (refs.secretRef) {
    const data = await read(refs.secretRef.name);
    auth.credentials = credentialsFromSecret(data, host);
    if (!auth.credentials) {
      throw new RepositoryError(
        `secret '${namespace}/${refs.secretRef.name}' has neither 'username' and 'password' nor a '.dockerconfigjson' entry for '${host}'`,
        'AuthenticationFailed',
      );
    }
  }
  if (refs.certSecretRef) {
    const data = await read(refs.certSecretRef.name);
    auth.tls = { ca: data['ca.crt'], cert: data['tls.crt'], key: data['tls.key'] };
  }
  return auth;
}
