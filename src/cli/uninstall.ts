// `sluice uninstall`: Flux's `flux uninstall` (see src/install/uninstall.ts).
// The cluster is printed and the plan confirmed unless --silent.
import { uninstall, UninstallError, planUninstall, describePlan } from '../install/uninstall.ts';
import { findInstallations } from '../install/installations.ts';
import type { KubeClient } from '../kube/client.ts';
import { parseDuration } from '../util/duration.ts';
import { clientFromFlags, clusterFlags } from './kubeconfig.ts';
import { confirm } from './confirm.ts';
import { startVerb } from './verb.ts';

const usage = `usage: sluice uninstall [flags]
Removes Sluice from the cluster: the controller, its RBAC, Services, the
Flux finalizers of its objects, its namespace, and (when no other Sluice or
Flux installation is left in the cluster) the CRDs. The workloads Sluice
deployed keep running. Another installation on the same cluster keeps its
CRDs and objects.
  -n, --namespace NS     the installation's namespace (default: the only Sluice
                         installation in the cluster, else flux-system)
  --keep-namespace       keep the namespace
  --keep-crds            keep the CRDs even when this is the last installation
  --dry-run              print what would be deleted, change nothing
  -s, --silent           do not ask for confirmation (also -y, --yes)
  --timeout D            for each wait (default 5m)
  --kubeconfig FILE  --context NAME
examples:
  sluice uninstall --namespace flux-dev --silent
  sluice uninstall --keep-namespace --dry-run
`;

/** Without -n: the one Sluice installation there is, or Flux's default namespace. */
async function defaultNamespace(client: KubeClient): Promise<string> {
  const sluice = (await findInstallations(client)).filter((i) => i.distribution === 'sluice');
  return sluice.length === 1 ? sluice[0]!.namespace : 'flux-system';
}

export async function uninstallCommand(args: string[]): Promise<number> {
  const { values: v, help, fail: usageError } = startVerb('uninstall', usage, args, {
    ...clusterFlags,
    namespace: { type: 'string', short: 'n' },
    'keep-namespace': { type: 'boolean', default: false },
    'keep-crds': { type: 'boolean', default: false },
    'dry-run': { type: 'boolean', default: false },
    silent: { type: 'boolean', short: 's', default: false },
    yes: { type: 'boolean', short: 'y', default: false },
    timeout: { type: 'string', default: '5m' },
  });
  if (help !== undefined) return help;
  const fail = (msg: string) => (process.stderr.write(`sluice uninstall: ${msg}\n`), 1);
  let timeoutMs: number;
  try {
    timeoutMs = parseDuration(v.timeout);
  } catch (err) {
    return usageError(`--timeout: ${(err as Error).message}`);
  }
  const say = (line: string) => process.stdout.write(`${line}\n`);
  const client = await clientFromFlags(v);
  try {
    say(`► cluster: context "${client.contextName}", API server ${client.server}`);
    const namespace = v.namespace ?? (await defaultNamespace(client));
    const o = { client, namespace, keepNamespace: v['keep-namespace'], keepCrds: v['keep-crds'], dryRun: v['dry-run'], timeoutMs, say };
    if (!v['dry-run'] && !v.silent && !v.yes) {
      for (const line of describePlan(await planUninstall(o), o)) say(`► ${line}`);
      if (!(await confirm('uninstall Sluice from this cluster?'))) return fail('not confirmed: check the cluster and the plan above and pass --silent (or answer y on a terminal)');
      o.say = (line) => !line.startsWith('► ') && say(line);
    }
    await uninstall(o);
    return 0;
  } catch (err) {
    if (err instanceof UninstallError) return fail(err.message);
    throw err;
  } finally {
    client.close();
  }
}
