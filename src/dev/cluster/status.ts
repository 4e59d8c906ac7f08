import { join } from 'node:path';
import { KubeClient } from '../../kube/client.ts';
import { isOurProcess } from './processes.ts';
import { clusterDir, componentOrder, kubeconfigPath, readState, type ClusterState, type ComponentName } from './state.ts';
import { sluiceHome } from '../../util/paths.ts';

export interface ComponentStatus {
  name: ComponentName;
  pid?: number;
  running: boolean;
}

export interface ClusterStatus {
  state?: ClusterState;
  components: ComponentStatus[];
  /** Every component runs and the API answers /readyz. */
  healthy: boolean;
  server?: string;
  /** The API server's /version gitVersion, when it answers. */
  version?: string;
  kubeconfig: string;
  logDir: string;
}

export async function clusterStatus(home = sluiceHome()): Promise<ClusterStatus> {
  const state = readState(home);
  const components = componentOrder.map((name) => {
    const pid = state?.pids[name];
    return { name, pid, running: !!(state && pid && isOurProcess(pid, state.binary, name)) };
  });
  const server = state ? `https://127.0.0.1:${state.ports.apiserver}` : undefined;
  let healthy = false;
  let version: string | undefined;
  if (state && components.every((c) => c.running)) {
    const client = await KubeClient.fromFile(join(clusterDir(home), 'pki', 'admin.kubeconfig'), undefined, {
      timeoutMs: 3_000,
    }).catch(() => undefined);
    if (client) {
      healthy = await client.request({ path: '/readyz' }).then(
        () => true,
        () => false,
      );
      if (healthy) {
        version = await client.request<{ gitVersion?: string }>({ path: '/version' }).then(
          (v) => v.gitVersion,
          () => undefined,
        );
      }
      client.close();
    }
  }
  return { state, components, healthy, server, version, kubeconfig: kubeconfigPath(home), logDir: join(clusterDir(home), 'logs') };
}
