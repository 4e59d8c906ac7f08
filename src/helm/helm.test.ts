import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { composeValues, configDigest, mergeValues, parsePath, setPathValue, typedValue, valuesChecksum, ValuesReferenceError } from './values.ts';
import { decodeRelease, encodeRelease, manifestObjects, type HelmReleaseRecord } from './release.ts';
import { diffPaths, matchSelector, removePointer, ruleTargets } from './drift.ts';
import { errorText } from '../tools/helmcli.ts';

describe('values', () => {
  test('merge is deep for maps, replacing for everything else', () => {
    assert.deepEqual(mergeValues({ a: { b: 1, c: [1, 2] }, d: 1 }, { a: { c: [3], e: 2 }, d: { x: 1 } }), { a: { b: 1, c: [3], e: 2 }, d: { x: 1 } });
  });

  test('--set paths: escaped dots, list indexes', () => {
    assert.deepEqual(parsePath('a.b\\.c[1].d'), [{ key: 'a' }, { key: 'b.c' }, { index: 1 }, { key: 'd' }]);
    assert.throws(() => parsePath('a..b'), /empty key/);
    const v: Record<string, unknown> = { a: { keep: true } };
    setPathValue(v, 'a.list[1].name', 'x');
    setPathValue(v, 'n', '42');
    setPathValue(v, 'b', 'true');
    setPathValue(v, 'q', '"42"');
    setPathValue(v, 'l', '{1,two}');
    setPathValue(v, 'lit', 'a,b=c', true);
    setPathValue(v, 'z', '007');
    assert.deepEqual(v, { a: { keep: true, list: [null, { name: 'x' }] }, n: 42, b: true, q: '42', l: [1, 'two'], lit: 'a,b=c', z: '007' });
    assert.equal(typedValue('null'), null);
  });

  test('composition follows helm-controller: references in order, targetPath in place, inline values last', async () => {
    const data: Record<string, Record<string, string>> = {
      'ConfigMap/base': { 'values.yaml': 'a: 1\nnested: {x: 1, y: 1}\n', other: 'a: 2\n' },
      'Secret/creds': { password: 'hunter2', 'values.yaml': 'nested: {y: 2}\n' },
    };
    const source = async (kind: string, name: string) => data[`${kind}/${name}`];
    const v = await composeValues(
      'ns',
      { inline: true, nested: { z: 3 } },
      [
        { kind: 'ConfigMap', name: 'base' },
        { kind: 'Secret', name: 'creds' },
        { kind: 'Secret', name: 'creds', valuesKey: 'password', targetPath: 'db.password' },
        { kind: 'ConfigMap', name: 'absent', optional: true },
        { kind: 'ConfigMap', name: 'base', valuesKey: 'missing', optional: true },
      ],
      source,
    );
    assert.deepEqual(v, { a: 1, nested: { x: 1, y: 2, z: 3 }, db: { password: 'hunter2' }, inline: true });
    await assert.rejects(composeValues('ns', {}, [{ kind: 'ConfigMap', name: 'absent' }], source), (err: Error) => {
      assert.ok(err instanceof ValuesReferenceError);
      assert.equal(err.message, "could not resolve ConfigMap chart values reference 'ns/absent' with key 'values.yaml': resource not found");
      return true;
    });
    data['ConfigMap/bad'] = { 'values.yaml': 'a: [oops\n' };
    await assert.rejects(composeValues('ns', {}, [{ kind: 'ConfigMap', name: 'bad' }], source), /failed to read values data: .*not valid YAML/);
  });

  test('digests do not depend on key order', () => {
    assert.equal(configDigest({ a: 1, b: { c: 2, d: 3 } }), configDigest({ b: { d: 3, c: 2 }, a: 1 }));
    assert.match(configDigest({}), /^sha256:[0-9a-f]{64}$/);
    assert.match(valuesChecksum({ a: 1 }), /^[0-9a-f]{40}$/);
  });
});

describe('release storage', () => {
  test('decode(encode(x)) is x, in helm\'s format', () => {
    const rel: HelmReleaseRecord = {
      name: 'web',
      namespace: 'ns',
      version: 3,
      info: { status: 'pending-upgrade', description: 'Preparing upgrade' },
      chart: { metadata: { name: 'web', version: '1.0.0' } },
      manifest: '---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\n# Source: x\napiVersion: v1\nkind: List\nitems:\n  - {apiVersion: v1, kind: Secret, metadata: {name: b}}\n',
      labels: { owner: 'helm' },
    };
    const back = decodeRelease(encodeRelease(rel));
    assert.equal(back.labels, undefined, 'labels live on the Secret, not in the record');
    assert.deepEqual({ ...back, labels: rel.labels }, rel);
    assert.deepEqual(manifestObjects(rel.manifest).map((o) => `${o.kind}/${o.metadata.name}`), ['ConfigMap/a', 'Secret/b']);
  });
});

describe('drift helpers', () => {
  test('JSON pointers and diffs', () => {
    const doc = { spec: { replicas: 3, template: { a: [1, 2] } }, metadata: { annotations: { 'x/y': '1' } } };
    removePointer(doc, '/spec/replicas');
    removePointer(doc, '/metadata/annotations/x~1y');
    removePointer(doc, '/spec/template/a/0');
    removePointer(doc, '/not/there');
    assert.deepEqual(doc, { spec: { template: { a: [2] } }, metadata: { annotations: {} } });
    assert.deepEqual(diffPaths({ a: 1, b: { c: [1, 2] } }, { a: 1, b: { c: [1, 3] }, d: 1 }), ['/b/c/1', '/d']);
  });

  test('selectors and rule targets', () => {
    assert.ok(matchSelector('app=web,tier!=db', { app: 'web', tier: 'front' }));
    assert.ok(!matchSelector('app in (a,b)', { app: 'web' }));
    assert.ok(matchSelector('!legacy', { app: 'web' }));
    const obj = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web-1', namespace: 'prod', labels: { app: 'web' } } };
    assert.ok(ruleTargets({ paths: [], target: { kind: 'Deploy.*', name: 'web-\\d', group: 'apps' } }, obj));
    assert.ok(!ruleTargets({ paths: [], target: { kind: 'Deployment', namespace: 'dev' } }, obj));
  });
});

describe('helm errors', () => {
  test('helm\'s error text without the prefix', () => {
    assert.equal(errorText('WARNING: x\nError: UPGRADE FAILED: boom\n', 1), 'UPGRADE FAILED: boom');
    assert.equal(errorText('', 2), 'helm exited with code 2');
  });
});
