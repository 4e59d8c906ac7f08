// Pulling one chart version from an OCI registry with helm, with the
// repository's credentials in a private registry config.
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { HelmCli } from '../../tools/helmcli.ts';
import type { RegistryCredentials } from '../oci/ref.ts';
import { registryConfigJson } from './ociref.ts';

export interface OciPullRequest {
  /** oci://host[:port]/path/chart */
  ref: string;
  /** host[:port], the key of the credentials in the registry config. */
  host: string;
  /** Exact chart version. */
  version: string;
  /** Directory the .tgz is written to (created if needed). */
  destination: string;
  /** Plain HTTP (spec.insecure). */
  plainHttp?: boolean;
  credentials?: RegistryCredentials;
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer };
  timeoutMs?: number;
}

/**
 * `helm pull oci://… --version X`: the path of the .tgz pulled. The
 * credentials go into a registry config file private to this one command
 * (HELM_REGISTRY_CONFIG, mode 0600, removed afterwards), never onto the
 * command line; without credentials the file is empty, so no login left
 * behind by anything else can be used.
 */
export async function pullOciChart(cli: HelmCli, r: OciPullRequest): Promise<string> {
  await mkdir(r.destination, { recursive: true });
  const files: Record<string, string> = { 'registry.json': registryConfigJson(r.host, r.credentials) };
  const args = ['pull', r.ref, '--version', r.version, '--destination', r.destination];
  if (r.plainHttp) args.push('--plain-http');
  for (const [key, flagName] of [['ca', '--ca-file'], ['cert', '--cert-file'], ['key', '--key-file']] as const) {
    const pem = r.tls?.[key];
    if (!pem) continue;
    files[`${key}.pem`] = pem.toString('utf8');
    args.push(flagName, `@file:${key}.pem`);
  }
  await cli.run(args, { files, env: { HELM_REGISTRY_CONFIG: '@file:registry.json' }, timeoutMs: r.timeoutMs });
  const made = (await readdir(r.destination)).filter((f) => f.endsWith('.tgz'));
  if (made.length !== 1) throw new Error(`helm pull left ${made.length} archives in ${r.destination}`);
  return join(r.destination, made[0]!);
}
