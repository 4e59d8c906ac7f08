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
