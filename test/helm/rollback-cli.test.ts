import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { testKubeconfig } from '../harness.ts';
import { readReleases } from '../../src/helm/release.ts';
import { historyCommand } from '../../src/cli/history.ts';
import { rollbackCommand } from '../../src/cli/rollback.ts';
import { configMapData, createObject, hrPath, patchSpec, readyAt, startHelmFixture, untilHR, type HelmFixture } from './helpers.ts';

// Issue 17: `sluice history helmrelease` reads Helm's storage;
// `sluice rollback helmrelease --to N` runs Helm's rollback and pins the
// HelmRelease, so its controller does not upgrade it back until --clear.

let f: HelmFixture;

before(async () => {
  f = await startHelmFixture('hr-rollback');
});
after(async () => {
  await f?.close();
});

async function cli(run: (argv: string[]) => Promise<number>, argv: string[]): Promise<{ code: number; out: string }> {
  const write = process.stdout.write.bind(process.stdout);
  const errWrite = process.stderr.write.bind(process.stderr);
  let out = '';
  process.stdout.write = ((s: string) => ((out += s), true)) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => ((out += s), true)) as typeof process.stderr.write;
  try {
    return { code: await run([...argv, '-n', f.ns.name, '--kubeconfig', await testKubeconfig()]), out };
  } finally {
    process.stdout.write = write;
    process.stderr.write = errWrite;
  }
}

test('history from Helm storage; rollback --to 1 pins the release until --clear', async () => {
  const { client, ns } = f;
  await createObject(client, `/apis/helm.toolkit.fluxcd.io/v2/namespaces/${ns.name}/helmreleases`, {
    apiVersion: 'helm.toolkit.fluxcd.io/v2',
    kind: 'HelmRelease',
    metadata: { name: 'web' },
    spec: { interval: '1h', timeout: '1m', chart: { spec: { chart: 'web', sourceRef: { kind: 'HelmRepository', name: 'charts' } } }, values: { message: 'one' } },
  });
  await untilHR(client, ns.name, 'web', 'installed', readyAt(1));
  await patchSpec(client, hrPath(ns.name, 'web'), { values: { message: 'two' } });
  await untilHR(client, ns.name, 'web', 'upgraded', readyAt(2));

  const hist = await cli(historyCommand, ['helmrelease', 'web']);
  assert.equal(hist.code, 0, hist.out);
  assert.match(hist.out, /REVISION\s+STATUS\s+CHART\s+APP VERSION\s+UPDATED\s+DESCRIPTION/);
  assert.match(hist.out, /\n2\s+deployed\s+web-1\.0\.0\s+1\.0\.0/);
  assert.match(hist.out, /\n1\s+superseded\s+web-1\.0\.0/);

  const rb = await cli(rollbackCommand, ['helmrelease', 'web', '--to', '1']);
  assert.equal(rb.code, 0, rb.out);
  assert.equal((await configMapData(client, ns.name, 'web-settings'))?.message, 'one');
  const rels = await readReleases(client, ns.name, 'web');
  assert.equal(rels.at(-1)!.version, 3);
  assert.match(rels.at(-1)!.info.description ?? '', /Rollback to 1/);

  // Pinned: a reconcile request does not upgrade it back to what the spec says.
  await client.request({ method: 'PATCH', path: hrPath(ns.name, 'web'), contentType: 'application/merge-patch+json', body: { metadata: { annotations: { 'reconcile.fluxcd.io/requestedAt': 'now-1' } } } });
  await new Promise((r) => setTimeout(r, 4_000));
  assert.equal((await configMapData(client, ns.name, 'web-settings'))?.message, 'one');
  assert.equal((await readReleases(client, ns.name, 'web')).at(-1)!.version, 3);

  const cleared = await cli(rollbackCommand, ['helmrelease', 'web', '--clear', '--timeout', '2m']);
  assert.equal(cleared.code, 0, cleared.out);
  const back = await untilHR(client, ns.name, 'web', 'upgraded back', (s) => s.conditions?.find((c) => c.type === 'Ready')?.status === 'True' && (s.history?.[0]?.version ?? 0) > 3);
  assert.equal(back.history![0]!.status, 'deployed');
  assert.equal((await configMapData(client, ns.name, 'web-settings'))?.message, 'two');
});
