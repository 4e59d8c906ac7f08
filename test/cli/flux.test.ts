import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { GitOps, configMap } from '../gitops.ts';
import { testKubeconfig, eventually } from '../harness.ts';
import { run, type RunResult } from '../../src/util/exec.ts';
import { closeAll } from '../cleanup.ts';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureFluxCli, FLUX_VERSION } from './fluxcli.ts';

// Flux's own command line, built from Flux v2.9's Go module, operating a
// cluster that Sluice runs: what a team switching from Flux keeps typing.
// The operator runs in this process, so every verb meets a real controller.

let g: GitOps;
let flux: string;
let kubeconfig: string;
let first: string;

async function fluxCmd(args: string[]): Promise<RunResult> {
  // Asynchronous, so the operator in this process keeps reconciling meanwhile.
  return run(flux, [...args, '-n', g.ns.name, '--timeout', '90s'], { check: false, env: { ...process.env, KUBECONFIG: kubeconfig, NO_COLOR: '1' } });
}

before(async () => {
  flux = await ensureFluxCli((m) => process.stderr.write(`# ${m}\n`));
  kubeconfig = await testKubeconfig();
  g = await GitOps.start('flux-cli');
  first = await g.push({ 'app/cm.yaml': configMap('via-flux', { v: '1' }) }, 'init');
  await g.createGitRepository('app', { interval: '1h' });
  await g.createKustomization('app', { path: './app', targetNamespace: g.ns.name, interval: '1h' });
  await g.untilReady('app', first);
});
after(async () => {
  await closeAll(
    g && (async () => {
      await g.client.request({ method: 'DELETE', path: g.ksPath('app') }).catch(() => {});
      await eventually('the Kustomization gone', async () => ((await g.get(g.ksPath('app'))) ? undefined : true), 30_000);
      // The source too, while the operator still runs to take its finalizer off: else the namespace stays Terminating.
      await g.client.request({ method: 'DELETE', path: g.gitPath('app') }).catch(() => {});
      await eventually('the GitRepository gone', async () => ((await g.get(g.gitPath('app'))) ? undefined : true), 30_000);
    }),
    g && (() => g.close()),
  );
});

test(`flux ${FLUX_VERSION} reads Sluice's objects: get sources git, get kustomizations`, async () => {
  const src = await fluxCmd(['get', 'sources', 'git']);
  assert.equal(src.code, 0, src.stderr);
  assert.match(src.stdout, /^NAME\s+REVISION\s+SUSPENDED\s+READY\s+MESSAGE/m);
  // flux shortens the digest of a revision to 8 characters in its tables.
  const short = first.replace(/(sha1:[0-9a-f]{8})[0-9a-f]+/, '$1');
  assert.match(src.stdout, new RegExp(`^app\\s+${escape(short)}\\s+False\\s+True\\s+stored artifact for revision '${escape(short)}'`, 'm'));

  const ks = await fluxCmd(['get', 'kustomizations']);
  assert.equal(ks.code, 0, ks.stderr);
  assert.match(ks.stdout, new RegExp(`^app\\s+${escape(short)}\\s+False\\s+True\\s+Applied revision: ${escape(short)}`, 'm'));
});

test('flux reconcile kustomization --with-source: Sluice fetches and applies the new commit, and flux sees it done', async () => {
  const next = await g.push({ 'app/cm.yaml': configMap('via-flux', { v: '2' }) }, 'second');
  const r = await fluxCmd(['reconcile', 'kustomization', 'app', '--with-source']);
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  // flux prints its progress on stderr: the source fetched, then the revision applied.
  assert.match(r.stderr, new RegExp(`fetched revision ${escape(next)}`));
  assert.match(r.stderr, new RegExp(`applied revision ${escape(next)}`));
  const cm = await g.get<{ data: Record<string, string> }>(g.path('configmaps', 'via-flux'));
  assert.equal(cm?.data.v, '2');
});

test('flux suspend and resume: Sluice stops and starts again, and resume waits for the new revision', async () => {
  const s = await fluxCmd(['suspend', 'kustomization', 'app']);
  assert.equal(s.code, 0, s.stderr);
  assert.equal((await g.ks('app')).spec?.suspend, true);
  const listed = await fluxCmd(['get', 'kustomizations']);
  assert.match(listed.stdout, /^app\s+\S+\s+True\s+/m);

  const next = await g.pushAndFetch({ 'app/cm.yaml': configMap('via-flux', { v: '3' }) }, 'third');
  const r = await fluxCmd(['resume', 'kustomization', 'app']);
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stderr, new RegExp(`applied revision ${escape(next)}`));
  const ks = await g.ks('app');
  assert.notEqual(ks.spec?.suspend, true);
  assert.equal(ks.status?.lastAppliedRevision, next);
});

test('flux tree and trace: the inventory, the owner labels and the source chain Sluice records', async () => {
  const ns = g.ns.name;
  const tree = await fluxCmd(['tree', 'kustomization', 'app']);
  assert.equal(tree.code, 0, tree.stderr);
  assert.equal(tree.stdout.trim(), `Kustomization/${ns}/app\n└── ConfigMap/${ns}/via-flux`);
  const json = await fluxCmd(['tree', 'kustomization', 'app', '-o', 'json']);
  assert.equal(json.code, 0, json.stderr);
  const parsed = JSON.parse(json.stdout) as { resource: { Name: string }; resources: Array<{ resource: { Name: string; GroupKind: { Kind: string } } }> };
  assert.deepEqual(parsed.resources.map((r) => `${r.resource.GroupKind.Kind}/${r.resource.Name}`), ['ConfigMap/via-flux']);

  const ks = await g.ks('app');
  const trace = await fluxCmd(['trace', 'configmap', 'via-flux']);
  assert.equal(trace.code, 0, trace.stderr);
  assert.equal(trace.stderr, '');
  assert.match(trace.stdout, /^Object:\s+ConfigMap\/via-flux$/m);
  assert.match(trace.stdout, /^Status:\s+Managed by Flux$/m);
  assert.match(trace.stdout, new RegExp(`^Kustomization:\\s+app\\nNamespace:\\s+${ns}\\nTarget:\\s+${ns}\\nPath:\\s+\\./app\\nRevision:\\s+${escape(ks.status!.lastAppliedRevision!)}\\nStatus:\\s+Last reconciled at .+\\nMessage:\\s+Applied revision: `, 'm'));
  assert.match(trace.stdout, new RegExp(`^GitRepository:\\s+app\\nNamespace:\\s+${ns}\\nURL:\\s+\\S+\\nBranch:\\s+main\\nRevision:\\s+${escape(ks.status!.lastAppliedRevision!)}\\nStatus:\\s+Last reconciled at`, 'm'));
});

test('flux events, stats and export: the events, counts and clean objects Sluice leaves', async () => {
  const events = await fluxCmd(['events', '--for', 'Kustomization/app']);
  assert.equal(events.code, 0, events.stderr);
  assert.match(events.stdout, /^LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+MESSAGE\s*$/m);
  // The Kustomization's own events and, as flux adds them, its source's, with Flux's reasons.
  assert.match(events.stdout, /^\S+\s+Normal\s+ReconciliationSucceeded\s+Kustomization\/app\s+Reconciliation finished in \d+m?s, next run in 1h0m0s\s*$/m);
  assert.match(events.stdout, /^\S+\s+Normal\s+Progressing\s+Kustomization\/app\s+ConfigMap\/\S+\/via-flux created\s*$/m);
  assert.match(events.stdout, /^\S+\s+Normal\s+NewArtifact\s+GitRepository\/app\s+stored artifact for commit 'init'\s*$/m);

  const stats = await fluxCmd(['stats']);
  assert.equal(stats.code, 0, stats.stderr);
  assert.match(stats.stdout, /^RECONCILERS\s+RUNNING\s+FAILING\s+SUSPENDED\s+STORAGE\s*$/m);
  assert.match(stats.stdout, /^GitRepository\s+1\s+0\s+0\s+\d+(\.\d)? (B|KiB|MiB)\s*$/m);
  assert.match(stats.stdout, /^Kustomization\s+1\s+0\s+0\s+-\s*$/m);

  const exported = await fluxCmd(['export', 'kustomization', 'app']);
  assert.equal(exported.code, 0, exported.stderr);
  assert.match(exported.stdout, new RegExp(`^apiVersion: kustomize\\.toolkit\\.fluxcd\\.io/v1\\nkind: Kustomization\\nmetadata:\\n(?: {4}.*\\n| {2}annotations:\\n)* {2}name: app\\n {2}namespace: ${g.ns.name}\\nspec:\\n`, 'm'));
  assert.match(exported.stdout, /^ {2}path: \.\/app$/m);
  assert.doesNotMatch(exported.stdout, /^status:|resourceVersion|managedFields/m);
  const src = await fluxCmd(['export', 'source', 'git', 'app']);
  assert.equal(src.code, 0, src.stderr);
  assert.match(src.stdout, /^kind: GitRepository$/m);
});

test('flux diff kustomization: a local change against what Sluice applied, with flux\'s exit codes', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'flux-diff-'));
  try {
    const live = await g.get<{ data: Record<string, string> }>(g.path('configmaps', 'via-flux'));
    await writeFile(join(dir, 'cm.yaml'), configMap('via-flux', { v: live!.data.v! }));
    const same = await fluxCmd(['diff', 'kustomization', 'app', '--path', dir]);
    assert.equal(same.code, 0, `${same.stdout}\n${same.stderr}`);
    await writeFile(join(dir, 'cm.yaml'), configMap('via-flux', { v: 'local' }));
    const changed = await fluxCmd(['diff', 'kustomization', 'app', '--path', dir]);
    assert.equal(changed.code, 1, `${changed.stdout}\n${changed.stderr}`);
    assert.match(changed.stdout, new RegExp(`► ConfigMap/${g.ns.name}/via-flux drifted`));
    assert.match(changed.stdout, /data\.v/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('flux check, version and logs: they look for Flux\'s own controllers and say Sluice\'s are not', async () => {
  const pre = await fluxCmd(['check', '--pre']);
  assert.equal(pre.code, 0, pre.stderr);
  assert.match(pre.stderr, /✔ Kubernetes 1\.\d+\.\d+ >=1\.33\.0-0/);
  assert.match(pre.stderr, /✔ prerequisites checks passed/);

  // The CRDs say whose they are: flux reports the distribution from their labels.
  const check = await fluxCmd(['check']);
  assert.equal(check.code, 1, check.stderr);
  assert.match(check.stderr, /✔ distribution: sluice-/);
  assert.match(check.stderr, /✗ no controllers found in the '.*' namespace with the label selector 'app\.kubernetes\.io\/part-of=flux'/);

  const client = await fluxCmd(['version', '--client']);
  assert.equal(client.code, 0, client.stderr);
  assert.equal(client.stdout, `flux: ${FLUX_VERSION}\n`);
  const server = await fluxCmd(['version']);
  assert.equal(server.code, 1);
  assert.match(server.stderr, /no deployments found in .* namespace/);

  const logs = await fluxCmd(['logs']);
  assert.equal(logs.code, 1);
  assert.match(logs.stderr, /no Flux pods found|no pods found/i);
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
