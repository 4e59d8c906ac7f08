import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { GitOps, configMap } from '../gitops.ts';
import { testKubeconfig, eventually } from '../harness.ts';
import { run, type RunResult } from '../../src/util/exec.ts';
import { closeAll } from '../cleanup.ts';
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

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
