// `sluice delete KIND NAME [--silent]`: asks first, as flux delete does.
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import type { KubeObject } from '../kube/object.ts';
import { DEFAULT_NAMESPACE, KIND_USAGE, kindWords, objectPath, parseKind } from './args.ts';
import { notFoundMessage } from './hints.ts';
import { clientFromFlags, clusterFlags } from './kubeconfig.ts';

const usage = `usage: sluice delete KIND NAME [flags]
  ${KIND_USAGE}
Deletes the object after asking (a Kustomization or HelmRelease with pruning
takes what it applied with it). Without a terminal, the answer is read from
standard input: pipe "y", or pass --silent.
  -s, --silent                do not ask
  -n, --namespace NS          namespace (default ${DEFAULT_NAMESPACE})
  --kubeconfig FILE  --context NAME

examples:
  sluice delete ks podinfo -n apps
  sluice delete source git podinfo --silent
`;

export async function deleteCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { ...clusterFlags, namespace: { type: 'string', short: 'n' }, silent: { type: 'boolean', short: 's', default: false }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    process.stdout.write(usage);
    return 0;
  }
  const fail = (msg: string) => {
    process.stderr.write(`sluice delete: ${msg}\n${usage}`);
    return 2;
  };
  const parsed = parseKind(positionals, false);
  if ('error' in parsed) return fail(parsed.error);
  if (parsed.rest.length !== 1) return fail('give one NAME');
  const kind = parsed.kinds[0]!;
  const name = parsed.rest[0]!;
  const namespace = values.namespace ?? DEFAULT_NAMESPACE;
  const human = kindWords(kind);
  const client = await clientFromFlags(values);
  try {
    const path = objectPath(kind, namespace, name);
    const obj = await client.getOrUndefined<KubeObject>(path);
    if (!obj) {
      process.stderr.write(`✗ ${await notFoundMessage(client, kind, namespace, name)}\n`);
      return 1;
    }
    if (!values.silent) {
      const prune = kind.def.kind === 'Kustomization' && (obj.spec as { prune?: boolean } | undefined)?.prune;
      if (prune) process.stderr.write(`⚠ ${kind.def.kind} ${namespace}/${name} has pruning enabled: deleting it deletes what it applied\n`);
      if (!(await confirm(`Are you sure you want to delete this ${human}`))) {
        process.stderr.write('✗ aborting\n');
        return 1;
      }
    }
    process.stderr.write(`► deleting ${human} ${name} in ${namespace} namespace\n`);
    await client.request({ method: 'DELETE', path });
    process.stderr.write(`✔ ${human} deleted\n`);
    return 0;
  } finally {
    client.close();
  }
}

/** `LABEL? [y/N]` on stderr, one line from stdin; only y or yes confirms. */
async function confirm(label: string): Promise<boolean> {
  process.stderr.write(`${label}? [y/N] `);
  const rl = createInterface({ input: process.stdin });
  const answer = await new Promise<string>((resolve) => {
    rl.once('line', (l) => resolve(l));
    rl.once('close', () => resolve(''));
  });
  rl.close();
  if (!process.stdin.isTTY) process.stderr.write('\n');
  return /^y(es)?$/i.test(answer.trim());
}
