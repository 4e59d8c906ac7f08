import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { startOperator } from '../controllers/operator.ts';
import { KubeApiError } from '../kube/errors.ts';
import { jsonLogger } from '../util/log.ts';
import { sluiceHome } from '../util/paths.ts';
import { parseDuration } from '../util/duration.ts';
import { limitHeapGrowth } from '../util/heap.ts';
import { parseFeatureGates } from '../runtime/features.ts';
import { clientFromFlags, clusterFlags } from './kubeconfig.ts';

const usage = `usage: sluice controller [flags]
Runs the GitRepository and Kustomization controllers in this process, with
the current kubeconfig (or in-cluster credentials).
  --leader-elect                     take part in leader election (for several replicas)
  --leader-election-namespace NS     namespace of the Lease (default sluice-system)
  --http-addr HOST:PORT              /healthz, /readyz, /metrics (default 127.0.0.1:8080)
  --storage-addr HOST:PORT           artifact server (default 127.0.0.1:9090)
  --artifact-base-url URL            base of status.artifact.url (default: the artifact server)
  --data-dir DIR                     artifacts and Git mirrors (default $SLUICE_HOME/controller)
  --concurrent N                     reconciles in flight per kind (default 8)
  --apply-concurrency N              API requests in flight per apply (default 16)
  --concurrent-releases N            HelmReleases reconciled at once, each running helm (default: 8 per core, at most --concurrent)
  --requeue-dependency DURATION      look again at unready dependencies after (default 30s)
  --no-cross-namespace-refs          refuse sources and dependencies in other namespaces
  --default-service-account NAME     impersonate this service account when a Kustomization names none
  --watch-namespace NS               reconcile objects of this namespace only (default: all)
  --qps N --burst N                  client rate limit (default 500/1000)
  --watch-configs-label-selector SEL ConfigMaps and Secrets whose changes re-reconcile the Kustomizations and
                                     HelmReleases that use them (default reconcile.fluxcd.io/watch=Enabled)
  --feature-gates A=true,B=false     Flux's feature gates: StrictPostBuildSubstitutions (default true)
`;

export async function controllerCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      ...clusterFlags,
      'leader-elect': { type: 'boolean', default: false },
      'leader-election-namespace': { type: 'string', default: 'sluice-system' },
      'http-addr': { type: 'string', default: '127.0.0.1:8080' },
      'storage-addr': { type: 'string', default: '127.0.0.1:9090' },
      'artifact-base-url': { type: 'string' },
      'data-dir': { type: 'string' },
      concurrent: { type: 'string', default: '8' },
      'apply-concurrency': { type: 'string', default: '16' },
      'concurrent-releases': { type: 'string' },
      'requeue-dependency': { type: 'string', default: '30s' },
      'no-cross-namespace-refs': { type: 'boolean', default: false },
      'default-service-account': { type: 'string' },
      'watch-namespace': { type: 'string' },
      'feature-gates': { type: 'string' },
      'watch-configs-label-selector': { type: 'string' },
      qps: { type: 'string', default: '500' },
      burst: { type: 'string', default: '1000' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(usage);
    return 0;
  }
  const gates = parseFeatureGates(values['feature-gates']);
  limitHeapGrowth();
  const log = jsonLogger({ logger: 'sluice' });
  const client = await clientFromFlags(values, { qps: Number(values.qps), burst: Number(values.burst) });
  let operator;
  try {
    operator = await startOperator({
      client,
      log,
      dataDir: values['data-dir'] ?? join(sluiceHome(), 'controller'),
      storageAddress: values['storage-addr'],
      artifactBaseUrl: values['artifact-base-url'],
      httpAddress: values['http-addr'],
      leaderElection: values['leader-elect'] ? { namespace: values['leader-election-namespace'] } : undefined,
      concurrency: Number(values.concurrent),
      applyConcurrency: Number(values['apply-concurrency']),
      releaseConcurrency: values['concurrent-releases'] ? Number(values['concurrent-releases']) : undefined,
      noCrossNamespaceRefs: values['no-cross-namespace-refs'],
      defaultServiceAccount: values['default-service-account'],
      requeueDependencyMs: parseDuration(values['requeue-dependency']),
      watchNamespace: values['watch-namespace'],
      strictPostBuildSubstitutions: gates.StrictPostBuildSubstitutions,
      watchConfigsSelector: values['watch-configs-label-selector'],
    });
  } catch (err) {
    if (err instanceof KubeApiError && err.status === 404) {
      log.error('the Sluice CRDs are not installed: run `sluice install` first', { error: err.message });
      return 1;
    }
    throw err;
  }
  log.info('controller running', { artifacts: operator.storageServer.url });
  const signal = await new Promise<string>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
    void operator.manager.lost.then(() => resolve('leadership lost'));
  });
  log.info('shutting down', { reason: signal });
  await operator.stop();
  return signal === 'leadership lost' ? 1 : 0;
}
