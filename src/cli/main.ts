// src/cli: the `sluice` command; this file dispatches to one file per verb.
import { clusterCommand } from './cluster.ts';
import { toolsCommand } from './tools.ts';

type Verb = (args: string[]) => Promise<number>;

const verbs: Record<string, { run: () => Promise<Verb>; help: string }> = {
  cluster: { run: async () => clusterCommand, help: 'cluster up|down|status   manage the local control plane' },
  apply: { run: async () => (await import('./apply.ts')).applyCommand, help: 'apply DIR|-              server-side apply manifests (--prune --wait --timeout --name)' },
  diff: { run: async () => (await import('./diff.ts')).diffCommand, help: 'diff DIR|-               show what apply would change (exit 1 when it would)' },
  get: { run: async () => (await import('./get.ts')).getCommand, help: 'get KIND [NAME]          list sources, Kustomizations, HelmReleases and their status (-A, -o, -w)' },
  reconcile: { run: async () => (await import('./reconcile.ts')).reconcileCommand, help: 'reconcile KIND NAME      ask for a reconcile now and wait for it (--with-source, --force)' },
  history: { run: async () => (await import('./history.ts')).historyCommand, help: 'history ks|hr NAME       revisions applied: a Kustomization\'s record, a HelmRelease\'s Helm storage' },
  rollback: { run: async () => (await import('./rollback.ts')).rollbackCommand, help: 'rollback ks|hr NAME      pin to an older revision (--to R|previous) until --clear' },
  suspend: { run: async () => (await import('./suspend.ts')).suspendCommand, help: 'suspend KIND NAME|--all  stop reconciling (spec.suspend: true)' },
  resume: { run: async () => (await import('./suspend.ts')).resumeCommand, help: 'resume KIND NAME|--all   reconcile again and wait for it (--wait=false to not wait)' },
  migrate: { run: async () => (await import('./migrate.ts')).migrateCommand, help: 'migrate [-f PATH]        move Flux objects (files, or the cluster) to the API versions Flux 2.9 serves' },
  bootstrap: { run: async () => (await import('./bootstrap.ts')).bootstrapCommand, help: 'bootstrap git --url U --path P   commit the sync manifests, install, and let Sluice manage itself from Git' },
  install: { run: async () => (await import('./install.ts')).installCommand, help: 'install [--export]       install the CRDs, RBAC and controller (or print them)' },
  uninstall: { run: async () => (await import('./uninstall.ts')).uninstallCommand, help: 'uninstall [-n NS]         remove Sluice, keep what it deployed (--keep-namespace, --dry-run, --silent)' },
  check: { run: async () => (await import('./check.ts')).checkCommand, help: 'check [--pre]            the cluster\'s version, the controllers, the CRDs and version skew' },
  controller: { run: async () => (await import('./controller.ts')).controllerCommand, help: 'controller               run the controllers with the current kubeconfig' },
  image: { run: async () => (await import('./image.ts')).imageCommand, help: 'image build              build the container image as an OCI layout (--push REGISTRY/REPO:TAG)' },
  tools: { run: async () => toolsCommand, help: 'tools install            build the pinned Go binaries Sluice uses' },
  demo: { run: async () => (await import('./demo.ts')).demoCommand, help: 'demo                     run the demo (what `npm start` does)' },
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
    process.stderr.write(`sluice ${verb}: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

function printHelp(): void {
  process.stdout.write('usage: sluice <command> [flags]\n\ncommands:\n');
  for (const v of Object.values(verbs)) process.stdout.write(`  ${v.help}\n`);
}
