import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { adminClient, testKubeconfig, testNamespace, type TestNamespace } from '../harness.ts';
import { closeAll } from '../cleanup.ts';
import { ResourceManager } from '../../src/apply/manager.ts';
import { allCrds } from '../../src/api/crds.ts';
import type { KubeClient } from '../../src/kube/client.ts';
import type { KubeObject } from '../../src/kube/object.ts';
import { sluiceVersion } from '../../src/util/paths.ts';
import { sluice } from './sluice.ts';

// stats, version, logs --file, completion, and the global flags, against
// objects whose status the test writes (no controller runs here).

let ns: TestNamespace;
let client: KubeClient;
let dir: string;
const GIT = 'source.toolkit.fluxcd.io/v1';
const KS = 'kustomize.toolkit.fluxcd.io/v1';

async function create(apiVersion: string, plural: string, kind: string, name: string, spec: Record<string, unknown>, status?: Record<string, unknown>): Promise<void> {
  const path = `/apis/${apiVersion}/namespaces/${ns.name}/${plural}`;
  await client.request({ method: 'POST', path, body: { apiVersion, kind, metadata: { name }, spec } });
  if (status) await client.request({ method: 'PATCH', path: `${path}/${name}/status`, contentType: 'application/merge-patch+json', body: { status } });
}
const ready = (s: string) => ({ conditions: [{ type: 'Ready', status: s, reason: s === 'True' ? 'Succeeded' : 'Failed', message: 'm', lastTransitionTime: new Date().toISOString() }] });

before(async () => {
  ns = await testNamespace('cli-misc');
  client = await adminClient();
  dir = await mkdtemp(join(tmpdir(), 'sluice-misc-'));
  await new ResourceManager(client).apply(allCrds() as KubeObject[]);
  const git = { url: 'https://example.invalid/r.git', interval: '1h', ref: { branch: 'main' } };
  await create(GIT, 'gitrepositories', 'GitRepository', 'repo', git, { ...ready('True'), artifact: { revision: 'main@sha1:0123456789abcdef0123456789abcdef01234567', path: 'p', url: 'http://x', digest: 'sha256:00', lastUpdateTime: new Date().toISOString(), size: 3000 } });
  const ks = { interval: '1h', prune: true, path: './', sourceRef: { kind: 'GitRepository', name: 'repo' } };
  await create(KS, 'kustomizations', 'Kustomization', 'ok', ks, ready('True'));
  await create(KS, 'kustomizations', 'Kustomization', 'bad', ks, ready('False'));
  await create(KS, 'kustomizations', 'Kustomization', 'paused', { ...ks, suspend: true });
});
after(async () => {
  await closeAll(ns && (() => ns.cleanup()), client && (() => client.close()), dir && (() => rm(dir, { recursive: true, force: true })));
});

test('stats: running, failing, suspended and storage per kind, every Flux kind listed', async () => {
  const r = await sluice(['stats', '-n', ns.name]);
  assert.equal(r.code, 0, r.stderr);
  const rows = r.stdout.trimEnd().split('\n').map((l) => l.split(/\s{3,}/));
  assert.deepEqual(rows[0], ['RECONCILERS', 'RUNNING', 'FAILING', 'SUSPENDED', 'STORAGE']);
  assert.deepEqual(rows[1], ['GitRepository', '1', '0', '0', '2.9 KiB']);
  assert.deepEqual(rows.find((x) => x[0] === 'Kustomization'), ['Kustomization', '2', '1', '1', '-']);
  assert.deepEqual(rows.find((x) => x[0] === 'HelmRelease'), ['HelmRelease', '0', '0', '0', '-']);
  assert.equal(rows.length, 14);
});

test('version: the client, the controller Deployment or why there is none, the API versions', async () => {
  const c = await sluice(['version', '--client']);
  assert.equal(c.stdout, `sluice: v${sluiceVersion()}\n`);
  const r = await sluice(['version', '-n', ns.name]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^controller: (v\S+ \(\S+\/\S+, \d+\/\d+ ready\)\nimage: \S+|no controller Deployment in the cluster .*)$/m);
  assert.match(r.stdout, /^  kustomizations\.kustomize\.toolkit\.fluxcd\.io: v1 \(stored\), v1beta2 \(deprecated\)$/m);
  assert.match(r.stdout, /^  helmreleases\.helm\.toolkit\.fluxcd\.io: v2 \(stored\), v2beta2 \(deprecated\), v2beta1 \(deprecated\)$/m);
  const j = JSON.parse((await sluice(['version', '-o', 'json'])).stdout) as { sluice: string; apis: Record<string, string> };
  assert.equal(j.sluice, sluiceVersion());
});

test('logs --file: flux logs\' lines, filtered by kind, name, namespace and level', async () => {
  const file = join(dir, 'controller.log');
  const entry = (level: string, controller: string, name: string, namespace: string, msg: string) => JSON.stringify({ level, ts: '2026-12-07T10:00:00.000Z', msg, logger: 'sluice', controller, namespace, name });
  await writeFile(file, [entry('info', 'kustomization', 'web', 'apps', 'applied'), entry('error', 'kustomization', 'db', 'apps', 'failed'), entry('info', 'helmrelease', 'web', 'apps', 'released'), entry('info', 'kustomization', 'web', 'other', 'applied'), 'a line that is not JSON'].join('\n'));
  const r = await sluice(['logs', '--file', file, '-n', 'apps', '--kind', 'Kustomization']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '2026-12-07T10:00:00.000Z info Kustomization/web.apps - applied\n2026-12-07T10:00:00.000Z error Kustomization/db.apps - failed\n');
  const errs = await sluice(['logs', '--file', file, '-A', '--level', 'error']);
  assert.equal(errs.stdout, '2026-12-07T10:00:00.000Z error Kustomization/db.apps - failed\n');
  const pods = await sluice(['logs', '--flux-namespace', ns.name]);
  assert.equal(pods.code, 1);
  assert.match(pods.stderr, /no Sluice controller pods in namespace ".*": install it with sluice install .* pass --file PATH/);
});

test('completion: a script bash accepts; an unknown shell is a usage error', async () => {
  const r = await sluice(['completion', 'bash']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /complete -o default -F _sluice sluice/);
  assert.match(r.stdout, /wait/);
  const bad = await sluice(['completion', 'tcsh']);
  assert.equal(bad.code, 2);
});

test('global flags: KUBECONFIG with several files merged, --context, --help with examples, usage errors exit 2', async () => {
  const kc = parse(await readFile(await testKubeconfig(), 'utf8')) as Record<string, unknown>;
  const { 'current-context': current, ...rest } = kc;
  const a = join(dir, 'a.yaml');
  const b = join(dir, 'b.yaml');
  await writeFile(a, stringify(rest));
  await writeFile(b, stringify({ apiVersion: 'v1', kind: 'Config', clusters: [], users: [], contexts: [], 'current-context': current }));
  const merged = await sluice(['get', 'ks', '-n', ns.name], { KUBECONFIG: `${b}:${a}` });
  assert.equal(merged.code, 0, merged.stderr);
  assert.match(merged.stdout, /^bad\s/m);
  const ctx = await sluice(['get', 'ks', '-n', ns.name, '--kubeconfig', a, '--context', String(current)]);
  assert.equal(ctx.code, 0, ctx.stderr);
  const noCtx = await sluice(['get', 'ks', '-n', ns.name, '--kubeconfig', a, '--context', 'nowhere']);
  assert.equal(noCtx.code, 1);
  assert.match(noCtx.stderr, new RegExp(`kubeconfig has no context "nowhere"; its contexts: ${String(current)} \\(--context NAME\\)`));
  for (const verb of ['wait', 'build', 'export', 'delete', 'events', 'tree', 'trace', 'stats', 'logs']) {
    const h = await sluice([verb, '--help']);
    assert.equal(h.code, 0, verb);
    assert.match(h.stdout, /^usage: sluice /, verb);
    assert.match(h.stdout, /--kubeconfig FILE/, verb);
  }
  const diffHelp = await sluice(['diff', 'ks', '--help']);
  assert.match(diffHelp.stdout, /examples:\n  sluice diff ks apps --path/);
  const unknown = await sluice(['tree', 'ks', 'x', '--bogus']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /Unknown option '--bogus'[^]*see sluice tree --help/);
  const typo = await sluice(['get', 'ks', 'ok', '-n', 'default']);
  assert.equal(typo.code, 1);
});
