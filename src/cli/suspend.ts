// `sluice suspend` and `sluice resume`: spec.suspend true or false, and on
// resume a reconcile request that is waited for, as Flux's CLI does.
import { parseArgs } from 'node:util';
import type { KubeClient } from '../kube/client.ts';
import type { KubeObject } from '../kube/object.ts';
import { parseDuration } from '../util/duration.ts';
import { collectionPath, DEFAULT_NAMESPACE, KIND_USAGE, objectPath, parseKind, takeBoolFlag, type CliKind } from './args.ts';
import { notFoundMessage } from './hints.ts';
import { clientFromFlags, clusterFlags } from './kubeconfig.ts';
import { requestAndWait } from './reconcile.ts';

const usage = (verb: 'suspend' | 'resume') => `usage: sluice ${verb} KIND NAME...|--all [flags]
  ${KIND_USAGE}
  -n, --namespace NS          namespace (default ${DEFAULT_NAMESPACE})
  --all                       every object of the kind in the namespace
${verb === 'resume' ? '  --wait[=true|false]         wait for the reconcile the resume asks for (default true)\n  --timeout DURATION          how long to wait (default 5m)\n' : ''}  --kubeconfig FILE  --context NAME

examples:
  sluice ${verb} ks apps
  sluice ${verb} hr --all -n apps
`;

export const suspendCommand = (args: string[]) => toggle('suspend', args);
export const resumeCommand = (args: string[]) => toggle('resume', args);

async function toggle(verb: 'suspend' | 'resume', argv: string[]): Promise<number> {
  const fail = (msg: string) => {
    process.stderr.write(`sluice ${verb}: ${msg}\n${usage(verb)}`);
    return 2;
  };
  const w = takeBoolFlag(argv, 'wait', true);
  if ('error' in w) return fail(w.error);
  if (verb === 'suspend' && argv.length !== w.args.length) return fail('--wait is for resume');
  const { values, positionals } = parseArgs({
    args: w.args,
    allowPositionals: true,
    options: {
      ...clusterFlags,
      namespace: { type: 'string', short: 'n' },
      all: { type: 'boolean', default: false },
      timeout: { type: 'string', default: '5m' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(usage(verb));
    return 0;
  }
  const parsed = parseKind(positionals, false);
  if ('error' in parsed) return fail(parsed.error);
  const kind = parsed.kinds[0]!;
  if (values.all === parsed.rest.length > 0) return fail('give NAME... or --all');
  const timeoutMs = parseDuration(values.timeout);
  const namespace = values.namespace ?? DEFAULT_NAMESPACE;
  const client = await clientFromFlags(values);
  try {
    const names = values.all ? await namesIn(client, kind, namespace) : parsed.rest;
    if (names.length === 0) {
      process.stderr.write(`no ${kind.def.kind} objects found in namespace "${namespace}"\n`);
      return 0;
    }
    let failed = 0;
    for (const name of names) {
      const path = objectPath(kind, namespace, name);
      if (!(await client.getOrUndefined(path))) {
        process.stderr.write(`✗ ${await notFoundMessage(client, kind, namespace, name)}\n`);
        failed++;
        continue;
      }
      if (verb === 'suspend') {
        process.stderr.write(`► suspending ${kind.def.kind} ${name} in ${namespace} namespace\n`);
        await client.request({ method: 'PATCH', path, contentType: 'application/merge-patch+json', body: { spec: { suspend: true } } });
        process.stdout.write(`✔ ${kind.def.kind} ${name} suspended\n`);
        continue;
      }
      process.stderr.write(`► resuming ${kind.def.kind} ${name} in ${namespace} namespace\n`);
      // One patch: the request annotation and spec.suspend false together, so the controller's next look sees both.
      const code = await requestAndWait(client, kind, namespace, name, {
        deadline: Date.now() + timeoutMs,
        timeoutMs,
        spec: { suspend: false },
        noWait: !w.value,
      });
      if (code !== 0) failed++;
      else if (!w.value) process.stdout.write(`✔ ${kind.def.kind} ${name} resumed\n`);
    }
    return failed ? 1 : 0;
  } finally {
    client.close();
  }
}

async function namesIn(client: KubeClient, kind: CliKind, namespace: string): Promise<string[]> {
  const res = await client.request<{ items: KubeObject[] }>({ path: collectionPath(kind, namespace) });
  return res.items.map((o) => o.metadata.name!).sort();
}
