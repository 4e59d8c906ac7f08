import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { GitOps, configMap } from '../gitops.ts';
import { eventually } from '../harness.ts';
import type { KubeObject } from '../../src/kube/object.ts';
import { closeAll } from '../cleanup.ts';

// reconcile.fluxcd.io/watch: Enabled (and --watch-configs-label-selector):
// a change in a ConfigMap or Secret a Kustomization substitutes from reaches
// it at once, not at its next interval (an hour here).

let g: GitOps;
let custom: GitOps;
const revs = new Map<GitOps, string>();

before(async () => {
  g = await GitOps.start('ks-watch');
  // A second operator with Flux's flag: ConfigMaps and Secrets labelled team=blue.
  custom = await GitOps.start('ks-watch-sel', { watchConfigsLabelSelector: 'team in (blue)' });
  for (const x of [g, custom]) {
    revs.set(x, await x.push({ 'app/cm.yaml': configMap('out', { greeting: '${greeting}', token: '${token}' }) }, 'init'));
    await x.createGitRepository();
  }
});
after(async () => {
  await closeAll(g && (() => g.close()), custom && (() => custom.close()));
});

type Data = KubeObject & { data?: Record<string, string> };

async function create(x: GitOps, kind: 'configmaps' | 'secrets', name: string, data: Record<string, string>, labels: Record<string, string>): Promise<void> {
  await x.client.request({
    method: 'POST',
    path: `/api/v1/namespaces/${x.ns.name}/${kind}`,
    body: { metadata: { name, labels }, ...(kind === 'secrets' ? { stringData: data } : { data }) },
  });
}

async function change(x: GitOps, kind: 'configmaps' | 'secrets', name: string, data: Record<string, string>): Promise<void> {
  const body = kind === 'secrets' ? { stringData: data } : { data };
  await x.client.request({ method: 'PATCH', path: x.path(kind, name), contentType: 'application/merge-patch+json', body });
}

const applied = async (x: GitOps) => (await x.get<Data>(x.path('configmaps', 'out')))?.data;

async function setUp(x: GitOps, labels: Record<string, string>): Promise<void> {
  await create(x, 'configmaps', 'vars', { greeting: 'hello' }, labels);
  await create(x, 'secrets', 'secret-vars', { token: 't0ken-one' }, labels);
  await x.createKustomization('watched', {
    path: './app',
    targetNamespace: x.ns.name,
    postBuild: { substituteFrom: [{ kind: 'ConfigMap', name: 'vars' }, { kind: 'Secret', name: 'secret-vars' }] },
  });
  await x.untilReady('watched', revs.get(x));
  assert.deepEqual(await applied(x), { greeting: 'hello', token: 't0ken-one' });
}

test('a labelled ConfigMap or Secret that a Kustomization substitutes from re-reconciles it when its data changes', async () => {
  await setUp(g, { 'reconcile.fluxcd.io/watch': 'Enabled' });
  const started = Date.now();
  await change(g, 'configmaps', 'vars', { greeting: 'bonjour' });
  await eventually('the new ConfigMap value applied', async () => ((await applied(g))?.greeting === 'bonjour' ? true : undefined), 20_000);
  await change(g, 'secrets', 'secret-vars', { token: 't0ken-two' });
  await eventually('the new Secret value applied', async () => ((await applied(g))?.token === 't0ken-two' ? true : undefined), 20_000);
  assert.ok(Date.now() - started < 40_000, 'well before the one-hour interval');
});

test('without the label, a change waits for the interval', async () => {
  await create(g, 'configmaps', 'unwatched', { greeting: 'one' }, {});
  await g.createKustomization('not-watched', { path: './app', targetNamespace: g.ns.name, namePrefix: 'nw-', postBuild: { substitute: { token: 'x' }, substituteFrom: [{ kind: 'ConfigMap', name: 'unwatched' }] } });
  await g.untilReady('not-watched', revs.get(g));
  const before = (await g.ks('not-watched')).status?.conditions?.find((c) => c.type === 'Ready');
  await change(g, 'configmaps', 'unwatched', { greeting: 'two' });
  await new Promise((r) => setTimeout(r, 4_000));
  assert.equal((await g.get<Data>(g.path('configmaps', 'nw-out')))?.data?.greeting, 'one');
  assert.deepEqual((await g.ks('not-watched')).status?.conditions?.find((c) => c.type === 'Ready'), before);
});

test('--watch-configs-label-selector picks the ConfigMaps and Secrets to watch instead of the label', async () => {
  await setUp(custom, { team: 'blue' });
  await change(custom, 'configmaps', 'vars', { greeting: 'hola' });
  await eventually('the new value applied', async () => ((await applied(custom))?.greeting === 'hola' ? true : undefined), 20_000);
  // The watch label alone does nothing under this selector.
  await create(custom, 'configmaps', 'labelled-only', { greeting: 'a' }, { 'reconcile.fluxcd.io/watch': 'Enabled' });
  await custom.createKustomization('labelled-only', { path: './app', targetNamespace: custom.ns.name, namePrefix: 'lo-', postBuild: { substitute: { token: 'x' }, substituteFrom: [{ kind: 'ConfigMap', name: 'labelled-only' }] } });
  await custom.untilReady('labelled-only', revs.get(custom));
  await change(custom, 'configmaps', 'labelled-only', { greeting: 'b' });
  await new Promise((r) => setTimeout(r, 4_000));
  assert.equal((await custom.get<Data>(custom.path('configmaps', 'lo-out')))?.data?.greeting, 'a');
});
