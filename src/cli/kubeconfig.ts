import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { KubeClient, type KubeClientOptions } from '../kube/client.ts';
import { kubeconfigPath } from '../dev/cluster/state.ts';

/**
 * The kubeconfig a command uses, as kubectl picks it (--kubeconfig, then
 * KUBECONFIG, then ~/.kube/config), falling back to the local cluster's.
 */
export function resolveKubeconfig(flag?: string): string | undefined {
  if (flag) return flag;
  if (process.env.KUBECONFIG) return undefined; // @kubernetes/client-node reads it (with its list syntax)
  const home = join(homedir(), '.kube', 'config');
  if (existsSync(home)) return home;
  const local = kubeconfigPath();
  if (existsSync(local)) return local;
  throw new Error('no kubeconfig: pass --kubeconfig, set KUBECONFIG, or start the local cluster with `sluice cluster up`');
}

export function clientFromFlags(flags: { kubeconfig?: string; context?: string }, opts: KubeClientOptions = {}): Promise<KubeClient> {
  return KubeClient.fromFile(resolveKubeconfig(flags.kubeconfig), flags.context, opts);
}

/**
 * Flags every command that talks to a cluster accepts, as flux's global
 * flags: --timeout is used where a command waits (and accepted elsewhere),
 * --verbose prints an error's stack.
 */
export const clusterFlags = {
  kubeconfig: { type: 'string' },
  context: { type: 'string' },
  timeout: { type: 'string' },
  verbose: { type: 'boolean' },
} as const;
