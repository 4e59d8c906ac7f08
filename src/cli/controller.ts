import { join } from 'node:path';
import { startOperator } from '../controllers/operator.ts';
import { KubeApiError } from '../kube/errors.ts';
import { inertGates } from '../runtime/featuregates.ts';
import { setIntervalJitter } from '../runtime/queue.ts';
import { consoleLogger, jsonLogger } from '../util/log.ts';
import { sluiceHome } from '../util/paths.ts';
import { limitHeapGrowth } from '../util/heap.ts';
import { CONTROLLER_USAGE, FlagError, IGNORED_FLUX_FLAGS, parseControllerFlags } from './controllerflags.ts';
import { clientFromFlags } from './kubeconfig.ts';
import { collectionPath } from '../ui/kinds.ts';
import { startDashboard, type DashboardServer } from '../ui/server.ts';
import { DashboardStore } from '../ui/store.ts';

export async function controllerCommand(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseControllerFlags(args);
  } catch (err) {
    if (!(err instanceof FlagError)) throw err;
    process.stderr.write(`sluice controller: ${err.message}\n${CONTROLLER_USAGE}`);
    return 2;
  }
  if (parsed.help || !parsed.settings) {
    process.stdout.write(CONTROLLER_USAGE);
    return 0;
  }
  const s = parsed.settings;
  limitHeapGrowth();
  const log = (s.logEncoding === 'console' ? consoleLogger : jsonLogger)({ logger: 'sluice' }, s.logLevel);
  for (const flag of parsed.ignored) log.info(`flag --${flag} has no effect in Sluice: ${IGNORED_FLUX_FLAGS[flag]}`);
  for (const { gate, reason } of inertGates(s.featureGates)) log.info(`feature gate ${gate} has no effect in Sluice: ${reason}`);
  if (s.defaultDecryptionServiceAccount) log.info('flag --default-decryption-service-account has no effect in Sluice: it has no cloud workload identity, and refuses objects that need it');
  setIntervalJitter(s.intervalJitterPercent);
  const client = await clientFromFlags(s, { qps: s.qps, burst: s.burst });
  let operator;
  try {
    operator = await startOperator({
      client,
      log,
      dataDir: s.dataDir ?? join(sluiceHome(), 'controller'),
      storageAddress: s.storageAddress,
      artifactBaseUrl: s.artifactBaseUrl,
      httpAddress: s.metricsAddress,
      healthAddress: s.healthAddress,
      leaderElection: s.leaderElection,
      concurrency: s.concurrency,
      applyConcurrency: s.applyConcurrency,
      releaseConcurrency: s.releaseConcurrency,
      noCrossNamespaceRefs: s.noCrossNamespaceRefs,
      autoRollback: s.autoRollback,
      defaultServiceAccount: s.defaultServiceAccount,
      defaultKubeConfigServiceAccount: s.defaultKubeConfigServiceAccount,
      requeueDependencyMs: s.requeueDependencyMs,
      watchNamespace: s.watchNamespace,
      runtimeNamespace: s.runtimeNamespace,
      noRemoteBases: s.noRemoteBases,
      watchLabelSelector: s.watchLabelSelector,
      watchConfigsLabelSelector: s.watchConfigsLabelSelector,
      eventsAddress: s.eventsAddress,
      receiverAddress: s.receiverAddress,
      rateLimitIntervalMs: s.rateLimitIntervalMs,
      artifactRetention: { records: s.artifactRetentionRecords, ttlMs: s.artifactRetentionTtlMs },
      retry: { baseDelayMs: s.minRetryDelayMs, maxDelayMs: s.maxRetryDelayMs },
      shutdownGraceMs: s.gracefulShutdownTimeoutMs,
      sopsAgeSecret: s.sopsAgeSecret,
      overrideManagers: s.overrideManagers,
      featureGates: s.featureGates,
    });
  } catch (err) {
    if (err instanceof KubeApiError && err.status === 404) {
      log.error('the Sluice CRDs are not installed: run `sluice install` first', { error: err.message });
      return 1;
    }
    throw err;
  }
  log.info('controller running', { artifacts: operator.storageServer.url });
  let dashboard: { server: DashboardServer; store: DashboardStore } | undefined;
  if (s.dashboardAddress) {
    // The manager's own caches: the dashboard adds no list or watch of its own for the kinds the controllers run.
    const store = new DashboardStore((k) => operator.manager.informer(collectionPath(k)), false);
    await store.start();
    const server = await startDashboard({ store, client, log, address: s.dashboardAddress, mode: 'cluster', actions: s.dashboardActions });
    dashboard = { server, store };
  }
  const signal = await new Promise<string>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
    void operator.manager.lost.then(() => resolve('leadership lost'));
  });
  log.info('shutting down', { reason: signal });
  if (dashboard) {
    await dashboard.server.close();
    dashboard.store.stop();
  }
  await operator.stop();
  return signal === 'leadership lost' ? 1 : 0;
}
