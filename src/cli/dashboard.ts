// `sluice dashboard`: the web dashboard on this machine, with the user's
// kubeconfig. Its own informers (one list+watch per kind) feed the page;
// actions are done with the user's own rights.
import { spawn } from 'node:child_process';
import { Informer } from '../kube/informer.ts';
import { consoleLogger } from '../util/log.ts';
import { collectionPath, type UiKind } from '../ui/kinds.ts';
import { startDashboard } from '../ui/server.ts';
import { DashboardStore } from '../ui/store.ts';
import { takeBoolFlag } from './args.ts';
import { clientFromFlags, clusterFlags } from './kubeconfig.ts';
import { startVerb } from './verb.ts';

const usage = `usage: sluice dashboard [flags]
Serves the live dashboard on this machine: every Kustomization, HelmRelease
and source, their details, the dependsOn graph, and reconcile, suspend and
resume done with your kubeconfig's rights.

  --port N              port (default 9090; 0 picks a free one)
  -n, --namespace NS    only this namespace (default: every namespace; for users who may not list cluster-wide)
  --address HOST        address to listen on (default 127.0.0.1)
  --open[=true|false]   open the page in a browser (default true on a terminal)
  --kubeconfig FILE  --context NAME

examples:
  sluice dashboard
  sluice dashboard --port 0 --open=false --context prod
  sluice dashboard -n team-a
`;

export async function dashboardCommand(argv: string[]): Promise<number> {
  const open = takeBoolFlag(argv, 'open', true);
  if ('error' in open) {
    process.stderr.write(`sluice dashboard: ${open.error}\n${usage}`);
    return 2;
  }
  const { values, help, fail, positionals } = startVerb('dashboard', usage, open.args, {
    ...clusterFlags,
    port: { type: 'string', default: '9090' },
    address: { type: 'string', default: '127.0.0.1' },
    namespace: { type: 'string', short: 'n' },
  });
  if (help !== undefined) return help;
  if (positionals.length) return fail(`unexpected argument "${positionals[0]}"`);
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) return fail(`--port: expected a port number, got "${values.port}"`);
  const log = consoleLogger({}, 'info');
  const client = await clientFromFlags(values);
  const ns = values.namespace;
  const path = (k: UiKind) => (ns ? `/apis/${k.group}/${k.version}/namespaces/${encodeURIComponent(ns)}/${k.plural}` : collectionPath(k));
  const store = new DashboardStore((k) => new Informer(client, path(k), { onError: (err) => log.error('watch failed', { kind: k.kind, error: String(err) }) }), true);
  await store.start();
  for (const [kind, why] of store.unavailable) process.stderr.write(`sluice dashboard: ${kind} not shown: ${why}${ns ? '' : ' (-n NS shows one namespace)'}\n`);
  const address = values.address.includes(':') ? `[${values.address}]:${port}` : `${values.address}:${port}`;
  const server = await startDashboard({ store, client, log, address, mode: 'local', actions: true });
  process.stdout.write(`dashboard: ${server.url} (${store.size} objects; Ctrl-C stops it)\n`);
  if (open.value && process.stdout.isTTY) {
    const child = spawn('xdg-open', [server.url], { stdio: 'ignore', detached: true });
    child.on('error', () => undefined);
    child.unref();
  }
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await server.close();
  store.stop();
  client.close();
  return 0;
}
