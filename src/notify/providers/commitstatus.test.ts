import { test } from 'node:test';
import assert from 'node:assert/strict';
import { commitDescription, commitOf, repositoryPath } from './commitstatus.ts';

const SHA = 'a'.repeat(40);

test('the commit of each revision format Flux writes', () => {
  assert.equal(commitOf(`main@sha1:${SHA}`), SHA);
  assert.equal(commitOf(`refs/tags/v1@sha1:${SHA}`), SHA);
  assert.equal(commitOf(`sha1:${SHA}`), SHA);
  assert.equal(commitOf(`main/${SHA}`), SHA);
  assert.equal(commitOf(SHA.toUpperCase()), SHA);
  assert.equal(commitOf(`main@sha256:${'b'.repeat(64)}`), 'b'.repeat(64));
  assert.equal(commitOf('latest@sha256:abc'), undefined);
  assert.equal(commitOf('v1.2.3'), undefined);
});

test('descriptions and repository paths', () => {
  assert.equal(commitDescription({ reason: 'ReconciliationSucceeded' } as never), 'reconciliation succeeded');
  assert.equal(commitDescription({ reason: 'HealthCheckFailed' } as never), 'health check failed');
  assert.deepEqual(repositoryPath('https://gitlab.com/group/sub/app.git').segments, ['group', 'sub', 'app']);
  assert.throws(() => repositoryPath('ssh://git@github.com/a/b'), /http/);
});
