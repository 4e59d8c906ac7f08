import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { startGitHttpServer, TestRepo, type GitHttpServer } from '../gitserver/index.ts';
import { ResourceManager } from '../../src/apply/manager.ts';
import { allCrds } from '../../src/api/crds.ts';
import { auditLogPath, FAULTS_AUDIT_NAMESPACE } from '../../src/dev/cluster/audit.ts';
import type { KubeObject } from '../../src/kube/object.ts';
import { closeAll } from '../cleanup.ts';
import type { ControllerProcess } from '../runtime/helpers.ts';
import { checkSingleWriter, parseAuditLog } from './audit.ts';
import { createRolloutObjects, rolloutFiles, untilConverged, type RolloutSize } from './rollout.ts';
import { Fleet, dropAllFinalizers } from './procs.ts';
import { privateCluster, type PrivateCluster } from './private.ts';
import { figure, runSeed, seeded, size, sleep } from './sizes.ts';

// Issue 20, faults: two replicas with --enable-leader-election under the
// kills of kill.test.ts: the leader is SIGKILLed at random moments of a
// rollout and started again, so two replicas always run. On a private
// cluster whose API server writes an audit log of the replicas' requests
// (each replica has a service account of its own), the log shows that no
// write ever came from a replica that did not hold the Lease; the failover
// times (kill to the other replica leading) are the figures.

const SIZE: RolloutSize = size({ kustomizations: 8, helmReleases: 1 }, { kustomizations: 100, helmReleases: 20 });
const KILLS = size(3, 50);
// Short leases in the quick form keep CI short; the full form runs Sluice's defaults.
const LEASE = size({ duration: 6, renew: 4, retry: 1 }, { duration: 15, renew: 10, retry: 2 });
const NS = 'faults-leader';
const LEASE_NAME = 'sluice-controller-leader';

let cluster: PrivateCluster;
let root: string;
let server: GitHttpServer;
let repo: TestRepo;
let fleet: Fleet;
const kubeconfigs: Record<string, string> = {};

async function replicaKubeconfig(slot: string): Promise<string> {
  const c = cluster.client;
  await c.request({ method: 'POST', path: `/api/v1/namespaces/${FAULTS_AUDIT_NAMESPACE}/serviceaccounts`, body: { metadata: { name: `replica-${slot}` } } });
  const tr = await c.request<{ status: { token: string } }>({
    method: 'POST',
    path: `/api/v1/namespaces/${FAULTS_AUDIT_NAMESPACE}/serviceaccounts/replica-${slot}/token`,
    body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 7200 } },
  });
  const admin = new KubeConfig();
  admin.loadFromFile(cluster.kubeconfig);
  const cl = admin.getCurrentCluster()!;
  const ca = cl.caData ?? Buffer.from(await readFile(cl.caFile!)).toString('base64');
  const path = join(root, `replica-${slot}.kubeconfig`);
  await writeFile(
    path,
    [
      'apiVersion: v1',
      'kind: Config',
      `clusters: [{name: c, cluster: {server: "${cl.server}", certificate-authority-data: "${ca}"}}]`,
      `users: [{name: u, user: {token: "${tr.status.token}"}}]`,
      'contexts: [{name: c, context: {cluster: c, user: u}}]',
      'current-context: c',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  return path;
}

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'sluice-faults-leader-'));
  // The bench profile is the one whose API server writes the audit log.
  cluster = await privateCluster('leader', { profile: 'bench' });
  const c = cluster.client;
  server = await startGitHttpServer({ root: join(root, 'git') });
  repo = await TestRepo.create(join(root, 'git'), 'app', { defaultBranch: 'main' });
  await new ResourceManager(c).apply(allCrds() as KubeObject[]);
  for (const name of [NS, FAULTS_AUDIT_NAMESPACE]) await c.request({ method: 'POST', path: '/api/v1/namespaces', body: { metadata: { name } } });
  await c.request({
    method: 'POST',
    path: '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings',
    body: {
      metadata: { name: 'sluice-faults-replicas' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: `system:serviceaccounts:${FAULTS_AUDIT_NAMESPACE}` }],
    },
  });
  for (const slot of ['a', 'b']) kubeconfigs[slot] = await replicaKubeconfig(slot);
  fleet = new Fleet({
    kubeconfig: (name) => kubeconfigs[name[0]!]!,
    dataDir: (name) => join(root, `storage-${name[0]}`),
    extra: [
      '--enable-leader-election',
      `--leader-election-namespace=${FAULTS_AUDIT_NAMESPACE}`,
      `--leader-election-lease-duration=${LEASE.duration}s`,
      `--leader-election-renew-deadline=${LEASE.renew}s`,
      `--leader-election-retry-period=${LEASE.retry}s`,
    ],
  });
});

after(async () => {
  await closeAll(
    fleet && (() => fleet.close()),
    cluster && (() => dropAllFinalizers(cluster.client, NS).catch(() => {})),
    cluster && (() => cluster.purge()),
    server && (() => server.close()),
    repo && (() => repo.dispose()),
    root && (() => rm(root, { recursive: true, force: true })),
  );
});

const leads = (p: ControllerProcess) => p.logs.some((l) => l.msg === 'became leader');

test(`${KILLS} SIGKILLs of the leader of two replicas: never two writers (audit log), failover measured`, async () => {
  const rnd = seeded(runSeed());
  const c = cluster.client;
  const revA = `main@sha1:${await repo.commitFiles(rolloutFiles(SIZE, 'A'), 'A')}`;
  await repo.push();
  await createRolloutObjects(c, NS, SIZE, server.url('app'));
  const running: Record<string, ControllerProcess> = { a: fleet.start('a0'), b: fleet.start('b0') };
  const gen: Record<string, number> = { a: 0, b: 0 };
  const leaderSlot = async (): Promise<string> => {
    const deadline = Date.now() + 60_000;
    for (;;) {
      for (const slot of ['a', 'b']) if (leads(running[slot]!)) return slot;
      if (Date.now() > deadline) throw new Error('no replica became leader within 60 s');
      await sleep(100);
    }
  };

  const failovers: number[] = [];
  // Failovers to the other replica: the audit log tells replicas apart by
  // their service account, so a restarted replica taking its own slot back
  // is no handover there.
  let toOther = 0;
  let revB = '';
  for (let k = 0; k < KILLS; k++) {
    if (k === Math.floor(KILLS / 2)) {
      revB = `main@sha1:${await repo.commitFiles(rolloutFiles(SIZE, 'B'), 'B')}`;
      await repo.push();
    }
    const slot = await leaderSlot();
    await sleep(1_000 + Math.floor(rnd() * 3_000));
    const other = slot === 'a' ? 'b' : 'a';
    const killedAt = Date.now();
    await fleet.kill(running[slot]!);
    gen[slot] = (gen[slot] ?? 0) + 1;
    running[slot] = fleet.start(`${slot}${gen[slot]}`);
    // The survivor usually takes over, but the restarted replica may win the
    // race (it first sees the Lease sooner after the last renewal than the
    // survivor did): either is a failover. Neither process has led before.
    const deadline = Date.now() + (LEASE.duration + 30) * 1000;
    let next: string | undefined;
    while (!(next = ['a', 'b'].find((s) => leads(running[s]!)))) {
      if (Date.now() > deadline) throw new Error(`no replica took over within ${LEASE.duration + 30} s after ${slot} was killed; last lines of ${other}: ${running[other]!.logs.slice(-4).map((l) => JSON.stringify(l)).join(' ')}`);
      await sleep(50);
    }
    failovers.push(Date.now() - killedAt);
    if (next === other) toOther++;
    process.stderr.write(`# kill ${k + 1}/${KILLS}: leader ${slot} killed, ${next === other ? other : `restarted ${slot}`} leads after ${failovers.at(-1)} ms\n`);
  }
  if (!revB) {
    revB = `main@sha1:${await repo.commitFiles(rolloutFiles(SIZE, 'B'), 'B')}`;
    await repo.push();
  }
  const converge = await untilConverged(c, NS, SIZE, 'B', revB, size(180_000, 900_000));

  const events = parseAuditLog(await readFile(auditLogPath(cluster.dir), 'utf8'));
  const report = checkSingleWriter(events, {
    users: (u) => u.startsWith(`system:serviceaccount:${FAULTS_AUDIT_NAMESPACE}:`),
    lease: { namespace: FAULTS_AUDIT_NAMESPACE, name: LEASE_NAME },
  });
  const sorted = [...failovers].sort((a, b) => a - b);
  figure('leader: kills of the leader', KILLS);
  figure('leader: lease duration / renew deadline / retry period', `${LEASE.duration}/${LEASE.renew}/${LEASE.retry}`, 's');
  figure('leader: failover median', (sorted[Math.floor(sorted.length / 2)]! / 1000).toFixed(1), 's');
  figure('leader: failover max', (sorted.at(-1)! / 1000).toFixed(1), 's');
  figure('leader: converged after the last failover', (converge / 1000).toFixed(1), 's');
  figure('leader: audited writes', report.writes);
  figure('leader: lease handovers in the audit log', report.handovers.length);
  figure('leader: writes by a replica not holding the lease', report.violations.length);
  assert.ok(report.writes > SIZE.kustomizations, `the audit log holds the replicas' writes (${report.writes})`);
  assert.ok(report.handovers.length >= toOther + 1, `every failover to the other replica is in the audit log (${report.handovers.length} handovers, ${toOther} such failovers)`);
  assert.deepEqual(report.violations.slice(0, 10), [], `never two writers: ${report.violations.length} writes came from a replica without the lease`);
  for (const [slot, p] of Object.entries(running)) assert.equal(p.child.exitCode, null, `replica ${slot} still runs`);
});
