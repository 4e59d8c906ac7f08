import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ResourceManager } from '../apply/manager.ts';
import { diffObjects } from '../apply/diff.ts';
import { clientFromFlags, clusterFlags } from './kubeconfig.ts';
import { readInput } from './manifests.ts';
import { cliOwnerLabels, ownerFlags } from './owner.ts';

const usage = `usage: sluice diff DIR|FILE|- [-n NAMESPACE] [--name NAME --inventory-namespace NS] [--kubeconfig FILE] [--context NAME]
       sluice diff kustomization|helmrelease NAME ... (sluice diff ks --help)
Shows what \`sluice apply\` would change, object by object, as unified YAML
diffs between the live object and the server's dry-run result (Secret values
masked). Exit code: 0 no changes, 1 changes, 2 error.
  -n, --namespace NS          namespace for objects that name none
  --name NAME                 the --name \`sluice apply\` is given: the owner labels it stamps are part of the dry run
  --inventory-namespace NS    the --inventory-namespace given to apply (default: default)
  --kubeconfig FILE  --context NAME

examples:
  sluice diff ./manifests
  kustomize build overlays/prod | sluice diff - --name prod
  sluice diff ks apps --path ./clusters/prod/apps
  sluice diff hr podinfo -n apps
`;

const APPLIER_WORDS = new Set(['ks', 'kustomization', 'kustomizations', 'hr', 'helmrelease', 'helmreleases']);

export async function diffCommand(args: string[]): Promise<number> {
  const first = args.find((a) => !a.startsWith('-'));
  if (first && APPLIER_WORDS.has(first.toLowerCase()) && !existsSync(first)) return (await import('./diffapplier.ts')).diffApplierCommand(args);
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { ...clusterFlags, ...ownerFlags, namespace: { type: 'string', short: 'n' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help || positionals.length !== 1) {
    (values.help ? process.stdout : process.stderr).write(usage);
    return values.help ? 0 : 2;
  }
  // kubectl diff's convention: 1 means "there are changes", so failures are 2.
  try {
    return await showDiff(positionals[0]!, values);
  } catch (err) {
    process.stderr.write(`sluice diff: ${err instanceof Error ? err.message : String(err)}\n`);
    return 2;
  }
}

async function showDiff(
  source: string,
  values: { kubeconfig?: string; context?: string; namespace?: string; name?: string; 'inventory-namespace': string },
): Promise<number> {
  const objects = await readInput(source);
  const client = await clientFromFlags(values);
  try {
    const diffs = await diffObjects(new ResourceManager(client), objects, {
      defaultNamespace: values.namespace,
      ownerLabels: cliOwnerLabels(values.name, values['inventory-namespace']),
    });
    let changed = 0;
    for (const d of diffs) {
      if (d.action === 'unchanged' || d.action === 'skipped') continue;
      changed++;
      process.stdout.write(`► ${d.subject} ${d.action === 'created' ? 'would be created' : d.action === 'recreated' ? 'would be recreated' : 'drifted'}\n${d.patch}`);
    }
    if (!changed) process.stderr.write('no changes\n');
    return changed ? 1 : 0;
  } finally {
    client.close();
  }
}
