// The flags of `sluice controller`: Flux 2.9's controller flags with their
// names and meanings (a Deployment written for Flux's source-, kustomize- or
// helm-controller starts Sluice with its args unchanged), and Sluice's older
// names kept as aliases. Pure: argv and environment in, settings out.
import { parseArgs } from 'node:util';
import { parseDuration } from '../util/duration.ts';
import type { Level } from '../util/log.ts';
import { parseFeatureGates, type FeatureGates } from '../runtime/featuregates.ts';
import { takeBoolFlag } from './args.ts';

export interface ControllerSettings {
  kubeconfig?: string;
  context?: string;
  leaderElection?: { namespace: string; leaseDurationMs: number; renewDeadlineMs: number; retryPeriodMs: number; releaseOnCancel: boolean };
  metricsAddress: string;
  /** Where /healthz and /readyz are served, when --health-addr is given; else with the metrics. */
  healthAddress?: string;
  storageAddress: string;
  artifactBaseUrl?: string;
  dataDir?: string;
  eventsAddress?: string;
  /** Where Receivers' webhooks are served (notification-controller's --receiverAddr). */
  receiverAddress: string;
  /** Identical events an Alert sends at most once per this (notification-controller's --rate-limit-interval). */
  rateLimitIntervalMs: number;
  concurrency: number;
  applyConcurrency: number;
  releaseConcurrency?: number;
  requeueDependencyMs: number;
  noCrossNamespaceRefs: boolean;
  noRemoteBases: boolean;
  /** Sluice's --auto-rollback: every Kustomization rolls back when a new revision fails its health checks (default off, as Flux). */
  autoRollback: boolean;
  defaultServiceAccount?: string;
  defaultDecryptionServiceAccount?: string;
  defaultKubeConfigServiceAccount?: string;
  /** Secret in the runtime namespace whose `*.agekey` entries decrypt when a Kustomization names no Secret. */
  sopsAgeSecret?: { namespace: string; name: string };
  /** Field managers whose fields Sluice takes over, besides its defaults. */
  overrideManagers: string[];
  /** Undefined: every namespace. */
  watchNamespace?: string;
  /** The namespace the controller runs in (RUNTIME_NAMESPACE, set from the pod by `sluice install`). */
  runtimeNamespace?: string;
  watchLabelSelector?: string;
  watchConfigsLabelSelector: string;
  qps: number;
  burst: number;
  logLevel: Level;
  logEncoding: 'json' | 'console';
  minRetryDelayMs: number;
  maxRetryDelayMs: number;
  intervalJitterPercent: number;
  artifactRetentionRecords: number;
  artifactRetentionTtlMs: number;
  gracefulShutdownTimeoutMs: number;
  featureGates: FeatureGates;
  /** Where the web dashboard is served (Sluice's --dashboard-addr); off when unset. */
  dashboardAddress?: string;
  /** Reconcile, suspend and resume from the dashboard, after a token login, by impersonation (--dashboard-actions). */
  dashboardActions: boolean;
}

export class FlagError extends Error {}

export const CONTROLLER_USAGE = `usage: sluice controller [flags]
Runs every controller (sources, Kustomizations, HelmReleases) in this process,
with the current kubeconfig or in-cluster credentials. Flux's controller flags
work with their Flux names; Sluice's earlier names are aliases (in brackets).

  --kubeconfig FILE --context NAME   cluster to run against
  --enable-leader-election           take part in leader election (for several replicas) [--leader-elect]
  --leader-election-lease-duration D    how long a lease is held without renewal (default 15s; Flux's 35s)
  --leader-election-renew-deadline D    how long the leader tries to renew before giving up (default 10s; Flux's 30s)
  --leader-election-retry-period D      how often to try to take or renew the lease (default 2s; Flux's 5s)
  --leader-election-release-on-cancel   give the lease up on shutdown (default true)
  --leader-election-namespace NS     namespace of the Lease (default: RUNTIME_NAMESPACE, else sluice-system)
  --metrics-addr HOST:PORT           /metrics (default 127.0.0.1:8080) [--http-addr]
  --health-addr HOST:PORT            /healthz, /readyz (default: the metrics address)
  --storage-addr HOST:PORT           artifact server (default 127.0.0.1:9090)
  --storage-adv-addr HOST:PORT       address in artifact URLs, e.g. the Service's DNS name [--artifact-base-url URL]
  --storage-path DIR                 artifacts and Git mirrors (default $SLUICE_HOME/controller) [--data-dir]
  --artifact-retention-records N     artifacts kept per source (default 2)
  --artifact-retention-ttl D         how long an older artifact outlives its replacement (default 60s)
  --events-addr URL                  also POST every event, in Flux's event format, to this receiver
  --receiverAddr HOST:PORT           Receivers' webhooks, /hook/... (default 127.0.0.1:9292) [--receiver-addr]
  --rate-limit-interval D            an Alert sends an identical event at most once per D (default 5m)
  --concurrent N                     reconciles in flight per kind (default 8)
  --concurrent-ssa N                 API requests in flight per apply (default 16) [--apply-concurrency]
  --concurrent-releases N            HelmReleases reconciled at once (default: 8 per core, at most --concurrent)
  --requeue-dependency D             look again at unready dependencies after (default 30s)
  --min-retry-delay D                first retry after a failure (default 500ms)
  --max-retry-delay D                longest retry delay (default 5m)
  --interval-jitter-percentage N     intervals vary by up to ±N % (default 5)
  --graceful-shutdown-timeout D      time running reconciles get on shutdown (default 30s)
  --no-cross-namespace-refs          refuse sources and dependencies in other namespaces
  --no-remote-bases                  refuse remote kustomize bases: every resource must come from the artifact
  --auto-rollback                    Sluice's: every Kustomization rolls back to its last healthy revision when a
                                     new one fails its health checks (default false; per object: sluice.dev/rollback)
  --default-service-account NAME     impersonate this service account when an object names none
  --default-kubeconfig-service-account NAME
                                     the service account (in the object's namespace) whose token a
                                     kubeConfig.configMapRef without serviceAccountName uses; with
                                     --default-service-account and without this, such objects are refused
  --default-decryption-service-account NAME
                                     Flux's workload-identity default: accepted, and logged as having no
                                     effect (Sluice has no cloud workload identity)
  --sops-age-secret NAME             Secret in RUNTIME_NAMESPACE with age keys (*.agekey) for Kustomizations
                                     that decrypt with SOPS and name no Secret
  --override-manager NAME            take over the fields of this field manager too (repeatable)
  --watch-all-namespaces             reconcile every namespace (default true); =false: RUNTIME_NAMESPACE only
  --watch-namespace NS               reconcile this namespace only
  --watch-label-selector SEL         reconcile only objects matching this label selector (sharding)
  --watch-configs-label-selector SEL ConfigMaps and Secrets whose changes re-reconcile their users
                                     (default reconcile.fluxcd.io/watch=Enabled)
  --kube-api-qps N --kube-api-burst N   client rate limit (default 500/1000) [--qps, --burst]
  --log-level debug|info|error       (default info; trace is taken as debug)
  --log-encoding json|console        (default json)
  --feature-gates A=true,B=false     Flux's feature gates (see the README)
  --dashboard-addr HOST:PORT         Sluice's: serve the web dashboard here, read-only, from the controller's
                                     caches (default: off)
  --dashboard-actions                allow reconcile, suspend and resume from the dashboard, after a login with a
                                     bearer token (TokenReview), done as that user by impersonation

examples:
  sluice controller
  sluice controller --watch-namespace apps --concurrent 4 --log-encoding console
  sluice controller --enable-leader-election --metrics-addr 127.0.0.1:8081 2> controller.log
`;

const BOOLEANS = ['enable-leader-election', 'leader-elect', 'leader-election-release-on-cancel', 'no-cross-namespace-refs', 'no-remote-bases', 'watch-all-namespaces', 'auto-rollback', 'dashboard-actions', 'help'];

const STRINGS = [
  'kubeconfig', 'context', 'leader-election-lease-duration', 'leader-election-renew-deadline', 'leader-election-retry-period',
  'leader-election-namespace', 'metrics-addr', 'http-addr', 'health-addr', 'storage-addr', 'storage-adv-addr', 'artifact-base-url',
  'storage-path', 'data-dir', 'artifact-retention-records', 'artifact-retention-ttl', 'events-addr', 'receiverAddr', 'receiver-addr', 'rate-limit-interval', 'concurrent', 'concurrent-ssa',
  'apply-concurrency', 'concurrent-releases', 'requeue-dependency', 'min-retry-delay', 'max-retry-delay', 'interval-jitter-percentage',
  'graceful-shutdown-timeout', 'default-service-account', 'default-decryption-service-account', 'default-kubeconfig-service-account',
  'sops-age-secret', 'watch-namespace', 'watch-label-selector', 'watch-configs-label-selector', 'kube-api-qps', 'qps',
  'kube-api-burst', 'burst', 'log-level', 'log-encoding', 'dashboard-addr',
];
const LISTS = ['override-manager', 'feature-gates'];

/** Flux's flags that a Sluice process has no use for, accepted so Flux's Deployments start; the value is why. */
export const IGNORED_FLUX_FLAGS: Record<string, string> = {
  'http-retry': 'artifacts are read from this process or fetched with its own retries',
  'helm-cache-max-size': 'Helm indexes are cached by digest, without a size limit',
  'helm-cache-ttl': 'Helm indexes are cached by digest',
  'helm-cache-purge-interval': 'Helm indexes are cached by digest',
  'insecure-kubeconfig-exec': 'remote kubeconfigs with exec credentials are refused',
  'insecure-kubeconfig-tls': 'remote kubeconfigs are used with TLS verification always',
  'oom-watch-interval': 'helm runs in a driver process, whose memory Sluice bounds itself',
  'oom-watch-max-memory-path': 'as --oom-watch-interval',
  'oom-watch-current-memory-path': 'as --oom-watch-interval',
  'snapshot-digest-algo': 'Sluice records sha256 digests',
  'artifact-digest-algo': 'Sluice records sha256 digests',
};

/** Splits out `--name[=value]` of the ignored Flux flags, returning the rest and what was dropped. */
function dropIgnored(args: string[]): { args: string[]; ignored: string[] } {
  const out: string[] = [];
  const ignored: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const name = a.startsWith('--') ? a.slice(2).split('=')[0]! : '';
    if (!(name in IGNORED_FLUX_FLAGS)) {
      out.push(a);
      continue;
    }
    ignored.push(name);
    if (!a.includes('=') && i + 1 < args.length && !args[i + 1]!.startsWith('--')) i++;
  }
  return { args: out, ignored };
}

function positiveInt(flag: string, text: string, min = 1): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) throw new FlagError(`--${flag}: expected a whole number of at least ${min}, got "${text}"`);
  return n;
}

function duration(flag: string, text: string): number {
  try {
    return parseDuration(text);
  } catch (err) {
    throw new FlagError(`--${flag}: ${(err as Error).message}`);
  }
}

/** `--http-addr` and `--metrics-addr` style: the Flux name wins when both are given with different values. */
function aliased<T>(values: Record<string, T | undefined>, flux: string, alias: string): T | undefined {
  const [a, b] = [values[flux], values[alias]];
  if (a !== undefined && b !== undefined && a !== b) throw new FlagError(`--${flux} and --${alias} are the same flag; they were given different values`);
  return a ?? b;
}

/** Go's ":8080" means every interface; Sluice's servers take host:port. */
function address(text: string): string {
  return text.startsWith(':') ? `0.0.0.0${text}` : text;
}

export interface ParsedControllerFlags {
  settings?: ControllerSettings;
  help?: boolean;
  /** Flux flags accepted but unused (IGNORED_FLUX_FLAGS). */
  ignored: string[];
}

/**
 * Reads the controller's flags. `env.RUNTIME_NAMESPACE` is the namespace the
 * controller runs in, as in Flux's Deployments (from the downward API).
 * Throws FlagError with the flag named when a value is wrong.
 */
export function parseControllerFlags(argv: string[], env: Record<string, string | undefined> = process.env): ParsedControllerFlags {
  const dropped = dropIgnored(argv);
  let args = dropped.args;
  const bools: Record<string, boolean | undefined> = {};
  for (const name of BOOLEANS) {
    const present = args.some((a) => a === `--${name}` || a === `--no-${name}` || a.startsWith(`--${name}=`));
    const r = takeBoolFlag(args, name, false);
    if ('error' in r) throw new FlagError(r.error);
    args = r.args;
    if (present) bools[name] = r.value;
  }
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: false,
      options: {
        ...Object.fromEntries(STRINGS.map((s) => [s, { type: 'string' as const }])),
        ...Object.fromEntries(LISTS.map((s) => [s, { type: 'string' as const, multiple: true }])),
      },
    });
  } catch (err) {
    throw new FlagError((err as Error).message);
  }
  if (bools.help) return { help: true, ignored: dropped.ignored };
  const v = parsed.values as Record<string, string | undefined>;
  const lists = parsed.values as Record<string, string[] | undefined>;
  const runtimeNamespace = env.RUNTIME_NAMESPACE || undefined;

  const leaderElect = aliased(bools, 'enable-leader-election', 'leader-elect') ?? false;
  const logLevel = (v['log-level'] ?? 'info').toLowerCase();
  if (!['debug', 'info', 'error', 'trace'].includes(logLevel)) throw new FlagError(`--log-level: expected debug, info, error or trace, got "${v['log-level']}"`);
  const logEncoding = (v['log-encoding'] ?? 'json').toLowerCase();
  if (logEncoding !== 'json' && logEncoding !== 'console') throw new FlagError(`--log-encoding: expected json or console, got "${v['log-encoding']}"`);

  let watchNamespace = v['watch-namespace'];
  if (bools['watch-all-namespaces'] === false) {
    if (!watchNamespace && !runtimeNamespace) throw new FlagError('--watch-all-namespaces=false watches the namespace in RUNTIME_NAMESPACE, which is not set (or pass --watch-namespace NS)');
    watchNamespace ??= runtimeNamespace;
  } else if (bools['watch-all-namespaces'] === true && watchNamespace) {
    throw new FlagError('--watch-all-namespaces and --watch-namespace contradict each other: give one');
  }

  const sopsAgeSecret = v['sops-age-secret'];
  if (sopsAgeSecret && !runtimeNamespace) throw new FlagError('--sops-age-secret names a Secret in RUNTIME_NAMESPACE, which is not set');

  const jitter = Number(v['interval-jitter-percentage'] ?? '5');
  if (!Number.isInteger(jitter) || jitter < 0 || jitter >= 100) throw new FlagError(`--interval-jitter-percentage: expected a whole number from 0 to 99, got "${v['interval-jitter-percentage']}"`);

  // Flux advertises host:port; Sluice's older flag took a URL.
  const advertised = v['storage-adv-addr'];
  const baseUrl = aliased(
    { 'storage-adv-addr': advertised === undefined || /^https?:\/\//.test(advertised) ? advertised : `http://${advertised}`, 'artifact-base-url': v['artifact-base-url'] },
    'storage-adv-addr',
    'artifact-base-url',
  );
  const metricsAddress = address(aliased(v, 'metrics-addr', 'http-addr') ?? '127.0.0.1:8080');

  const settings: ControllerSettings = {
    kubeconfig: v.kubeconfig,
    context: v.context,
    leaderElection: leaderElect
      ? {
          namespace: v['leader-election-namespace'] ?? runtimeNamespace ?? 'sluice-system',
          // Sluice's shorter defaults: a killed leader is replaced in about 15 s, not Flux's 35.
          leaseDurationMs: duration('leader-election-lease-duration', v['leader-election-lease-duration'] ?? '15s'),
          renewDeadlineMs: duration('leader-election-renew-deadline', v['leader-election-renew-deadline'] ?? '10s'),
          retryPeriodMs: duration('leader-election-retry-period', v['leader-election-retry-period'] ?? '2s'),
          releaseOnCancel: bools['leader-election-release-on-cancel'] ?? true,
        }
      : undefined,
    metricsAddress,
    healthAddress: v['health-addr'] ? address(v['health-addr']) : undefined,
    storageAddress: address(v['storage-addr'] ?? '127.0.0.1:9090'),
    receiverAddress: address(v.receiverAddr ?? v['receiver-addr'] ?? '127.0.0.1:9292'),
    rateLimitIntervalMs: duration('rate-limit-interval', v['rate-limit-interval'] ?? '5m'),
    artifactBaseUrl: baseUrl,
    dataDir: aliased(v, 'storage-path', 'data-dir'),
    eventsAddress: v['events-addr'] || undefined,
    concurrency: positiveInt('concurrent', v.concurrent ?? '8'),
    applyConcurrency: positiveInt('concurrent-ssa', aliased(v, 'concurrent-ssa', 'apply-concurrency') ?? '16'),
    releaseConcurrency: v['concurrent-releases'] === undefined ? undefined : positiveInt('concurrent-releases', v['concurrent-releases']),
    requeueDependencyMs: duration('requeue-dependency', v['requeue-dependency'] ?? '30s'),
    noCrossNamespaceRefs: bools['no-cross-namespace-refs'] ?? false,
    noRemoteBases: bools['no-remote-bases'] ?? false,
    autoRollback: bools['auto-rollback'] ?? false,
    defaultServiceAccount: v['default-service-account'] || undefined,
    defaultDecryptionServiceAccount: v['default-decryption-service-account'] || undefined,
    defaultKubeConfigServiceAccount: v['default-kubeconfig-service-account'] || undefined,
    sopsAgeSecret: sopsAgeSecret ? { namespace: runtimeNamespace!, name: sopsAgeSecret } : undefined,
    overrideManagers: (lists['override-manager'] ?? []).flatMap((m) => m.split(',')).map((m) => m.trim()).filter(Boolean),
    watchNamespace,
    runtimeNamespace,
    watchLabelSelector: v['watch-label-selector'] || undefined,
    watchConfigsLabelSelector: v['watch-configs-label-selector'] ?? 'reconcile.fluxcd.io/watch=Enabled',
    qps: positiveInt('kube-api-qps', aliased(v, 'kube-api-qps', 'qps') ?? '500'),
    burst: positiveInt('kube-api-burst', aliased(v, 'kube-api-burst', 'burst') ?? '1000'),
    logLevel: logLevel === 'trace' ? 'debug' : (logLevel as Level),
    logEncoding,
    minRetryDelayMs: duration('min-retry-delay', v['min-retry-delay'] ?? '500ms'),
    maxRetryDelayMs: duration('max-retry-delay', v['max-retry-delay'] ?? '5m'),
    intervalJitterPercent: jitter,
    artifactRetentionRecords: positiveInt('artifact-retention-records', v['artifact-retention-records'] ?? '2'),
    artifactRetentionTtlMs: duration('artifact-retention-ttl', v['artifact-retention-ttl'] ?? '60s'),
    gracefulShutdownTimeoutMs: duration('graceful-shutdown-timeout', v['graceful-shutdown-timeout'] ?? '30s'),
    featureGates: featureGates(lists['feature-gates'] ?? []),
    dashboardAddress: v['dashboard-addr'] ? address(v['dashboard-addr']) : undefined,
    dashboardActions: bools['dashboard-actions'] ?? false,
  };
  if (settings.dashboardActions && !settings.dashboardAddress) throw new FlagError('--dashboard-actions needs --dashboard-addr');
  if (settings.minRetryDelayMs > settings.maxRetryDelayMs) throw new FlagError('--min-retry-delay is longer than --max-retry-delay');
  return { settings, ignored: dropped.ignored };
}

function featureGates(values: string[]): FeatureGates {
  try {
    return parseFeatureGates(values);
  } catch (err) {
    throw new FlagError((err as Error).message);
  }
}
