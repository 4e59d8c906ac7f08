// `sluice build kustomization NAME --path DIR`: the objects the controller
// would apply for a local directory, as multi-document YAML.
import { stringify } from 'yaml';
import { DEFAULT_NAMESPACE } from './args.ts';
import { clientFromFlags, clusterFlags } from './kubeconfig.ts';
import { buildLocal, KsBuildError } from './ksbuild.ts';
import { startVerb } from './verb.ts';

const usage = `usage: sluice build kustomization NAME --path DIR [flags]
Builds DIR as the controller would build the Kustomization's spec.path, with
the Kustomization's spec read from the cluster (or --kustomization-file):
kustomize or plain manifests, patches, images, components, namePrefix/Suffix,
targetNamespace, commonMetadata, postBuild substitution (substituteFrom read
from the cluster), and the owner labels. SOPS-encrypted Secrets are printed
masked as **SOPS**. Writes multi-document YAML to stdout.
  --path DIR                  the local directory that stands for spec.path (required)
  --kustomization-file FILE   the Flux Kustomization from a file instead of the cluster
  --dry-run                   no cluster at all (needs --kustomization-file; substituteFrom left out)
  --strict-substitute         fail on a variable with neither a value nor a default
  --ignore-paths P,...        more paths to leave out, in .gitignore form (as .sourceignore, the source's
                              spec.ignore and Flux's default exclusions already are)
  -n, --namespace NS          namespace (default ${DEFAULT_NAMESPACE})
  --kubeconfig FILE  --context NAME

examples:
  sluice build ks apps --path ./clusters/prod/apps
  sluice build ks apps --path ./apps --kustomization-file ./clusters/prod/apps.yaml --dry-run
`;

export async function buildCommand(args: string[]): Promise<number> {
  const { values, positionals, help, fail } = startVerb('build', usage, args, {
    ...clusterFlags,
    namespace: { type: 'string', short: 'n' },
    path: { type: 'string' },
    'kustomization-file': { type: 'string' },
    'dry-run': { type: 'boolean', default: false },
    'strict-substitute': { type: 'boolean', default: false },
    'ignore-paths': { type: 'string', multiple: true },
  });
  if (help !== undefined) return help;
  const [kind, name, ...more] = positionals;
  if (!kind || !['kustomization', 'ks', 'kustomizations'].includes(kind)) return fail('build takes kustomization (ks) NAME');
  if (!name || more.length) return fail('give one NAME');
  if (!values.path) return fail('--path DIR is required');
  if (values['dry-run'] && !values['kustomization-file']) return fail('--dry-run needs --kustomization-file');
  const client = values['dry-run'] ? undefined : await clientFromFlags(values);
  try {
    const b = await buildLocal(client, {
      name,
      namespace: values.namespace ?? DEFAULT_NAMESPACE,
      path: values.path,
      kustomizationFile: values['kustomization-file'],
      dryRun: values['dry-run'],
      strict: values['strict-substitute'],
      ignorePaths: (values['ignore-paths'] ?? []).flatMap((p) => p.split(',')).filter(Boolean),
    });
    for (const n of b.notes) process.stderr.write(`⚠ ${n}\n`);
    // Keys sorted, as flux build prints them (Go's YAML of an unstructured object).
    process.stdout.write(b.objects.map((o) => `---\n${stringify(o, { sortMapEntries: true })}`).join(''));
    return 0;
  } catch (err) {
    process.stderr.write(`✗ ${(err as Error).message}\n`);
    return err instanceof KsBuildError ? 2 : 1;
  } finally {
    client?.close();
  }
}
