import { parseArgs } from 'node:util';
import { rm } from 'node:fs/promises';
import { upCluster } from '../dev/cluster/up.ts';
import { stopCluster } from '../dev/cluster/down.ts';
import { clusterStatus } from '../dev/cluster/status.ts';
import { clusterDir } from '../dev/cluster/state.ts';

const usage = `usage: sluice cluster up|down|status [flags]
  up       build if needed, start the local control plane, print the kubeconfig path
    --profile default|bench   bench raises the control plane's client and inflight limits and writes an audit log
    --nodes N                 KWOK fake nodes (default 2)
  down     stop every component
    --purge                   also delete the cluster's data
  status   show what runs, where the API and the logs are
  SLUICE_HOME (default ~/.sluice) holds the cluster; two SLUICE_HOMEs run two clusters side by side.

examples:
  sluice cluster up
  SLUICE_HOME=~/.sluice-bench sluice cluster up --profile bench --nodes 4
  sluice cluster down --purge
`;

export async function clusterCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  // `cluster status --help` must not act: every subcommand answers --help with the usage.
  if (sub === undefined || sub === '--help' || sub === '-h' || rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(usage);
    return sub === undefined ? 2 : 0;
  }
  switch (sub) {
    case 'up': {
      const { values } = parseArgs({
        args: rest,
        options: { profile: { type: 'string' }, nodes: { type: 'string', default: '2' } },
      });
      if (values.profile !== undefined && values.profile !== 'default' && values.profile !== 'bench') {
        process.stderr.write(`--profile must be default or bench, not ${values.profile}\n`);
        return 2;
      }
      const res = await upCluster({
        profile: values.profile,
        nodes: Number(values.nodes),
        log: (m) => process.stderr.write(`${m}\n`),
      });
      process.stderr.write(
        res.reused
          ? `cluster already running at ${res.server}\n`
          : `cluster ready at ${res.server} in ${res.startSeconds.toFixed(1)} s\n`,
      );
      process.stdout.write(`${res.kubeconfig}\n`);
      return 0;
    }
    case 'down': {
      const { values } = parseArgs({ args: rest, options: { purge: { type: 'boolean', default: false } } });
      const stopped = await stopCluster();
      process.stdout.write(stopped.length ? `stopped ${stopped.join(', ')}\n` : 'nothing was running\n');
      if (values.purge) {
        await rm(clusterDir(), { recursive: true, force: true });
        process.stdout.write(`deleted ${clusterDir()}\n`);
      }
      return 0;
    }
    case 'status': {
      const st = await clusterStatus();
      if (!st.state) {
        process.stdout.write('no local cluster (run `sluice cluster up`)\n');
        return 1;
      }
      process.stdout.write(`server:     ${st.server}\nkubeconfig: ${st.kubeconfig}\nlogs:       ${st.logDir}\n`);
      for (const c of st.components) {
        process.stdout.write(`  ${c.name.padEnd(24)} ${c.running ? `running (pid ${c.pid})` : 'stopped'}\n`);
      }
      process.stdout.write(`API: ${st.healthy ? `ready, Kubernetes ${st.version ?? 'version unknown'}` : 'not ready'}\n`);
      return st.healthy ? 0 : 1;
    }
    default:
      process.stderr.write(usage);
      return 2;
  }
}
