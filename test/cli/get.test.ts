import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { adminClient, eventually, testNamespace, type TestNamespace } from '../harness.ts';
import { closeAll } from '../cleanup.ts';
import { ResourceManager } from '../../src/apply/manager.ts';
import { allCrds } from '../../src/api/crds.ts';
import { FORCE_AT, REQUESTED_AT, RESET_AT } from '../../src/api/annotations.ts';
import type { KubeClient } from '../../src/kube/client.ts';
import type { KubeObject } from '../../src/kube/object.ts';
import { sluice, start } from './sluice.ts';
import { kindByName } from '../../src/cli/args.ts';
import { formatTable, header, row, sortObjects } from '../../src/cli/rows.ts';

// `sluice get`, `suspend` and `resume --wait=false` against objects whose
// status the test writes itself through the status subresource (no
// controller runs here).

let ns: TestNamespace;
let client: KubeClient;
const GIT = 'source.toolkit.fluxcd.io/v1';
const KS = 'kustomize.toolkit.fluxcd.io/v1';
const REV = 'main@sha1:0123456789abcdef0123456789abcdef01234567';
/** How tables show REV: the digest cut to 8 hex digits, as flux's tables do (json and yaml keep it whole). */
const SHORT = 'main@sha1:01234567';

const gitPath = (name: string) => `/apis/${GIT}/namespaces/${ns.name}/gitrepositories/${name}`;
const ksPath = (name: string) => `/apis/${KS}/namespaces/${ns.name}/kustomizations/${name}`;

async function create(apiVersion: string, kind: string, plural: string, name: string, spec: Record<string, unknown>): Promise<void> {
  await client.request({ method: 'POST', path: `/apis/${apiVersion}/namespaces/${ns.name}/${plural}`, body: { apiVersion, kind, metadata: { name }, spec } });
}

async function setStatus(path: string, ready: 'True' | 'False', message: string, extra: Record<string, unknown> = {}): Promise<void> {
  const obj = await client.request<KubeObject>({ path });
  await client.request({
    method: 'PATCH',
    path: `${path}/status`,
    contentType: 'application/merge-patch+json',
    body: {
      status: {
        observedGeneration: obj.metadata.generation,
        conditions: [{ type: 'Ready', status: ready, reason: ready === 'True' ? 'Succeeded' : 'Failed', message, lastTransitionTime: new Date().toISOString() }],
        ...extra,
      },
    },
  });
}

before(async () => {
  ns = await testNamespace('cli-get');
  client = await adminClient();
  await new ResourceManager(client).apply(allCrds() as KubeObject[]);
  await create(GIT, 'GitRepository', 'gitrepositories', 'repo', { url: 'https://example.invalid/repo.git', interval: '1h', ref: { branch: 'main' } });
  await setStatus(gitPath('repo'), 'True', `stored artifact for revision '${REV}'`, { artifact: { revision: REV, path: 'x', url: 'http://x', digest: 'sha256:00', lastUpdateTime: new Date().toISOString() } });
  const ks = { interval: '1h', prune: true, sourceRef: { kind: 'GitRepository', name: 'repo' } };
  await create(KS, 'Kustomization', 'kustomizations', 'alpha', { ...ks, path: './alpha' });
  await create(KS, 'Kustomization', 'kustomizations', 'beta', { ...ks, path: './beta' });
  await create(KS, 'Kustomization', 'kustomizations', 'gamma', { ...ks, path: './gamma' });
  await setStatus(ksPath('alpha'), 'True', `Applied revision: ${REV}`, { lastAppliedRevision: REV });
  await setStatus(ksPath('beta'), 'False', 'kustomization path not found: ./beta', { lastAppliedRevision: REV });
  // gamma has no status: never reconciled
});
after(async () => {
  await closeAll(ns && (() => ns.cleanup()), client && (() => client.close()));
});

const lines = (s: string) => s.trimEnd().split('\n');
const cells = (line: string) => line.split(/\s{3,}/);

test('get ks: Flux columns, aligned, the ones not Ready first, no colour off a terminal', async () => {
  const r = await sluice(['get', 'ks', '-n', ns.name], { FORCE_COLOR: '1' });
  assert.equal(r.code, 0, r.stderr);
  const [head, ...rows] = lines(r.stdout);
  assert.deepEqual(cells(head!), ['NAME', 'REVISION', 'SUSPENDED', 'READY', 'MESSAGE']);
  assert.deepEqual(rows.map((l) => cells(l)[0]), ['beta', 'gamma', 'alpha']);
  assert.deepEqual(cells(rows[0]!), ['beta', SHORT, 'False', 'False', 'kustomization path not found: ./beta']);
  assert.deepEqual(cells(rows[1]!), ['gamma', 'False', 'Unknown', 'waiting to be reconciled']);
  assert.deepEqual(cells(rows[2]!), ['alpha', SHORT, 'False', 'True', `Applied revision: ${SHORT}`]);
  // aligned: every column starts at the same offset on every line
  const at = (l: string, word: string) => l.indexOf(word);
  assert.equal(at(rows[0]!, 'False'), head!.indexOf('SUSPENDED'));
  assert.equal(at(rows[2]!, 'True'), head!.indexOf('READY'));
  assert.doesNotMatch(r.stdout, /\x1b\[/);
});

test('get sources git, one by name, and a missing name exits 1', async () => {
  const all = await sluice(['get', 'sources', 'git', '-n', ns.name]);
  assert.equal(all.code, 0, all.stderr);
  assert.deepEqual(cells(lines(all.stdout)[1]!), ['repo', SHORT, 'False', 'True', `stored artifact for revision '${SHORT}'`]);

  const one = await sluice(['get', 'ks', 'alpha', '-n', ns.name]);
  assert.equal(one.code, 0, one.stderr);
  assert.equal(lines(one.stdout).length, 2);

  const missing = await sluice(['get', 'ks', 'nope', '-n', ns.name]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, new RegExp(`Kustomization "nope" not found in namespace "${ns.name}"`));
  assert.equal(missing.stdout, '');
  // The error says where one of that name is (other test files may have a "gamma" too).
  const elsewhere = await sluice(['get', 'ks', 'gamma', '-n', 'default']);
  assert.equal(elsewhere.code, 1);
  assert.match(elsewhere.stderr, new RegExp(`Kustomization "gamma" not found in namespace "default"; (did you mean -n ${ns.name}\\?|there is one in namespaces .*${ns.name})`));

  const badKind = await sluice(['get', 'source', 'bucket']);
  assert.equal(badKind.code, 2);
  assert.match(badKind.stderr, /unknown source kind "bucket"/);
});

test('get all: a table per kind with kind/name; -A adds NAMESPACE; --status-selector filters', async () => {
  const r = await sluice(['get', 'all', '-n', ns.name]);
  assert.equal(r.code, 0, r.stderr);
  const tables = r.stdout.trimEnd().split('\n\n');
  assert.equal(tables.length, 2, r.stdout);
  assert.match(tables[0]!, /^gitrepository\/repo\s/m);
  assert.match(tables[1]!, /^kustomization\/beta\s/m);

  const failing = await sluice(['get', 'ks', '-A', '--status-selector', 'ready=false']);
  assert.equal(failing.code, 0, failing.stderr);
  const [head, ...rows] = lines(failing.stdout);
  assert.equal(cells(head!)[0], 'NAMESPACE');
  const ours = rows.filter((l) => l.startsWith(`${ns.name} `));
  assert.deepEqual(ours.map((l) => cells(l)[1]), ['beta']);
  const readyAt = head!.indexOf('READY');
  assert.ok(rows.every((l) => l.slice(readyAt).startsWith('False ')), failing.stdout);
});

test('get reads its table from the printer columns: the same rows as from the whole objects, pins, suspensions and HelmReleases too', async () => {
  // Objects of every state a row can show, in a namespace of their own.
  const other = await testNamespace('cli-get-cells');
  try {
    const HR = 'helm.toolkit.fluxcd.io/v2';
    const post = (apiVersion: string, kind: string, plural: string, name: string, spec: Record<string, unknown>, metadata: Record<string, unknown> = {}) =>
      client.request({ method: 'POST', path: `/apis/${apiVersion}/namespaces/${other.name}/${plural}`, body: { apiVersion, kind, metadata: { name, ...metadata }, spec } });
    const status = (apiVersion: string, plural: string, name: string, st: Record<string, unknown>) =>
      client.request({ method: 'PATCH', path: `/apis/${apiVersion}/namespaces/${other.name}/${plural}/${name}/status`, contentType: 'application/merge-patch+json', body: { status: st } });
    const ready = (s: 'True' | 'False', message: string) => [{ type: 'Ready', status: s, reason: 'R', message, lastTransitionTime: new Date().toISOString() }];
    const ks = { interval: '1h', prune: true, sourceRef: { kind: 'GitRepository', name: 'repo' } };
    await post(KS, 'Kustomization', 'kustomizations', 'pinned', { ...ks, path: './p' }, { annotations: { 'sluice.dev/rollback-to': 'main@sha1:89abcdef' } });
    await status(KS, 'kustomizations', 'pinned', { lastAppliedRevision: REV, conditions: ready('True', `Applied revision: ${REV}\nsecond line`) });
    await post(KS, 'Kustomization', 'kustomizations', 'paused', { ...ks, path: './q', suspend: true });
    await status(KS, 'kustomizations', 'paused', { conditions: ready('False', 'health check failed') });
    const chart = { chart: { spec: { chart: 'web', sourceRef: { kind: 'HelmRepository', name: 'charts' } } }, interval: '1h' };
    await post(HR, 'HelmRelease', 'helmreleases', 'installed', chart);
    await status(HR, 'helmreleases', 'installed', { history: [{ chartVersion: '1.2.3', chartName: 'web', name: 'installed', namespace: other.name, version: 2, status: 'deployed', digest: 'sha256:00', firstDeployed: new Date().toISOString(), lastDeployed: new Date().toISOString(), configDigest: 'sha256:00' }], lastAttemptedRevision: '1.2.4', conditions: ready('True', 'Helm upgrade succeeded') });
    await post(HR, 'HelmRelease', 'helmreleases', 'failing', chart);
    await status(HR, 'helmreleases', 'failing', { lastAttemptedRevision: '0.1.0', conditions: ready('False', 'install failed') });
    await post(HR, 'HelmRelease', 'helmreleases', 'new', chart);

    for (const [kind, plural, apiVersion] of [['ks', 'kustomizations', KS], ['hr', 'helmreleases', HR]] as const) {
      const objects = (await client.request<{ items: KubeObject[] }>({ path: `/apis/${apiVersion}/namespaces/${other.name}/${plural}` })).items;
      const k = kindByName(kind === 'ks' ? 'Kustomization' : 'HelmRelease')!;
      const want = formatTable(header({}), sortObjects(objects).map((o) => row(k, o, {})), false);
      const got = await sluice(['get', kind, '-n', other.name]);
      assert.equal(got.code, 0, got.stderr);
      assert.equal(got.stdout, want, `get ${kind}: the rows from the printer columns are the rows from the objects`);
      // -A: the same rows under this namespace, from every namespace asked one by one.
      const all = await sluice(['get', kind, '-A']);
      assert.equal(all.code, 0, all.stderr);
      const mine = lines(all.stdout).filter((l) => l.startsWith(`${other.name} `)).map((l) => cells(l).slice(1));
      assert.deepEqual(mine, lines(want).slice(1).map(cells));
    }
    const pinned = await sluice(['get', 'ks', '-n', other.name]);
    assert.match(pinned.stdout, new RegExp(`^pinned\\s+${SHORT} \\(pinned\\)\\s+False\\s+True\\s+Applied revision: ${SHORT} second line$`, 'm'));
    assert.match(pinned.stdout, /^paused\s+True\s+False\s+health check failed$/m);
    const hrs = await sluice(['get', 'hr', '-n', other.name]);
    assert.match(hrs.stdout, /^failing\s+0\.1\.0\s+False\s+False\s+install failed$/m);
    assert.match(hrs.stdout, /^installed\s+1\.2\.3\s+False\s+True\s+Helm upgrade succeeded$/m);
  } finally {
    await other.cleanup();
  }
});

test('get -o json|yaml prints the objects, a List for several', async () => {
  const one = await sluice(['get', 'ks', 'alpha', '-n', ns.name, '-o', 'json']);
  assert.equal(one.code, 0, one.stderr);
  const obj = JSON.parse(one.stdout) as KubeObject;
  assert.equal(obj.kind, 'Kustomization');
  assert.equal(obj.metadata.name, 'alpha');

  const list = await sluice(['get', 'ks', '-n', ns.name, '-o', 'json']);
  const doc = JSON.parse(list.stdout) as { kind: string; items: KubeObject[] };
  assert.equal(doc.kind, 'List');
  assert.deepEqual(doc.items.map((o) => `${o.apiVersion} ${o.kind} ${o.metadata.name}`), [`${KS} Kustomization beta`, `${KS} Kustomization gamma`, `${KS} Kustomization alpha`]);

  const yaml = await sluice(['get', 'source', 'git', 'repo', '-n', ns.name, '-o', 'yaml']);
  assert.equal(yaml.code, 0, yaml.stderr);
  assert.match(yaml.stdout, /^kind: GitRepository$/m);
  assert.match(yaml.stdout, new RegExp(`revision: ${REV}`));
});

test('get --watch prints the table, then a row for each change, until interrupted', async () => {
  const w = await start(['get', 'ks', 'gamma', '-n', ns.name, '--watch']);
  try {
    await eventually('the first table', async () => (/^gamma\s.*Unknown/m.test(w.output()) ? true : undefined), 15_000);
    await setStatus(ksPath('gamma'), 'True', `Applied revision: ${REV}`, { lastAppliedRevision: REV });
    await eventually('the changed row', async () => (/^gamma\s+main@sha1:\S+\s+False\s+True\s/m.test(w.output()) ? true : undefined), 15_000);
  } finally {
    w.child.kill('SIGINT');
  }
  const r = await w.done;
  assert.equal(r.code, 0, r.stderr);
  assert.equal(lines(r.stdout)[0]!.split(/\s+/)[0], 'NAME');
});

test('reconcile times out with exit 1 when no controller answers; HelmRelease --force and --reset stamp the same value', async () => {
  const HR = 'helm.toolkit.fluxcd.io/v2';
  await create(HR, 'HelmRelease', 'helmreleases', 'web', { interval: '1h', chart: { spec: { chart: 'web', sourceRef: { kind: 'HelmRepository', name: 'charts' } } } });
  const r = await sluice(['reconcile', 'hr', 'web', '-n', ns.name, '--force', '--reset', '--timeout', '2s']);
  assert.equal(r.code, 1, r.stdout);
  assert.match(r.stderr, /timed out after 2s waiting for HelmRelease/);
  const hr = await client.request<KubeObject>({ path: `/apis/${HR}/namespaces/${ns.name}/helmreleases/web` });
  const a = hr.metadata.annotations ?? {};
  assert.ok(a[REQUESTED_AT]);
  assert.equal(a[FORCE_AT], a[REQUESTED_AT]);
  assert.equal(a[RESET_AT], a[REQUESTED_AT]);

  // --with-source on a HelmRelease goes to the HelmChart made for it, which is not there
  const src = await sluice(['reconcile', 'hr', 'web', '-n', ns.name, '--with-source', '--timeout', '2s']);
  assert.equal(src.code, 1);
  assert.match(src.stderr, new RegExp(`HelmChart "${ns.name}-web" not found`));
});

test('suspend and resume --wait=false patch spec.suspend; reconcile refuses a suspended object', async () => {
  const s = await sluice(['suspend', 'ks', 'alpha', '-n', ns.name]);
  assert.equal(s.code, 0, s.stderr);
  assert.match(s.stdout, /Kustomization alpha suspended/);
  let o = await client.request<KubeObject>({ path: ksPath('alpha') });
  assert.equal(o.spec?.suspend, true);

  const g = await sluice(['get', 'ks', 'alpha', '-n', ns.name]);
  assert.equal(cells(lines(g.stdout)[1]!)[2], 'True');

  const refused = await sluice(['reconcile', 'ks', 'alpha', '-n', ns.name]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /resource is suspended/);

  const r = await sluice(['resume', 'ks', 'alpha', '-n', ns.name, '--wait=false']);
  assert.equal(r.code, 0, r.stderr);
  o = await client.request<KubeObject>({ path: ksPath('alpha') });
  assert.equal(o.spec?.suspend, false);
  assert.ok(o.metadata.annotations?.[REQUESTED_AT], 'resume asks for a reconcile');

  const all = await sluice(['suspend', 'ks', '--all', '-n', ns.name]);
  assert.equal(all.code, 0, all.stderr);
  const list = await client.request<{ items: KubeObject[] }>({ path: `/apis/${KS}/namespaces/${ns.name}/kustomizations` });
  assert.deepEqual(list.items.map((i) => i.spec?.suspend), [true, true, true]);

  const missing = await sluice(['suspend', 'ks', 'nope', '-n', ns.name]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /"nope" not found/);
});
