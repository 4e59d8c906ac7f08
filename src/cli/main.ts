// src/cli: the `sluice` command; this file dispatches to one file per verb.
import { clusterCommand } from './cluster.ts';
import { toolsCommand } from './tools.ts';

type Verb = (args: string[]) => Promise<number>;

const verbs: Record<string, { run: () => Promise<Verb>; help: Array<[synopsis: string, what: string]> }> = {
  cluster: { run: async () => clusterCommand, help: [['cluster up|down|status', 'manage the local control plane']] },
  apply: { run: async () => (await import('./apply.ts')).applyCommand, help: [['apply DIR|-', 'server-side apply manifests (--prune --wait --timeout --name)']] },
  diff: { run: async () => (await import('./diff.ts')).diffCommand, help: [['diff DIR|-', 'show what apply would change (exit 1 when it would)'], ['diff ks NAME --path DIR', 'what a local directory would change for a Kustomization (-o markdown); diff hr NAME: a release\'s drift']] },
  build: { run: async () => (await import('./build.ts')).buildCommand, help: [['build ks NAME --path DIR', 'build a local directory as the controller would build the Kustomization']] },
  get: { run: async () => (await import('./get.ts')).getCommand, help: [['get KIND [NAME]', 'list sources, Kustomizations, HelmReleases and their status (-A, -o, -w)']] },
  reconcile: { run: async () => (await import('./reconcile.ts')).reconcileCommand, help: [['reconcile KIND NAME', 'ask for a reconcile now and wait for it (--with-source, --force)']] },
  history: { run: async () => (await import('./history.ts')).historyCommand, help: [['history ks|hr NAME', 'revisions applied: a Kustomization\'s record, a HelmRelease\'s Helm storage']] },
  rollback: { run: async () => (await import('./rollback.ts')).rollbackCommand, help: [['rollback ks|hr NAME', 'pin to an older revision (--to R|previous) until --clear']] },
  suspend: { run: async () => (await import('./suspend.ts')).suspendCommand, help: [['suspend KIND NAME|--all', 'stop reconciling (spec.suspend: true)']] },
  resume: { run: async () => (await import('./suspend.ts')).resumeCommand, help: [['resume KIND NAME|--all', 'reconcile again and wait for it (--wait=false to not wait)']] },
  wait: { run: async () => (await import('./wait.ts')).waitCommand, help: [['wait ks|hr NAME --for-revision SHA', 'wait until a revision is applied and healthy (CI; exit 0, 1 failed, 2 timeout)']] },
  export: { run: async () => (await import('./export.ts')).exportCommand, help: [['export KIND NAME|--all', 'print objects as clean YAML to commit (no status, no server fields)']] },
  delete: { run: async () => (await import('./delete.ts')).deleteCommand, help: [['delete KIND NAME', 'delete an object, after asking (--silent)']] },
  events: { run: async () => (await import('./events.ts')).eventsCommand, help: [['events [--for KIND/NAME]', 'events of the Flux kinds, oldest first (-A, -w, --types Warning)']] },
  tree: { run: async () => (await import('./tree.ts')).treeCommand, help: [['tree ks NAME', 'a Kustomization\'s inventory as a tree, nested ones expanded (--health, --compact)']] },
  trace: { run: async () => (await import('./trace.ts')).traceCommand, help: [['trace KIND NAME', 'which Kustomization or HelmRelease manages a live object, from which source and revision']] },
  dashboard: { run: async () => (await import('./dashboard.ts')).dashboardCommand, help: [['dashboard [--port 9090]', 'the live web dashboard on this machine, acting with your kubeconfig (--address, --open=false)']] },
  stats: { run: async () => (await import('./stats.ts')).statsCommand, help: [['stats [-A]', 'reconcilers per kind: running, failing, suspended, artifact storage']] },
  version: { run: async () => (await import('./version.ts')).versionCommand, help: [['version [--client]', 'client, controller and API versions']] },
  logs: { run: async () => (await import('./logs.ts')).logsCommand, help: [['logs [--kind --name]', 'the controller\'s logs, filtered (--level, --since, -f, --file)']] },
  completion: { run: async () => async (a) => (await import('./completion.ts')).completionCommand(a, Object.keys(verbs)), help: [['completion bash|zsh|fish', 'shell completion script']] },
  create: { run: async () => (await import('./create.ts')).createCommand, help: [['create KIND NAME', 'create a source, Kustomization, HelmRelease or Secret from flags, and wait for it (--export prints it)']] },
  migrate: { run: async () => (await import('./migrate.ts')).migrateCommand, help: [['migrate [-f PATH]', 'move Flux objects (files, or the cluster) to the API versions Flux 2.9 serves']] },
  bootstrap: { run: async () => (await import('./bootstrap.ts')).bootstrapCommand, help: [['bootstrap git --url U --path P', 'commit the sync manifests, install, and let Sluice manage itself from Git'], ['bootstrap --network network.yaml', 'the same for each organization of a Hyperledger Bevel network']] },
  install: { run: async () => (await import('./install.ts')).installCommand, help: [['install [--export]', 'install the CRDs, RBAC and controller (or print them)']] },
  uninstall: { run: async () => (await import('./uninstall.ts')).uninstallCommand, help: [['uninstall [-n NS]', 'remove Sluice, keep what it deployed (--keep-namespace, --dry-run, --silent)']] },
  check: { run: async () => (await import('./check.ts')).checkCommand, help: [['check [--pre]', 'the cluster\'s version, the controllers, the CRDs and version skew']] },
  controller: { run: async () => (await import('./controller.ts')).controllerCommand, help: [['controller', 'run the controllers with the current kubeconfig']] },
  image: { run: async () => (await import('./image.ts')).imageCommand, help: [['image build', 'build the container image as an OCI layout (--push REGISTRY/REPO:TAG)']] },
  tools: { run: async () => toolsCommand, help: [['tools install', 'build the pinned Go binaries Sluice uses']] },
  demo: { run: async () => (await import('./demo.ts')).demoCommand, help: [['demo', 'run the demo (what `npm start` does)']] },
};

export async function main(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  if (!verb || verb === 'help' || verb === '--help' || verb === '-h') {
    printHelp();
    return verb ? 0 : 2;
  }
  const entry = verbs[verb];
  if (!entry) {
    process.stderr.write(`sluice: unknown command "${verb}"\n`);
    printHelp();
    return 2;
  }
  try {
    return await (await entry.run())(rest);
  } catch (err) {
    // node:util parseArgs: an unknown flag, a missing value: a usage error.
    if ((err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`sluice ${verb}: ${(err as Error).message}\nsee sluice ${verb} --help\n`);
      return 2;
    }
    process.stderr.write(`sluice ${verb}: ${err instanceof Error ? err.message : String(err)}\n`);
    if (rest.includes('--verbose') && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    return 1;
  }
}

function printHelp(): void {
  const lines = Object.values(verbs).flatMap((v) => v.help);
  const w = Math.max(...lines.map(([syn]) => syn.length));
  process.stdout.write('usage: sluice <command> [flags]\n\ncommands:\n');
  for (const [syn, what] of lines) process.stdout.write(`  ${syn.padEnd(w)}   ${what}\n`);
  process.stdout.write(`
flags most commands take:
  -n, --namespace NS   the objects' namespace (flux-system by default)
  --kubeconfig FILE    the kubeconfig (else KUBECONFIG, whose files are merged, else ~/.kube/config, else the local cluster's)
  --context NAME       a context of the kubeconfig
  --timeout DURATION   how long to wait, where a command waits
  -h, --help           the command's flags and examples (sluice get --help)

exit codes: 0 success; 1 the operation failed or the object is not Ready; 2 usage errors
(diff: 1 means changes, 2 errors; wait: 2 means timed out)
`);
}
