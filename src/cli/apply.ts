import { parseArgs } from 'node:util';
import { ResourceManager } from '../apply/manager.ts';
import { formatEntry, summarize, type ChangeSetEntry } from '../apply/changeset.ts';
import type { Inventory } from '../apply/inventory.ts';
import { appliedRefs, applySet, unionInventories, waitForApplied } from '../apply/pipeline.ts';
import type { Propagation } from '../apply/prune.ts';
import type { KubeClient } from '../kube/client.ts';
import { isNotFound } from '../kube/errors.ts';
import { parseDuration } from '../util/duration.ts';
import { clientFromFlags, clusterFlags } from './kubeconfig.ts';
import { readInput } from './manifests.ts';
import { cliOwnerLabels, ownerFlags } from './owner.ts';

const usage = `usage: sluice apply DIR|FILE|- [flags]
  --name NAME                 keep an inventory under this name (needed for --prune)
  --inventory-namespace NS    namespace of the inventory ConfigMap (default: default)
  -n, --namespace NS          namespace for objects that name none
  --prune                     delete objects of the previous apply that are gone from the input
  --allow-mass-prune          allow a prune of more than half of the inventory, or all of it
  --propagation POLICY        Background (default), Foreground or Orphan
  --force                     recreate objects whose immutable fields changed
  --wait                      wait until every object is ready (health rules per kind)
  --timeout DURATION          how long --wait waits (default 5m)
  --concurrency N             requests in flight (default 32)
  --qps N  --burst N          client rate limit (default 500/1000)
  --kubeconfig FILE  --context NAME

examples:
  sluice apply ./manifests --wait --timeout 2m
  sluice apply ./manifests --name web --prune
  kustomize build overlays/prod | sluice apply - --name prod --prune --wait
`;

const INVENTORY_LABEL = 'apply.sluice.dev/inventory';

export async function applyCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...clusterFlags,
      ...ownerFlags,
      namespace: { type: 'string', short: 'n' },
      prune: { type: 'boolean', default: false },
      'allow-mass-prune': { type: 'boolean', default: false },
      propagation: { type: 'string', default: 'Background' },
      force: { type: 'boolean', default: false },
      wait: { type: 'boolean', default: false },
      timeout: { type: 'string', default: '5m' },
      concurrency: { type: 'string', default: '32' },
      qps: { type: 'string', default: '500' },
      burst: { type: 'string', default: '1000' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help || positionals.length !== 1) {
    (values.help ? process.stdout : process.stderr).write(usage);
    return values.help ? 0 : 2;
  }
  if (values.prune && !values.name) {
    process.stderr.write('--prune needs --name: the inventory of the previous apply is kept under that name\n');
    return 2;
  }
  if (!['Background', 'Foreground', 'Orphan'].includes(values.propagation)) {
    process.stderr.write(`--propagation must be Background, Foreground or Orphan, not ${values.propagation}\n`);
    return 2;
  }
  const timeoutMs = parseDuration(values.timeout);
  const concurrency = Number(values.concurrency);
  const objects = await readInput(positionals[0]!);
  const client = await clientFromFlags(values, { qps: Number(values.qps), burst: Number(values.burst), maxSockets: concurrency });
  try {
    const rm = new ResourceManager(client);
    const ownerLabels = cliOwnerLabels(values.name, values['inventory-namespace']);
    const print = (e: ChangeSetEntry) => process.stdout.write(`${formatEntry(e)}\n`);
    const store = values.name ? new InventoryStore(client, values['inventory-namespace'], values.name) : undefined;
    const run = await applySet(rm, objects, {
      apply: { concurrency, force: values.force, defaultNamespace: values.namespace, ownerLabels, onEntry: print },
      previous: store && (() => store.read()),
      prune: values.prune
        ? {
            propagation: values.propagation as Propagation,
            ownerLabels,
            allowMassPrune: values['allow-mass-prune'],
            allowHint: 'pass --allow-mass-prune',
            concurrency,
            onEntry: print,
          }
        : undefined,
    });
    if (!run.ok) throw run.pruneError;
    if (store) {
      // Without prune, objects of earlier applies stay ours: keep them in the inventory.
      await store.write(values.prune ? run.inventory : unionInventories(run.previous, run.inventory));
    }
    const counts = summarize([...run.applied, ...run.pruned]);
    process.stderr.write(`${Object.entries(counts).map(([k, v]) => `${v} ${k}`).join(', ') || 'nothing to apply'}\n`);
    if (values.wait) {
      const refs = appliedRefs(run.applied);
      process.stderr.write(`waiting for ${refs.length} objects (timeout ${values.timeout})\n`);
      const reported = new Map<string, string>();
      const res = await waitForApplied(rm, refs, {
        timeoutMs,
        onProgress: (objs) => {
          for (const o of objs) {
            if (o.result.status === 'Current' && reported.get(o.subject) !== 'Current') {
              process.stderr.write(`${o.subject} ready\n`);
            }
            reported.set(o.subject, o.result.status);
          }
        },
      });
      if (!res.ok) {
        process.stderr.write(`${res.timedOut ? `timed out after ${values.timeout}` : 'an object failed'}; not ready:\n${res.message}\n`);
        return 1;
      }
      process.stderr.write(`all ${refs.length} objects ready\n`);
    }
    return 0;
  } finally {
    client.close();
  }
}

/** The CLI's inventory: a ConfigMap `sluice-inventory-NAME` holding Flux's inventory format as JSON. */
class InventoryStore {
  private readonly path: string;
  constructor(
    private readonly client: KubeClient,
    private readonly namespace: string,
    private readonly name: string,
  ) {
    this.path = `/api/v1/namespaces/${namespace}/configmaps/sluice-inventory-${name}`;
  }

  async read(): Promise<Inventory | undefined> {
    try {
      const cm = await this.client.request<{ data?: { inventory?: string } }>({ path: this.path });
      return cm.data?.inventory ? (JSON.parse(cm.data.inventory) as Inventory) : undefined;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async write(inv: Inventory): Promise<void> {
    await this.client.request({
      method: 'PATCH',
      path: this.path,
      query: { fieldManager: 'sluice', force: 'true' },
      contentType: 'application/apply-patch+yaml',
      body: {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: `sluice-inventory-${this.name}`, namespace: this.namespace, labels: { [INVENTORY_LABEL]: this.name } },
        data: { inventory: JSON.stringify(inv) },
      },
    });
  }
}

