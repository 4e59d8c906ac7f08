import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sluiceHome } from '../../util/paths.ts';

export type ComponentName =
  | 'etcd'
  | 'kube-apiserver'
  | 'kube-controller-manager'
  | 'kube-scheduler'
  | 'kwok'
  | 'volume-provisioner';

export const componentOrder: ComponentName[] = [
  'etcd',
  'kube-apiserver',
  'kube-controller-manager',
  'kube-scheduler',
  'kwok',
  'volume-provisioner',
];

export interface Ports {
  etcdClient: number;
  etcdPeer: number;
  apiserver: number;
  controllerManager: number;
  scheduler: number;
  kwok: number;
}

export interface ClusterState {
  binary: string;
  ports: Ports;
  pids: Partial<Record<ComponentName, number>>;
  startedAt: string;
  profile: ClusterProfile;
}

/** `bench` raises the control plane's own client and inflight limits. */
export type ClusterProfile = 'default' | 'bench';

export function clusterDir(home = sluiceHome()): string {
  return join(home, 'cluster');
}

export function kubeconfigPath(home = sluiceHome()): string {
  return join(clusterDir(home), 'kubeconfig');
}

export function statePath(home = sluiceHome()): string {
  return join(clusterDir(home), 'state.json');
}

export function readState(home = sluiceHome()): ClusterState | undefined {
  const p = statePath(home);
  if (!existsSync(p)) return undefined;
  try {
    return JSON.parse(readFileSync(p, 'utf8')) as ClusterState;
  } catch {
    return undefined;
  }
}

export async function writeState(state: ClusterState, home = sluiceHome()): Promise<void> {
  await mkdir(clusterDir(home), { recursive: true });
  await writeFile(statePath(home), JSON.stringify(state, null, 2) + '\n');
}
