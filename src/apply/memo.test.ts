import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppliedMemo } from './memo.ts';
import type { KubeObject } from '../kube/object.ts';

const cm = (data: Record<string, string>, rv?: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'app', namespace: 'ns', ...(rv ? { resourceVersion: rv } : {}) },
  data,
});

test('an object sent again to a live object nobody wrote since is unchanged', () => {
  const memo = new AppliedMemo();
  memo.record(cm({ a: '1' }), '10');
  assert.equal(memo.unchanged(cm({ a: '1' }), cm({ a: '1' }, '10')), true);
});

test('a write by anyone (a new resourceVersion) or a new object from Git is not unchanged', () => {
  const memo = new AppliedMemo();
  memo.record(cm({ a: '1' }), '10');
  assert.equal(memo.unchanged(cm({ a: '1' }), cm({ a: 'edited' }, '11')), false, 'drift');
  assert.equal(memo.unchanged(cm({ a: '2' }), cm({ a: '1' }, '10')), false, 'a new desired state');
  assert.equal(memo.unchanged(cm({ a: '1' }), undefined), false, 'deleted live object');
  const other = { ...cm({ a: '1' }), metadata: { name: 'other', namespace: 'ns' } };
  assert.equal(memo.unchanged(other, { ...other, metadata: { ...other.metadata, resourceVersion: '10' } }), false, 'never applied');
});

test('entries expire, so a full check comes back periodically; a record restarts the age', () => {
  let now = 0;
  const memo = new AppliedMemo(1000, () => now);
  memo.record(cm({ a: '1' }), '10');
  now = 999;
  assert.equal(memo.unchanged(cm({ a: '1' }), cm({ a: '1' }, '10')), true);
  now = 1001;
  assert.equal(memo.unchanged(cm({ a: '1' }), cm({ a: '1' }, '10')), false);
  memo.record(cm({ a: '1' }), '10');
  assert.equal(memo.unchanged(cm({ a: '1' }), cm({ a: '1' }, '10')), true);
});

test('retain drops what left the set; a record without a resourceVersion forgets', () => {
  const memo = new AppliedMemo();
  memo.record(cm({ a: '1' }), '10');
  memo.retain([]);
  assert.equal(memo.size, 0);
  memo.record(cm({ a: '1' }), '10');
  memo.record(cm({ a: '1' }), undefined);
  assert.equal(memo.unchanged(cm({ a: '1' }), cm({ a: '1' }, '10')), false);
});
