import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GitOps, deployment, ready } from '../gitops.ts';
import { eventually, testKubeconfig } from '../harness.ts';
import type { KubeObject } from '../../src/kube/object.ts';
import { KubeClient } from '../../src/kube/client.ts';
import { silentLogger } from '../../src/util/log.ts';
import { startOperator, type Operator } from '../../src/controllers/operator.ts';
import { parseRecord, recordPath } from '../../src/controllers/kustomization/recordstore.ts';
import { rollbackCommand } from '../../src/cli/rollback.ts';
import { historyCommand } from '../../src/cli/history.ts';
import { getCommand } from '../../src/cli/get.ts';

// Issue 17: a controller stopped in the middle of a rollback leaves a record
// that the next one finishes from; a pin (sluice rollback --to) survives a
// restart and a new commit, until --clear.

let g: GitOps;
let dataDir: string;
let op: Operator | undefined;

/** The operator under test: its own, on a data directory (and so Git mirrors) that outlives it. */
async function startOp(): Promise<Operator> {
  const client = await KubeClient.fromFile(await testKubeconfig());
  return startOperator({ client, log: silentLogger, dataDir, requeueDependencyMs: 1_000, watchNamespace: g.ns.name, shutdownGraceMs: 0 });
}

before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'sluice-rollback-restart-'));
  // GitOps's own operator watches a namespace that does not exist: the tests start and stop theirs.
  g = await GitOps.start('rb-restart', { watchNamespace: 'sluice-test-nothing-here' });
  await g.push({ 'README.md': 'restart' }, 'init');
  await g.createGitRepository('app', { interval: '1h' });
  op = await startOp();
});
after(async () => {
  // While an operator runs, so its finalizer is removed and the namespace can go.
  if (!op && g) op = await startOp().catch(() => undefined);
  if (g) {
    await g.client.request({ method: 'DELETE', path: g.ksPath('kill') }).catch(() => {});
    await eventually('Kustomization kill gone', async () => ((await g.client.getOrUndefined(g.ksPath('kill'))) ? undefined : true), 60_000).catch(() => {});
  }
  await op?.stop();
  await g?.close();
  await rm(dataDir, { recursive: true, force: true });
});

type Deploy = KubeObject & { spec: { template: { spec: { nodeSelector?: Record<string, string>; containers: Array<{ image: string }> } } } };
const image = async (name: string) => (await g.get<Deploy>(g.path('deployments', name)))!.spec.template.spec.containers[0]!.image;

/** Runs a CLI verb in this process; its exit code and what it printed. */
async function cli(run: (argv: string[]) => Promise<number>, argv: string[]): Promise<{ code: number; out: string }> {
  const write = process.stdout.write.bind(process.stdout);
  const errWrite = process.stderr.write.bind(process.stderr);
  let out = '';
  process.stdout.write = ((s: string) => ((out += s), true)) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => ((out += s), true)) as typeof process.stderr.write;
  try {
    const code = await run([...argv, '-n', g.ns.name, '--kubeconfig', await testKubeconfig()]);
    return { code, out };
  } finally {
    process.stdout.write = write;
    process.stderr.write = errWrite;
  }
}

test('a controller stopped mid-rollback: the next one finishes it; then a pin survives a restart and a commit until --clear', async () => {
  // The bad commit removes `slow`, so the rollback creates it again, and its
  // minReadySeconds keeps the rollback's own health wait going long enough
  // to stop the controller in it.
  const good = await g.pushAndFetch({ 'kill/web.yaml': deployment('web'), 'kill/slow.yaml': deployment('slow', { extraSpec: '  minReadySeconds: 6\n' }) });
  await g.create(
    'kustomize.toolkit.fluxcd.io/v1',
    'Kustomization',
    'kustomizations',
    'kill',
    { interval: '1h', prune: true, sourceRef: { kind: 'GitRepository', name: 'app' }, path: './kill', targetNamespace: g.ns.name, wait: true, timeout: '60s' },
    { annotations: { 'sluice.dev/rollback': 'auto' } },
  );
  await g.untilReady('kill', good, 90_000);
  const bad = await g.pushAndFetch({
    'kill/slow.yaml': null,
    'kill/web.yaml': deployment('web', { image: 'example.invalid/web:2', extraSpec: '  progressDeadlineSeconds: 2\n', podSpec: "      nodeSelector: {sluice.test/none: 'true'}\n" }),
  });
  await eventually('the rollback started', async () => (parseRecord(await g.get(recordPath(g.ns.name, 'kill'))).rollback?.phase === 'started' ? true : undefined), 60_000).catch(async (err: Error) => {
    throw new Error(`${err.message}\n${JSON.stringify((await g.ks('kill')).status)}\n${JSON.stringify(parseRecord(await g.get(recordPath(g.ns.name, 'kill'))))}`);
  });
  await op!.stop();
  op = undefined;
  const stopped = await g.ks('kill');
  const rec = parseRecord(await g.get(recordPath(g.ns.name, 'kill')));
  assert.equal(rec.rollback?.phase, 'started', 'the stopped controller did not finish');
  assert.equal(ready(stopped.status!)?.reason, 'RollbackInProgress', 'the status says a rollback is under way');

  op = await startOp();
  const s = await g.untilKs('kill', 'rolled back by the restarted controller', (st) => ready(st)?.reason === 'RolledBack', 90_000);
  assert.equal(s.lastAppliedRevision, good);
  assert.equal(s.lastAttemptedRevision, bad);
  assert.equal(await image('web'), 'example.invalid/web:1');
  assert.equal((await g.get<Deploy>(g.path('deployments', 'web')))!.spec.template.spec.nodeSelector, undefined);
  assert.ok(await g.get(g.path('deployments', 'slow')), 'what the bad revision pruned is back');

  // A good commit, then a pin back to the one before it, through the CLI.
  const next = await g.pushAndFetch({ 'kill/web.yaml': deployment('web', { image: 'example.invalid/web:3' }) });
  await g.untilReady('kill', next, 90_000);
  const hist = await cli(historyCommand, ['kustomization', 'kill']);
  assert.equal(hist.code, 0, hist.out);
  assert.match(hist.out, /REVISION\s+TRIGGER\s+APPLIED\s+STATUS/);
  assert.match(hist.out, /rollback/);
  assert.match(hist.out, /Failed/);
  const pinned = await cli(rollbackCommand, ['kustomization', 'kill', '--to', 'previous', '--timeout', '90s']);
  assert.equal(pinned.code, 0, pinned.out);
  assert.equal((await g.ks('kill')).status!.lastAppliedRevision, good);
  assert.equal(await image('web'), 'example.invalid/web:1');
  const got = await cli(getCommand, ['ks', 'kill']);
  assert.match(got.out, /\(pinned\)/);

  // Across a restart and a new commit, the pin holds.
  await op.stop();
  op = await startOp();
  const later = await g.pushAndFetch({ 'kill/web.yaml': deployment('web', { image: 'example.invalid/web:4' }) });
  const held = await g.untilKs('kill', 'pinned while the source moved', (st) => ready(st)?.status === 'True' && ready(st)!.message.includes(later), 60_000);
  assert.equal(held.lastAppliedRevision, good);
  assert.equal(held.conditions!.find((c) => c.type === 'RolledBack')?.reason, 'Pinned');
  assert.equal(await image('web'), 'example.invalid/web:1');

  const cleared = await cli(rollbackCommand, ['kustomization', 'kill', '--clear', '--timeout', '90s']);
  assert.equal(cleared.code, 0, cleared.out);
  await g.untilReady('kill', later, 60_000);
  assert.equal(await image('web'), 'example.invalid/web:4');
  assert.equal((await g.ks('kill')).status!.conditions!.find((c) => c.type === 'RolledBack'), undefined);
});
