import { test } from 'node:test';
import assert from 'node:assert/strict';
import { maskSecrets } from './diff.ts';
import type { KubeObject } from '../kube/object.ts';

const secret = (data: Record<string, string>): KubeObject => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data });

test('Secret values are masked on both sides, changed ones marked', () => {
  const [b, a] = maskSecrets(secret({ same: 'c2FtZQ==', changed: 'b2xk', gone: 'eA==' }), secret({ same: 'c2FtZQ==', changed: 'bmV3', added: 'eQ==' }));
  assert.deepEqual(b!.data, { same: '***', changed: '*** (before)', gone: '*** (before)' });
  assert.deepEqual(a.data, { same: '***', changed: '*** (after)', added: '*** (after)' });
  assert.ok(!JSON.stringify([b, a]).includes('bmV3'));
});

test('other kinds are left as they are', () => {
  const cm: KubeObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { k: 'v' } };
  assert.deepEqual(maskSecrets(undefined, cm)[1], cm);
});

test("a Secret's last-applied-configuration annotation (its data in clear) is masked too", () => {
  const LAST = 'kubectl.kubernetes.io/last-applied-configuration';
  const withNote = (v: string): KubeObject => ({ ...secret({ k: 'dg==' }), metadata: { name: 's', annotations: { [LAST]: v, keep: 'me' } } });
  const [b, a] = maskSecrets(withNote('{"stringData":{"k":"old"}}'), withNote('{"stringData":{"k":"new"}}'));
  assert.deepEqual(b!.metadata.annotations, { [LAST]: '*** (before)', keep: 'me' });
  assert.deepEqual(a.metadata.annotations, { [LAST]: '*** (after)', keep: 'me' });
  const [, same] = maskSecrets(undefined, withNote('{"x":1}'));
  assert.equal(same.metadata.annotations![LAST], '*** (after)');
});
