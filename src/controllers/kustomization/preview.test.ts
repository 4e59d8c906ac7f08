import { test } from 'node:test';
import assert from 'node:assert/strict';
import { driftItems, maskValues, MASK } from './preview.ts';

test('maskValues hides each value, longest first, and its base64 form', () => {
  const text = 'password: hunter22\nurl: https://u:hunter22x@h\nb64: aHVudGVyMjI=\nreplicas: 1\n';
  const out = maskValues(text, ['hunter22', 'hunter22x', '1']);
  assert.equal(out, `password: ${MASK}\nurl: https://u:${MASK}@h\nb64: ${MASK}\nreplicas: 1\n`);
  assert.equal(maskValues('abc', []), 'abc');
});

test('driftItems: states, diffs masked, pruned inventory entries, drifted first', () => {
  const diffs = [
    { subject: 'ConfigMap/app/same', action: 'unchanged' as const, patch: '' },
    { subject: 'ConfigMap/app/changed', action: 'configured' as const, patch: '-a: s3cret\n+a: b\n' },
    { subject: 'Namespace/app', action: 'created' as const, patch: '+kind: Namespace\n' },
  ];
  const inventory = ['app_same__ConfigMap', 'app_gone__ConfigMap', '_app__Namespace', 'bad-id'];
  const items = driftItems(diffs, inventory, true, (s) => maskValues(s, ['s3cret']));
  assert.deepEqual(items, [
    { kind: 'ConfigMap', namespace: 'app', name: 'changed', state: 'drifted', diff: `-a: ${MASK}\n+a: b\n` },
    { kind: 'Namespace', namespace: '', name: 'app', state: 'created', diff: '+kind: Namespace\n' },
    { kind: 'ConfigMap', namespace: 'app', name: 'gone', state: 'deleted' },
    { kind: 'ConfigMap', namespace: 'app', name: 'same', state: 'unchanged' },
  ]);
  // Without prune, nothing is deleted.
  assert.equal(driftItems(diffs, inventory, false, (s) => s).filter((i) => i.state === 'deleted').length, 0);
});
