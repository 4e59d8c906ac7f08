import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { BuildCache, BuiltSet, buildInputs, uncacheableReason, type BuildSubject } from './buildcache.ts';
import type { ArtifactRef } from '../../runtime/artifacts.ts';
import type { KubeObject } from '../../kube/object.ts';

const REQ = 'reconcile.fluxcd.io/requestedAt';

const artifact = (over: Partial<ArtifactRef> = {}): ArtifactRef => ({
  url: 'http://127.0.0.1:9090/gitrepository/ns/app/sha256abc.tar.gz',
  path: 'gitrepository/ns/app/sha256abc.tar.gz',
  revision: 'main@sha1:1111',
  digest: 'sha256:abc',
  ...over,
});

const ks = (spec: Record<string, unknown> = {}, annotations?: Record<string, string>): BuildSubject =>
  ({ metadata: annotations ? { annotations } : {}, spec: { path: './app', interval: '1m', prune: true, ...spec } }) as BuildSubject;

const cm = (name: string): KubeObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { a: '1' } });

test('the same artifact and spec give the same inputs; a new host for the same file too', () => {
  const a = buildInputs(ks(), artifact(), REQ);
  assert.ok(a);
  assert.equal(buildInputs(ks(), artifact(), REQ), a);
  assert.equal(buildInputs(ks(), artifact({ url: 'http://10.0.0.7:80/gitrepository/ns/app/sha256abc.tar.gz' }), REQ), a, 'only the URL path counts');
});

test('a new commit, digest, artifact path, spec field or reconcile request changes the inputs', () => {
  const base = buildInputs(ks(), artifact(), REQ);
  const variants = {
    revision: buildInputs(ks(), artifact({ revision: 'main@sha1:2222' }), REQ),
    digest: buildInputs(ks(), artifact({ digest: 'sha256:def' }), REQ),
    'no digest': buildInputs(ks(), artifact({ digest: undefined }), REQ),
    'artifact path': buildInputs(ks(), artifact({ path: 'gitrepository/ns/app/other.tar.gz' }), REQ),
    'url path': buildInputs(ks(), artifact({ url: 'http://127.0.0.1:9090/gitrepository/ns/app/other.tar.gz' }), REQ),
    'spec.path': buildInputs(ks({ path: './other' }), artifact(), REQ),
    targetNamespace: buildInputs(ks({ targetNamespace: 'x' }), artifact(), REQ),
    namePrefix: buildInputs(ks({ namePrefix: 'p-' }), artifact(), REQ),
    nameSuffix: buildInputs(ks({ nameSuffix: '-s' }), artifact(), REQ),
    patches: buildInputs(ks({ patches: [{ patch: 'x' }] }), artifact(), REQ),
    images: buildInputs(ks({ images: [{ name: 'a', newTag: '2' }] }), artifact(), REQ),
    components: buildInputs(ks({ components: ['../c'] }), artifact(), REQ),
    commonMetadata: buildInputs(ks({ commonMetadata: { labels: { a: 'b' } } }), artifact(), REQ),
    'postBuild.substitute': buildInputs(ks({ postBuild: { substitute: { a: 'b' } } }), artifact(), REQ),
    force: buildInputs(ks({ force: true }), artifact(), REQ),
    requestedAt: buildInputs(ks({}, { [REQ]: '2025-01-01T00:00:00Z' }), artifact(), REQ),
  };
  const seen = new Map<string | undefined, string>([[base, 'base']]);
  for (const [what, inputs] of Object.entries(variants)) {
    assert.ok(inputs, `${what}: cacheable`);
    assert.ok(!seen.has(inputs), `${what} gives inputs of their own (same as ${seen.get(inputs)})`);
    seen.set(inputs, what);
  }
  // Another request is another rebuild, the same request is not.
  const r1 = buildInputs(ks({}, { [REQ]: 'one' }), artifact(), REQ);
  assert.notEqual(buildInputs(ks({}, { [REQ]: 'two' }), artifact(), REQ), r1);
  assert.equal(buildInputs(ks({}, { [REQ]: 'one', other: 'x' }), artifact(), REQ), r1, 'other annotations do not count');
});

test('decryption and substituteFrom read the cluster: never cached', () => {
  const dec = ks({ decryption: { provider: 'sops' } });
  const from = ks({ postBuild: { substituteFrom: [{ kind: 'ConfigMap', name: 'vars' }] } });
  assert.match(uncacheableReason(dec)!, /decryption/);
  assert.match(uncacheableReason(from)!, /substituteFrom/);
  assert.equal(buildInputs(dec, artifact(), REQ), undefined);
  assert.equal(buildInputs(from, artifact(), REQ), undefined);
  assert.equal(uncacheableReason(ks({ postBuild: { substitute: { a: 'b' }, substituteFrom: [] } })), undefined, 'an empty substituteFrom reads nothing');
});

test('a cached set is handed out by the same inputs only, counted, and forgotten on delete or an uncacheable build', () => {
  const cache = new BuildCache();
  const set = BuiltSet.of([cm('a')]);
  assert.equal(cache.take('ns/app', 'in-1'), undefined);
  cache.set('ns/app', 'in-1', set);
  assert.equal(cache.take('ns/app', 'in-1'), set);
  assert.equal(cache.take('ns/app', 'in-1'), set);
  assert.equal(cache.entry('ns/app')?.reused, 2);
  assert.equal(cache.take('ns/app', 'in-2'), undefined, 'other inputs');
  assert.equal(cache.take('ns/other', 'in-1'), undefined, 'other Kustomization');
  assert.equal(cache.take('ns/app', undefined), undefined, 'uncacheable');
  const next = BuiltSet.of([cm('b')]);
  cache.set('ns/app', 'in-2', next);
  assert.equal(cache.take('ns/app', 'in-1'), undefined, 'only the last build is kept');
  assert.equal(cache.entry('ns/app')?.reused, 0, 'a new build starts counting again');
  assert.equal(cache.take('ns/app', 'in-2'), next);
  assert.equal(cache.entry('ns/app')?.set, next);
  cache.set('ns/app', undefined, BuiltSet.of([cm('c')]));
  assert.equal(cache.take('ns/app', 'in-2'), undefined);
  assert.equal(cache.size, 0);
  cache.set('ns/app', 'in-3', next);
  cache.delete('ns/app');
  assert.equal(cache.size, 0);
});

test('a built set gives a fresh copy each time, and the digest of the history as before', () => {
  const objects = [cm('a'), cm('b')];
  const set = BuiltSet.of(objects);
  const first = set.objects();
  assert.deepEqual(first, objects);
  first[0]!.metadata.name = 'changed';
  (first[1]!.data as Record<string, string>).a = 'changed';
  assert.deepEqual(set.objects(), objects, 'changing a copy does not change the set');
  assert.notEqual(set.objects(), set.objects());
  assert.equal(set.digest, `sha256:${createHash('sha256').update(JSON.stringify(objects)).digest('hex')}`);
});
