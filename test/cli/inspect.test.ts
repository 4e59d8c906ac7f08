import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GitOps, configMap } from '../gitops.ts';
import { collect, sluice, start, type Result } from './sluice.ts';
import { closeAll } from '../cleanup.ts';
import { eventually, testKubeconfig } from '../harness.ts';

// The verbs that read what the operator wrote (tree, trace, events, export)
// and delete, against the operator running in this process: a Kustomization
// `app` that applies a ConfigMap and a nested Kustomization `child`.

let g: GitOps;
let rev: string;
let ns: string;

const child = (namespace: string) => `apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: child
spec:
  interval: 1h
  path: ./child
  prune: true
  targetNamespace: ${namespace}
  sourceRef: {kind: GitRepository, name: app}
`;

before(async () => {
  g = await GitOps.start('cli-inspect');
  ns = g.ns.name;
  rev = await g.push({ 'app/cm.yaml': configMap('top', { v: '1' }), 'app/child.yaml': child(ns), 'child/cm.yaml': configMap('leaf', { v: '1' }) }, 'init');
  await g.createGitRepository('app', { interval: '1h' });
  await g.createKustomization('app', { path: './app', targetNamespace: ns, interval: '1h' });
  await g.untilReady('app', rev);
  await g.untilReady('child', rev);
});
after(async () => {
  await closeAll(g && (() => deleteAndWait(['child', 'app'])), g && (() => g.close()));
});

async function deleteAndWait(names: string[]): Promise<void> {
  for (const n of names) await g.client.request({ method: 'DELETE', path: g.ksPath(n) }).catch(() => {});
  await eventually('the Kustomizations gone', async () => ((await Promise.all(names.map((n) => g.get(g.ksPath(n))))).every((o) => !o) ? true : undefined), 30_000);
}

test('tree: the inventory with the nested Kustomization expanded, health on request', async () => {
  const r = await sluice(['tree', 'ks', 'app', '-n', ns]);
  assert.equal(r.code, 0, r.stderr);
  // In the inventory's order (by id, as Flux keeps it: <ns>_<name>_<group>_<kind>).
  assert.equal(r.stdout, `Kustomization/${ns}/app\n├── Kustomization/${ns}/child\n│   └── ConfigMap/${ns}/leaf\n└── ConfigMap/${ns}/top\n`);
  const h = await sluice(['tree', 'ks', 'app', '-n', ns, '--health', '--compact']);
  assert.equal(h.stdout, `Kustomization/${ns}/app (Current)\n└── Kustomization/${ns}/child (Current)\n`);
  const j = await sluice(['tree', 'ks', 'app', '-n', ns, '-o', 'json']);
  assert.equal(JSON.parse(j.stdout).resources[0].resources[0].resource.Name, 'leaf');
  const missing = await sluice(['tree', 'ks', 'nope', '-n', ns]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /Kustomization "nope" not found in namespace/);
});

test('trace: the applier, its path and revision, and its source', async () => {
  const r = await sluice(['trace', 'configmap', 'leaf', '-n', ns]);
  assert.equal(r.code, 0, r.stderr);
  const masked = r.stdout.replace(/at \d{4}-\d\d-\d\dT[\d:]+Z/g, 'at TIME').replace(/http:\/\/127\.0\.0\.1:\d+\/\S+/, 'URL');
  assert.equal(
    masked,
    `Object:          ConfigMap/leaf
Namespace:       ${ns}
Status:          Managed by Flux
---
Kustomization:   child
Namespace:       ${ns}
Target:          ${ns}
Path:            ./child
Revision:        ${rev}
Status:          Last reconciled at TIME
Message:         Applied revision: ${rev}
---
GitRepository:   app
Namespace:       ${ns}
URL:             URL
Branch:          main
Revision:        ${rev}
Status:          Last reconciled at TIME
Message:         stored artifact for revision '${rev}'
`,
  );
  const two = await sluice(['trace', 'cm/top', 'kustomization/child', '-n', ns]);
  assert.equal(two.code, 0, two.stderr);
  assert.match(two.stdout, /^Object:          ConfigMap\/top$/m);
  assert.match(two.stdout, /^Object:          Kustomization\/child\n[^]*^Kustomization:   app$/m);
  const unmanaged = await sluice(['trace', 'serviceaccount', 'default', '-n', ns]);
  assert.equal(unmanaged.code, 1);
  assert.match(unmanaged.stderr, /ServiceAccount\/default is not managed by a Kustomization or HelmRelease/);
});

test('events: the object\'s and its source\'s, oldest first; -A adds NAMESPACE', async () => {
  const r = await sluice(['events', '--for', 'Kustomization/child', '-n', ns]);
  assert.equal(r.code, 0, r.stderr);
  const [head, ...rows] = r.stdout.trimEnd().split('\n');
  assert.deepEqual(head!.split(/\s{2,}/), ['LAST SEEN', 'TYPE', 'REASON', 'OBJECT', 'MESSAGE']);
  const objects = new Set(rows.map((l) => l.split(/\s{2,}/)[3]));
  assert.ok(objects.has('Kustomization/child'), r.stdout);
  assert.ok(objects.has('GitRepository/app'), r.stdout);
  assert.ok(!objects.has('Kustomization/app'), r.stdout);
  assert.ok(rows.some((l) => /Normal\s+ReconciliationSucceeded\s+Kustomization\/child/.test(l) || /Normal\s+Progressing\s+Kustomization\/child\s+ConfigMap\/.*\/leaf created/.test(l)), r.stdout);
  const all = await sluice(['events', '-A', '--types', 'Normal']);
  assert.equal(all.stdout.split('\n')[0]!.split(/\s{2,}/)[0], 'NAMESPACE');
  const bad = await sluice(['events', '--types', 'Loud']);
  assert.equal(bad.code, 2);
});

test('export: clean YAML, keys sorted, no status or server fields', async () => {
  const r = await sluice(['export', 'ks', 'child', '-n', ns]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    r.stdout,
    `---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  labels:
    kustomize.toolkit.fluxcd.io/name: app
    kustomize.toolkit.fluxcd.io/namespace: ${ns}
  name: child
  namespace: ${ns}
spec:
  interval: 1h
  path: ./child
  prune: true
  sourceRef:
    kind: GitRepository
    name: app
  targetNamespace: ${ns}
`,
  );
  const all = await sluice(['export', 'source', 'git', '--all', '-n', ns]);
  assert.equal(all.code, 0, all.stderr);
  assert.match(all.stdout, /^---\napiVersion: source.toolkit.fluxcd.io\/v1\nkind: GitRepository\nmetadata:\n  name: app\n/);
  assert.doesNotMatch(all.stdout, /status:|resourceVersion|managedFields|uid:/);
  const none = await sluice(['export', 'hr', '--all', '-n', ns]);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /no helmrelease found in namespace/);
});

test('diff ks -r: a nested Kustomization is diffed from its own path in the same checkout', async () => {
  const local = await mkdtemp(join(tmpdir(), 'sluice-inspect-'));
  try {
    await mkdir(join(local, '.git'));
    await mkdir(join(local, 'app'));
    await mkdir(join(local, 'child'));
    await writeFile(join(local, 'app', 'cm.yaml'), configMap('top', { v: '1' }));
    await writeFile(join(local, 'app', 'child.yaml'), child(ns));
    await writeFile(join(local, 'child', 'cm.yaml'), configMap('leaf', { v: '2' }));
    const flat = await sluice(['diff', 'ks', 'app', '-n', ns, '--path', join(local, 'app')]);
    assert.equal(flat.code, 0, `${flat.stdout}\n${flat.stderr}`);
    const r = await sluice(['diff', 'ks', 'app', '-n', ns, '--path', join(local, 'app'), '--recursive']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, new RegExp(`^📁 Kustomization/${ns}/child changed\\n► ConfigMap/${ns}/leaf drifted\\n`));
    assert.match(r.stdout, /^-  v: "1"\n\+  v: "2"$/m);
    const md = await sluice(['diff', 'ks', 'app', '-n', ns, '--path', join(local, 'app'), '-r', '-o', 'markdown']);
    assert.match(md.stdout, new RegExp(`^### sluice diff: Kustomization ${ns}/app\\n\\nNo changes\\.\\n\\n#### 📁 Kustomization ${ns}/child\\n\\n1 changed\\.`));
  } finally {
    await rm(local, { recursive: true, force: true });
  }
});

test('events -w: the events so far, then new ones as they come; SIGINT ends it with 0', async () => {
  const w = await start(['events', '-w', '--for', 'Kustomization/app', '-n', ns]);
  await eventually('the first events', async () => (w.output().includes('Kustomization/app') ? true : undefined), 15_000);
  const before = w.output().split('\n').length;
  await g.pushAndFetch({ 'app/cm.yaml': configMap('top', { v: '2' }), 'app/child.yaml': child(ns), 'child/cm.yaml': configMap('leaf', { v: '1' }) }, 'second');
  await g.requestReconcile(g.ksPath('app'));
  await eventually('a new event', async () => (/ConfigMap\/\S+\/top configured/.test(w.output()) ? true : undefined), 30_000);
  assert.ok(w.output().split('\n').length > before);
  assert.equal(w.output().split('\n').filter((l) => l.startsWith('LAST SEEN')).length, 1, 'one header');
  w.child.kill('SIGINT');
  assert.equal((await w.done).code, 0);
});

/** sluice with text on its standard input. */
async function withInput(args: string[], input: string): Promise<Result> {
  const bin = fileURLToPath(new URL('../../bin/sluice.js', import.meta.url));
  const c = spawn(process.execPath, [bin, ...args], { env: { ...process.env, KUBECONFIG: await testKubeconfig() }, stdio: ['pipe', 'pipe', 'pipe'] });
  c.stdin!.end(input);
  return collect(c);
}

test('delete: asks first; no answer aborts, y deletes, --silent does not ask', async () => {
  const no = await sluice(['delete', 'ks', 'child', '-n', ns]);
  assert.equal(no.code, 1);
  assert.match(no.stderr, /Are you sure you want to delete this kustomization\? \[y\/N\] \n✗ aborting/);
  assert.ok(await g.get(g.ksPath('child')));
  const yes = await withInput(['delete', 'ks', 'child', '-n', ns], 'y\n');
  assert.equal(yes.code, 0, yes.stderr);
  assert.match(yes.stderr, new RegExp(`► deleting kustomization child in ${ns} namespace\\n✔ kustomization deleted`));
  await eventually('child gone', async () => ((await g.get(g.ksPath('child'))) ? undefined : true), 30_000);
  const silent = await sluice(['delete', 'source', 'git', 'nope', '-n', ns, '--silent']);
  assert.equal(silent.code, 1);
  assert.match(silent.stderr, /GitRepository "nope" not found/);
});
