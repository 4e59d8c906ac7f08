import assert from 'node:assert/strict';
import test from 'node:test';
import { FlagError, parseControllerFlags } from './controllerflags.ts';

const parse = (args: string[], env: Record<string, string> = {}) => parseControllerFlags(args, env).settings!;

test("Flux's flag names and Sluice's aliases set the same settings", () => {
  const cases: Array<[string[], string[], (s: ReturnType<typeof parse>) => unknown]> = [
    [['--enable-leader-election'], ['--leader-elect'], (s) => s.leaderElection?.namespace],
    [['--metrics-addr=127.0.0.1:9000'], ['--http-addr=127.0.0.1:9000'], (s) => s.metricsAddress],
    [['--concurrent-ssa=3'], ['--apply-concurrency=3'], (s) => s.applyConcurrency],
    [['--kube-api-qps=50', '--kube-api-burst=300'], ['--qps=50', '--burst=300'], (s) => [s.qps, s.burst]],
    [['--storage-path=/data'], ['--data-dir=/data'], (s) => s.dataDir],
    [['--storage-adv-addr=source.flux-system.svc'], ['--artifact-base-url=http://source.flux-system.svc'], (s) => s.artifactBaseUrl],
  ];
  for (const [flux, sluice, pick] of cases) assert.deepEqual(pick(parse(flux)), pick(parse(sluice)), flux.join(' '));
});

test('defaults: Sluice\'s own where they are faster, Flux\'s elsewhere', () => {
  const s = parse([]);
  assert.equal(s.leaderElection, undefined);
  assert.equal(s.metricsAddress, '127.0.0.1:8080');
  assert.equal(s.healthAddress, undefined, 'one server unless --health-addr');
  assert.equal(s.concurrency, 8);
  assert.equal(s.watchNamespace, undefined);
  assert.equal(s.watchConfigsLabelSelector, 'reconcile.fluxcd.io/watch=Enabled');
  assert.equal(s.logLevel, 'info');
  assert.equal(s.logEncoding, 'json');
  assert.equal(s.intervalJitterPercent, 5);
  assert.equal(s.artifactRetentionRecords, 2);
  assert.equal(s.featureGates.StrictPostBuildSubstitutions, true);
  assert.equal(s.featureGates.AdditiveCELDependencyCheck, false);
});

test('leader election: Flux durations, RUNTIME_NAMESPACE for the lease', () => {
  const s = parse(['--enable-leader-election', '--leader-election-lease-duration=20s', '--leader-election-renew-deadline=15s', '--leader-election-retry-period=2s', '--leader-election-release-on-cancel=false'], { RUNTIME_NAMESPACE: 'flux-system' });
  assert.deepEqual(s.leaderElection, { namespace: 'flux-system', leaseDurationMs: 20_000, renewDeadlineMs: 15_000, retryPeriodMs: 2_000, releaseOnCancel: false });
  assert.deepEqual(parse(['--enable-leader-election=true']).leaderElection, { namespace: 'sluice-system', leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000, releaseOnCancel: true });
  assert.equal(parse(['--enable-leader-election=false']).leaderElection, undefined);
});

test("Go's :PORT listens on every interface; booleans take =true/=false as pflag's do", () => {
  const s = parse(['--metrics-addr=:8080', '--health-addr=:9440', '--storage-addr=:9090', '--no-cross-namespace-refs=true', '--no-remote-bases']);
  assert.equal(s.metricsAddress, '0.0.0.0:8080');
  assert.equal(s.healthAddress, '0.0.0.0:9440');
  assert.equal(s.storageAddress, '0.0.0.0:9090');
  assert.equal(s.noCrossNamespaceRefs, true);
  assert.equal(s.noRemoteBases, true);
});

test('--watch-all-namespaces=false watches RUNTIME_NAMESPACE, as Flux', () => {
  assert.equal(parse(['--watch-all-namespaces=false'], { RUNTIME_NAMESPACE: 'flux-system' }).watchNamespace, 'flux-system');
  assert.equal(parse(['--watch-all-namespaces=true'], { RUNTIME_NAMESPACE: 'flux-system' }).watchNamespace, undefined);
  assert.equal(parse(['--watch-namespace=team-a']).watchNamespace, 'team-a');
});

test('lists: --override-manager repeats and takes commas; --feature-gates merges over the defaults', () => {
  const s = parse(['--override-manager=a', '--override-manager=b,c', '--feature-gates=DisableFailFastBehavior=true', '--feature-gates=StrictPostBuildSubstitutions=false']);
  assert.deepEqual(s.overrideManagers, ['a', 'b', 'c']);
  assert.equal(s.featureGates.DisableFailFastBehavior, true);
  assert.equal(s.featureGates.StrictPostBuildSubstitutions, false);
});

test('the rest of the Flux flags: durations, logs, retention, events, sops', () => {
  const s = parse(
    ['--min-retry-delay=750ms', '--max-retry-delay=15m', '--interval-jitter-percentage=10', '--artifact-retention-records=3', '--artifact-retention-ttl=2m',
      '--graceful-shutdown-timeout=10m', '--events-addr=http://notification-controller.flux-system.svc.cluster.local./', '--log-level=trace', '--log-encoding=console',
      '--sops-age-secret=sops-age', '--watch-label-selector=sharding.fluxcd.io/key=shard1', '--watch-configs-label-selector=team=a', '--requeue-dependency=5s'],
    { RUNTIME_NAMESPACE: 'flux-system' },
  );
  assert.equal(s.minRetryDelayMs, 750);
  assert.equal(s.maxRetryDelayMs, 15 * 60_000);
  assert.equal(s.intervalJitterPercent, 10);
  assert.equal(s.artifactRetentionRecords, 3);
  assert.equal(s.artifactRetentionTtlMs, 120_000);
  assert.equal(s.gracefulShutdownTimeoutMs, 600_000);
  assert.equal(s.eventsAddress, 'http://notification-controller.flux-system.svc.cluster.local./');
  assert.equal(s.logLevel, 'debug', 'trace is the most verbose level Sluice has: debug');
  assert.equal(s.logEncoding, 'console');
  assert.deepEqual(s.sopsAgeSecret, { namespace: 'flux-system', name: 'sops-age' });
  assert.equal(s.watchLabelSelector, 'sharding.fluxcd.io/key=shard1');
  assert.equal(s.watchConfigsLabelSelector, 'team=a');
  assert.equal(s.requeueDependencyMs, 5_000);
});

test("Flux flags Sluice has no use for are accepted and reported, in both spellings", () => {
  const r = parseControllerFlags(['--http-retry=9', '--helm-cache-max-size', '10', '--concurrent=2'], {});
  assert.deepEqual(r.ignored, ['http-retry', 'helm-cache-max-size']);
  assert.equal(r.settings!.concurrency, 2);
});

test('bad values name the flag', () => {
  const bad: Array<[string[], RegExp, Record<string, string>?]> = [
    [['--concurrent=0'], /--concurrent: expected a whole number/],
    [['--requeue-dependency=soon'], /--requeue-dependency: invalid duration/],
    [['--log-level=loud'], /--log-level/],
    [['--log-encoding=xml'], /--log-encoding/],
    [['--feature-gates=NoSuchGate=true'], /unknown feature gate "NoSuchGate"/],
    [['--feature-gates=GroupChangeLog=yes'], /GroupChangeLog needs =true or =false/],
    [['--watch-all-namespaces=false'], /RUNTIME_NAMESPACE/],
    [['--sops-age-secret=keys'], /RUNTIME_NAMESPACE/],
    [['--watch-all-namespaces=true', '--watch-namespace=a'], /contradict/],
    [['--metrics-addr=:1', '--http-addr=:2'], /same flag/],
    [['--interval-jitter-percentage=100'], /0 to 99/],
    [['--min-retry-delay=10m', '--max-retry-delay=1m'], /longer than/],
    [['--enable-leader-election=maybe'], /true or false/],
    [['--unknown-flag'], /unknown-flag/],
  ];
  for (const [args, message, env] of bad) assert.throws(() => parseControllerFlags(args, env ?? {}), (e: Error) => e instanceof FlagError && message.test(e.message), args.join(' '));
});

test('--help', () => {
  assert.equal(parseControllerFlags(['--help'], {}).help, true);
});

test('the dashboard flags: off by default, read-only unless --dashboard-actions, which needs an address', () => {
  assert.equal(parseControllerFlags([]).settings!.dashboardAddress, undefined);
  const ro = parseControllerFlags(['--dashboard-addr=:9797']).settings!;
  assert.deepEqual([ro.dashboardAddress, ro.dashboardActions], ['0.0.0.0:9797', false]);
  const act = parseControllerFlags(['--dashboard-addr', '127.0.0.1:0', '--dashboard-actions']).settings!;
  assert.deepEqual([act.dashboardAddress, act.dashboardActions], ['127.0.0.1:0', true]);
  assert.throws(() => parseControllerFlags(['--dashboard-actions']), /--dashboard-actions needs --dashboard-addr/);
});
