import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GitOps, configMap, deployment } from '../gitops.ts';
import { sluice, start } from './sluice.ts';
import { closeAll } from '../cleanup.ts';
import { eventually } from '../harness.ts';

// The CI commands against the real operator (in this process): `sluice wait`
// for a pushed revision, `sluice build ks` and `sluice diff ks` of a local
// directory against what the controller applied.

let g: GitOps;
let first: string;
let work: string;

const cmWithVar = configMap('greeting', { text: '${GREETING}', v: '1' });

before(async () => {
  g = await GitOps.start('cli-ci');
  work = await mkdtemp(join(tmpdir(), 'sluice-ci-'));
  await g.client.request({ method: 'POST', path: `/api/v1/namespaces/${g.ns.name}/configmaps`, body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'vars' }, data: { GREETING: 'hello' } } });
  first = await g.push({ 'app/cm.yaml': cmWithVar, 'app/old.yaml': configMap('old', { a: '1' }), 'hc/deploy.yaml': deployment('stuck', { podSpec: '      nodeSelector: {sluice.dev/no-such-node: "true"}\n' }) }, 'init');
  await g.createGitRepository('app', { interval: '1h' });
  await g.createKustomization('app', { path: './app', targetNamespace: g.ns.name, interval: '1h', postBuild: { substituteFrom: [{ kind: 'ConfigMap', name: 'vars' }] } });
  await g.untilReady('app', first);
});
after(async () => {
  await closeAll(
    g && (() => deleteAndWait(['app', 'hc'])),
    g && (() => g.close()),
    work && (() => rm(work, { recursive: true, force: true })),
  );
});

async function deleteAndWait(names: string[]): Promise<void> {
  for (const n of names) await g.client.request({ method: 'DELETE', path: g.ksPath(n) }).catch(() => {});
  await eventually('the Kustomizations gone', async () => ((await Promise.all(names.map((n) => g.get(g.ksPath(n))))).every((o) => !o) ? true : undefined), 30_000);
}

const sha = (rev: string) => rev.slice(rev.lastIndexOf(':') + 1);

test('wait: 0 once the revision is applied and healthy, also for a commit the controller has not fetched yet', async () => {
  const done = await sluice(['wait', 'ks', 'app', '-n', g.ns.name, '--for-revision', sha(first), '--timeout', '30s']);
  assert.equal(done.code, 0, done.stderr);
  assert.equal(done.stdout.replace(/\(\d+s\)/, '(Ns)'), `✔ Kustomization ${g.ns.name}/app applied revision ${first} and is healthy (Ns)\n`);

  const next = await g.push({ 'app/cm.yaml': configMap('greeting', { text: '${GREETING}', v: '2' }), 'app/old.yaml': configMap('old', { a: '1' }) }, 'second');
  const waiting = await start(['wait', 'ks', 'app', '-n', g.ns.name, '--for-revision', sha(next).slice(0, 10), '--timeout', '60s', '--interval', '300ms']);
  // Not a terminal: plain progress lines on stderr, the answer on stdout.
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(waiting.output(), '', 'still waiting: the GitRepository polls hourly');
  await g.requestReconcile(g.gitPath());
  const r = await waiting.done;
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`applied revision ${next}`));
  assert.match(r.stderr, /^◎ waiting for Kustomization .*\/app to apply [0-9a-f]{10}\n/);
  assert.match(r.stderr, /last applied main@sha1:/);
  first = next;
});

test('wait: 1 with the reason and the objects that are not healthy; 2 on a timeout', async () => {
  await g.createKustomization('hc', { path: './hc', targetNamespace: g.ns.name, interval: '1h', wait: true, timeout: '3s' });
  const r = await sluice(['wait', 'kustomization', 'hc', '-n', g.ns.name, '--for-revision', first, '--timeout', '60s']);
  assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
  const lines = r.stdout.split('\n');
  assert.equal(lines[0], `✗ Kustomization ${g.ns.name}/hc failed at revision ${first}: HealthCheckFailed`);
  assert.match(r.stdout, new RegExp(`objects not healthy:\\n  Deployment/${g.ns.name}/stuck: InProgress`));

  const t = await sluice(['wait', 'ks', 'app', '-n', g.ns.name, '--for-revision', '0123456789abcdef', '--timeout', '1s', '--interval', '200ms']);
  assert.equal(t.code, 2);
  assert.match(t.stdout, /✗ timed out after 1s waiting for Kustomization .*\/app to apply 0123456789abcdef; last seen: Ready True \(ReconciliationSucceeded\), last applied main@sha1:/);

  const usage = await sluice(['wait', 'ks', 'app', '-n', g.ns.name]);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /--for-revision is required/);
});

/** The local checkout a pull request would have: app/ with changes. */
async function localDir(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(work, 'app-'));
  await mkdir(dir, { recursive: true });
  for (const [f, text] of Object.entries(files)) await writeFile(join(dir, f), text);
  return dir;
}

test('build ks: the controller\'s build of a local directory, substituteFrom from the cluster, owner labels', async () => {
  // .sops.yaml is one of Flux's default exclusions, notes.yaml is left out by --ignore-paths:
  // neither is a manifest, and the artifact would not hold them.
  const dir = await localDir({ 'cm.yaml': cmWithVar, '.sops.yaml': 'creation_rules:\n  - age: age1xyz\n', 'notes.yaml': 'just: notes\n' });
  const r = await sluice(['build', 'ks', 'app', '-n', g.ns.name, '--path', dir, '--ignore-paths', 'notes.yaml']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    r.stdout,
    `---
apiVersion: v1
data:
  text: hello
  v: "1"
kind: ConfigMap
metadata:
  labels:
    kustomize.toolkit.fluxcd.io/name: app
    kustomize.toolkit.fluxcd.io/namespace: ${g.ns.name}
  name: greeting
  namespace: ${g.ns.name}
`,
  );
  const missing = await sluice(['build', 'ks', 'nope', '-n', g.ns.name, '--path', dir]);
  assert.equal(missing.code, 2);
  assert.equal(missing.stderr, `✗ Kustomization "nope" not found in namespace "${g.ns.name}" (sluice get kustomization -A lists them all)\n`);
  // The error says where one of that name is (other test files may have one too).
  const elsewhere = await sluice(['build', 'ks', 'app', '-n', 'default', '--path', dir]);
  assert.equal(elsewhere.code, 2);
  assert.match(elsewhere.stderr, new RegExp(`Kustomization "app" not found in namespace "default"; (did you mean -n ${g.ns.name}\\?|there is one in namespaces .*${g.ns.name})`));
  const badPath = await sluice(['build', 'ks', 'app', '-n', g.ns.name, '--path', join(dir, 'nowhere')]);
  assert.equal(badPath.code, 2);
  assert.match(badPath.stderr, /invalid resource path/);
});

test('diff ks: 0 without changes; 1 with what would be created, changed and pruned; markdown for a pull request', async () => {
  const same = await localDir({ 'cm.yaml': configMap('greeting', { text: '${GREETING}', v: '2' }), 'old.yaml': configMap('old', { a: '1' }) });
  const none = await sluice(['diff', 'ks', 'app', '-n', g.ns.name, '--path', same]);
  assert.equal(none.code, 0, `${none.stdout}\n${none.stderr}`);
  assert.equal(none.stdout, '');

  const changed = await localDir({ 'cm.yaml': configMap('greeting', { text: '${GREETING}', v: '3' }), 'new.yaml': configMap('fresh', { b: '2' }) });
  const r = await sluice(['diff', 'ks', 'app', '-n', g.ns.name, '--path', changed]);
  assert.equal(r.code, 1, r.stderr);
  const ns = g.ns.name;
  assert.match(r.stdout, new RegExp(`^► ConfigMap/${ns}/greeting drifted\\n`, 'm'));
  assert.match(r.stdout, /^-  v: "2"\n\+  v: "3"$/m);
  assert.match(r.stdout, new RegExp(`^► ConfigMap/${ns}/fresh created$`, 'm'));
  assert.match(r.stdout, new RegExp(`^► ConfigMap/${ns}/old deleted$`, 'm'));
  // Nothing was written.
  const live = await g.get<{ data: Record<string, string> }>(g.path('configmaps', 'greeting'));
  assert.equal(live?.data.v, '2');
  assert.equal(await g.get(g.path('configmaps', 'fresh')), undefined);

  const md = await sluice(['diff', 'ks', 'app', '-n', ns, '--path', changed, '-o', 'markdown']);
  assert.equal(md.code, 1);
  const head = md.stdout.split('\n<details>')[0];
  assert.equal(
    head,
    `### sluice diff: Kustomization ${ns}/app

1 to create, 1 changed, 1 to delete.

| object | change |
| --- | --- |
| \`ConfigMap/${ns}/greeting\` | change |
| \`ConfigMap/${ns}/fresh\` | create |
| \`ConfigMap/${ns}/old\` | delete |
`,
  );
  assert.match(md.stdout, /<details><summary><code>ConfigMap\/.*\/greeting<\/code><\/summary>\n\n```diff\n[^]*\+  v: "3"\n[^]*```\n\n<\/details>/);

  const kfile = join(work, 'app-ks.yaml');
  await writeFile(kfile, `apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: app\n  namespace: ${ns}\nspec:\n  interval: 1h\n  path: ./app\n  prune: false\n  targetNamespace: ${ns}\n  sourceRef: {kind: GitRepository, name: app}\n  postBuild:\n    substitute: {GREETING: hello}\n`);
  const fromFile = await sluice(['diff', 'ks', 'app', '-n', ns, '--path', changed, '--kustomization-file', kfile]);
  assert.equal(fromFile.code, 1);
  assert.doesNotMatch(fromFile.stdout, /deleted/, 'prune: false in the file: nothing is deleted');

  const err = await sluice(['diff', 'ks', 'app', '-n', ns, '--path', join(work, 'nowhere')]);
  assert.equal(err.code, 2);
});
