import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appliedCommit } from './commit.ts';
import { rowOf } from './rows.ts';

const REV = 'main@sha1:0123456789abcdef0123456789abcdef01234567';
const md = { 'sluice.dev/commit-author': 'Ada <ada@example.org>', 'sluice.dev/commit-date': '2026-01-02T03:04:05Z', 'sluice.dev/commit-subject': 'Scale web', other: 'x' };

test('appliedCommit shows the metadata only when the artifact is the applied revision', () => {
  assert.deepEqual(appliedCommit(REV, { revision: REV, metadata: md }), { revision: REV, author: 'Ada <ada@example.org>', date: '2026-01-02T03:04:05Z', subject: 'Scale web' });
  assert.deepEqual(appliedCommit(REV, { revision: 'main@sha1:ffff', metadata: md }), { unavailable: "the source's artifact is another revision" });
  assert.deepEqual(appliedCommit(undefined, { revision: REV, metadata: md }), { unavailable: 'no revision applied yet' });
  assert.deepEqual(appliedCommit(REV, undefined), { unavailable: "the source's artifact is another revision" });
  assert.deepEqual(appliedCommit(REV, { revision: REV, metadata: { 'sluice.dev/fetch-duration': '1.00s' } }), { unavailable: 'the source recorded no commit details' });
  assert.equal((appliedCommit(REV, { revision: REV, metadata: { 'sluice.dev/commit-subject': 'y'.repeat(1000) } }) as { subject: string }).subject.length, 300);
});

test("a source's row carries its fetch duration, and nothing when it has none", () => {
  const src = (metadata?: Record<string, string>) => ({ apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'GitRepository', metadata: { name: 'r', namespace: 'n' }, status: { artifact: { revision: REV, size: 10, metadata } } });
  assert.equal(rowOf(src({ 'sluice.dev/fetch-duration': '1.23s' })).artifact?.took, '1.23s');
  assert.equal(rowOf(src()).artifact?.took, undefined);
  assert.equal('took' in rowOf(src()).artifact!, false);
});
