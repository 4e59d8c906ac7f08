// src/dev: the development harness, not the product. dev/cluster builds and
// runs the local control plane (the Go module in cluster/), dev/demo is
// `npm start`, dev/gitserver the loopback git server the demo and tests use.
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { KubeClient } from '../../kube/client.ts';
import { run } from '../../util/exec.ts';
import { ensureClusterBinary } from './build.ts';
import { freePort, portAnswers, portIsFree } from './ports.ts';
import { isOurProcess, startDetached } from './processes.ts';
import {
  clusterDir,
  componentOrder,
  kubeconfigPath,
  readState,
  writeState,
  type ClusterProfile,
  type ClusterState,
  type ComponentName,
  type Ports,
} from './state.ts';
import { componentArgs } from './flags.ts';
import { writeAuditPolicy } from './audit.ts';
import { clusterStatus } from './status.ts';
import { stopCluster } from './down.ts';
import { sluiceHome } from '../../util/paths.ts';
import { ensureNodes, waitNodesReady } from './nodes.ts';

export interface UpOptions {
  home?: string;
  /** A running cluster with another profile is restarted with this one. */
  profile?: ClusterProfile;
  nodes?: number;
  log?: (msg: string) => void;
  /** Overall budget for the start after the build. */
  timeoutMs?: number;
}

export interface UpResult {
  kubeconfig: string;
  server: string;
  reused: boolean;
  startSeconds: number;
  buildSeconds: number;
}

/**
 * Brings the local control plane up: builds the binary if the cache lacks it,
 * starts etcd, the API server, the controller manager, the scheduler and
 * KWOK, registers fake nodes and waits until they are Ready. A cluster that
 * already runs under this SLUICE_HOME is reused.
 */
export async function upCluster(opts: UpOptions = {}): Promise<UpResult> {
  const home = opts.home ?? sluiceHome();
  const log = opts.log ?? (() => {});
  // With no profile asked for, any running cluster will do.
  const profile = opts.profile ?? readState(home)?.profile ?? 'default';
  const nodeCount = opts.nodes ?? 2;

  const buildStart = Date.now();
  const binary = await ensureClusterBinary(log);
  const buildSeconds = (Date.now() - buildStart) / 1000;

  const existing = await clusterStatus(home);
  if (existing.healthy && existing.state?.profile === profile) {
    return {
      kubeconfig: kubeconfigPath(home),
      server: existing.server!,
      reused: true,
      startSeconds: 0,
      buildSeconds,
    };
  }
  if (existing.state) {
    log(existing.healthy ? `restarting the cluster with the ${profile} profile` : 'cleaning up a cluster that is not healthy');
    await stopCluster(home);
  }

  const started = Date.now();
  const deadline = started + (opts.timeoutMs ?? 120_000);
  const dir = clusterDir(home);
  const pkiDir = join(dir, 'pki');
  const logDir = join(dir, 'logs');
  await mkdir(logDir, { recursive: true });

  const ports = await choosePorts(dir);
  if (profile === 'bench') await writeAuditPolicy(dir);
  await run(binary, ['pki', `--dir=${pkiDir}`, `--server=https://127.0.0.1:${ports.apiserver}`]);
  const state: ClusterState = { binary, ports, pids: {}, startedAt: new Date().toISOString(), profile };

  const start = async (name: ComponentName) => {
    const args = componentArgs(name, { dir, pkiDir, ports, profile });
    state.pids[name] = startDetached(binary, [name, ...args], join(logDir, `${name}.log`));
    await writeState(state, home);
  };
  const ensureAlive = (name: ComponentName) => {
    const pid = state.pids[name];
    if (!pid || !isOurProcess(pid, binary, name)) {
      throw new Error(`${name} exited during start-up; see ${join(logDir, `${name}.log`)}`);
    }
  };

  try {
    await start('etcd');
    await waitFor('etcd', deadline, async () => {
      ensureAlive('etcd');
      return portAnswers(ports.etcdClient);
    });

    await start('kube-apiserver');
    const admin = await KubeClient.fromFile(join(pkiDir, 'admin.kubeconfig'), undefined, { timeoutMs: 5_000 });
    try {
      await waitFor('kube-apiserver', deadline, async () => {
        ensureAlive('kube-apiserver');
        return apiReady(admin);
      });
      // The others only need the API; start them together.
      for (const name of componentOrder.slice(2)) await start(name);
      await ensureNodes(admin, nodeCount);
      await waitFor('nodes Ready', deadline, async () => {
        for (const name of componentOrder) ensureAlive(name);
        return waitNodesReady(admin, nodeCount);
      });
      await waitFor('default service account', deadline, async () => {
        ensureAlive('kube-controller-manager');
        return (await admin.getOrUndefined('/api/v1/namespaces/default/serviceaccounts/default')) !== undefined;
      });
    } finally {
      admin.close();
    }
  } catch (err) {
    await stopCluster(home);
    throw err;
  }

  await copyFile(join(pkiDir, 'admin.kubeconfig'), kubeconfigPath(home));
  return {
    kubeconfig: kubeconfigPath(home),
    server: `https://127.0.0.1:${ports.apiserver}`,
    reused: false,
    startSeconds: (Date.now() - started) / 1000,
    buildSeconds,
  };
}

async function apiReady(client: KubeClient): Promise<boolean> {
  try {
    await client.request({ path: '/readyz' });
    return true;
  } catch {
    return false;
  }
}

async function waitFor(what: string, deadline: number, check: () => Promise<boolean>): Promise<void> {
  let delay = 50;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 500);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * Ports are kept per SLUICE_HOME so a restart reuses them (kubeconfigs stay
 * valid, etcd's member URL stays the same); a port taken by something else
 * meanwhile is replaced by a fresh one.
 */
async function choosePorts(dir: string): Promise<Ports> {
  const file = join(dir, 'ports.json');
  const previous: Partial<Ports> = existsSync(file) ? JSON.parse(await readFile(file, 'utf8')) : {};
  const keys: Array<keyof Ports> = ['etcdClient', 'etcdPeer', 'apiserver', 'controllerManager', 'scheduler', 'kwok'];
  const ports = {} as Ports;
  const taken = new Set<number>();
  for (const k of keys) {
    const old = previous[k];
    let port = old && !taken.has(old) && (await portIsFree(old)) ? old : await freePort();
    while (taken.has(port)) port = await freePort();
    taken.add(port);
    ports[k] = port;
  }
  await writeFile(file, JSON.stringify(ports, null, 2) + '\n');
  return ports;
}

export { readState };
