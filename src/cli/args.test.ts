import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ALL_KINDS, collectionPath, kindByName, objectPath, parseKind, SOURCE_KINDS, takeBoolFlag } from './args.ts';

const kindsOf = (r: ReturnType<typeof parseKind>) => ('error' in r ? r.error : r.kinds.map((k) => k.def.kind));

test('parseKind reads the kind words as Flux spells them', () => {
  assert.deepEqual(kindsOf(parseKind(['ks', 'app'], false)), ['Kustomization']);
  assert.deepEqual(kindsOf(parseKind(['kustomizations'], true)), ['Kustomization']);
  assert.deepEqual(kindsOf(parseKind(['hr'], true)), ['HelmRelease']);
  assert.deepEqual(kindsOf(parseKind(['HelmRelease'], true)), ['HelmRelease']);
  assert.deepEqual(kindsOf(parseKind(['source', 'git', 'x'], false)), ['GitRepository']);
  assert.deepEqual(kindsOf(parseKind(['sources', 'oci'], true)), ['OCIRepository']);
  assert.deepEqual(kindsOf(parseKind(['source', 'helm'], true)), ['HelmRepository']);
  assert.deepEqual(kindsOf(parseKind(['source', 'chart'], true)), ['HelmChart']);
  assert.deepEqual(kindsOf(parseKind(['sources', 'all'], true)), ['GitRepository', 'OCIRepository', 'HelmRepository', 'HelmChart']);
  assert.equal(ALL_KINDS.length, 6);
  assert.deepEqual(kindsOf(parseKind(['all'], true)), ALL_KINDS.map((k) => k.def.kind));
  const r = parseKind(['source', 'git', 'app', 'extra'], false);
  assert.ok(!('error' in r));
  assert.deepEqual(r.rest, ['app', 'extra']);
});

test('parseKind explains what it cannot read', () => {
  assert.match(kindsOf(parseKind([], true)) as string, /missing KIND/);
  assert.match(kindsOf(parseKind(['source'], true)) as string, /missing source kind/);
  assert.match(kindsOf(parseKind(['source', 'bucket'], true)) as string, /unknown source kind "bucket"/);
  assert.match(kindsOf(parseKind(['deployment'], true)) as string, /unknown kind "deployment"/);
  // all only where the verb takes it
  assert.match(kindsOf(parseKind(['all'], false)) as string, /unknown kind "all"/);
  assert.match(kindsOf(parseKind(['source', 'all'], false)) as string, /unknown source kind/);
});

test('paths come from the kind definitions', () => {
  const git = SOURCE_KINDS.git!;
  assert.equal(collectionPath(git, 'ns'), '/apis/source.toolkit.fluxcd.io/v1/namespaces/ns/gitrepositories');
  assert.equal(collectionPath(git, undefined), '/apis/source.toolkit.fluxcd.io/v1/gitrepositories');
  assert.equal(objectPath(kindByName('Kustomization')!, 'a', 'b'), '/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/a/kustomizations/b');
  assert.equal(objectPath(kindByName('HelmRelease')!, 'a', 'b'), '/apis/helm.toolkit.fluxcd.io/v2/namespaces/a/helmreleases/b');
  assert.equal(kindByName('Bucket'), undefined);
});

test('takeBoolFlag takes every spelling of a boolean flag', () => {
  assert.deepEqual(takeBoolFlag(['ks', 'a'], 'wait', true), { value: true, args: ['ks', 'a'] });
  assert.deepEqual(takeBoolFlag(['ks', '--wait=false', 'a'], 'wait', true), { value: false, args: ['ks', 'a'] });
  assert.deepEqual(takeBoolFlag(['--no-wait', 'ks'], 'wait', true), { value: false, args: ['ks'] });
  assert.deepEqual(takeBoolFlag(['--wait', 'ks'], 'wait', false), { value: true, args: ['ks'] });
  assert.deepEqual(takeBoolFlag(['--wait=false', '--wait=TRUE'], 'wait', false), { value: true, args: [] });
  assert.deepEqual(takeBoolFlag(['--waiting', '--', '--wait'], 'wait', false), { value: false, args: ['--waiting', '--', '--wait'] });
  assert.deepEqual(takeBoolFlag(['--wait=maybe'], 'wait', true), { error: '--wait takes true or false, not "maybe"' });
});
