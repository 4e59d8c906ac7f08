// A private local control plane for the tests that break a cluster (restart
// its API server or etcd): its own SLUICE_HOME in a temporary directory, so
// its own loopback ports, never the shared cluster other test files use.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { upCluster } from '../../src/dev/cluster/up.ts';
import { stopCluster } from '../../src/dev/cluster/down.ts';
import { restartComponent, startComponent, stopComponent } from '../../src/dev/cluster/restart.ts';
import { clusterDir, type ClusterProfile, type ComponentName } from '../../src/dev/cluster/state.ts';
import { KubeClient } from '../../src/kube/client.ts';

export interface PrivateCluster {
  home: string;
  dir: string;
  kubeconfig: string;
  server: string;
  client: KubeClient;
  startSeconds: number;
  restart(name: ComponentName, opts?: { kill?: boolean; downMs?: number }): Promise<void>;
  stop(name: ComponentName, opts?: { kill?: boolean }): Promise<void>;
  start(name: ComponentName): Promise<void>;
  /** Stops every component and deletes the cluster's files. */
  purge(): Promise<void>;
}

export async function privateCluster(label: string, opts: { profile?: ClusterProfile; nodes?: number } = {}): Promise<PrivateCluster> {
  const home = await mkdtemp(join(tmpdir(), `sluice-faults-${label}-`));
  const purge = async () => {
    await stopCluster(home);
    await rm(home, { recursive: true, force: true });
  };
  try {
    const r = await upCluster({ home, profile: opts.profile ?? 'default', nodes: opts.nodes ?? 1, timeoutMs: 240_000, log: (m) => process.stderr.write(`# [${label} cluster] ${m}\n`) });
    const client = await KubeClient.fromFile(r.kubeconfig);
    process.stderr.write(`# private cluster ${label} at ${r.server}, started in ${r.startSeconds.toFixed(1)} s\n`);
    return {
      home,
      dir: clusterDir(home),
      kubeconfig: r.kubeconfig,
      server: r.server,
      client,
      startSeconds: r.startSeconds,
      restart: (name, o = {}) => restartComponent(name, { home, ...o }),
      stop: (name, o = {}) => stopComponent(name, { home, ...o }),
      start: (name) => startComponent(name, { home }),
      purge: async () => {
        client.close();
        await purge();
      },
    };
  } catch (err) {
    await purge();
    throw err;
  }
}

/** Waits until the API server answers /readyz again. */
export async function untilApiReady(client: KubeClient, timeoutMs = 90_000): Promise<number> {
  const start = Date.now();
  for (;;) {
    try {
      await client.request({ path: '/readyz' });
      return Date.now() - start;
    } catch {
      if (Date.now() - start > timeoutMs) throw new Error(`the API server was not ready within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
