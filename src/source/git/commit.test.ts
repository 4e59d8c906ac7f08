import { test } from 'node:test';
import assert from 'node:assert/strict';
import { commitMetadata, MAX_SUBJECT, parseCommitObject } from './commit.ts';
import { formatFetchDuration } from '../artifact.ts';
import { recordFetchDuration } from '../shell.ts';

const RAW = [
  'tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904',
  'parent 1111111111111111111111111111111111111111',
  'author Ada Lovelace <ada@example.org> 1700000000 +0100',
  'committer Bot <bot@example.org> 1700000100 +0000',
  '',
  'Scale the web tier to three replicas',
  '',
  'Because the load grew.',
  '',
].join('\n');

test('parseCommitObject reads the author, the author date in UTC and the subject', () => {
  const c = parseCommitObject('abc', RAW);
  assert.equal(c.hash, 'abc');
  assert.equal(c.author, 'Ada Lovelace <ada@example.org>');
  assert.equal(c.date, '2023-11-14T22:13:20Z');
  assert.equal(c.subject, 'Scale the web tier to three replicas');
  assert.equal(c.message, 'Scale the web tier to three replicas\n\nBecause the load grew.\n');
});

test('parseCommitObject copes with a signed commit, an empty message and no author', () => {
  const signed = RAW.replace('committer', 'gpgsig -----BEGIN PGP SIGNATURE-----\n \n -----END PGP SIGNATURE-----\ncommitter');
  assert.equal(parseCommitObject('x', signed).subject, 'Scale the web tier to three replicas');
  const empty = parseCommitObject('x', 'tree t\nauthor A <a@b> 0 +0000\ncommitter A <a@b> 0 +0000\n\n');
  assert.equal(empty.subject, '');
  assert.equal(empty.date, '1970-01-01T00:00:00Z');
  const none = parseCommitObject('x', 'tree t\n\nmsg');
  assert.deepEqual([none.author, none.date, none.subject], ['', '', 'msg']);
  assert.equal(parseCommitObject('x', 'tree t\nauthor weird\n\nm').author, 'weird');
});

test('commitMetadata names the keys, caps the subject in characters and leaves out what is unknown', () => {
  const md = commitMetadata(parseCommitObject('abc', RAW));
  assert.deepEqual(md, {
    'sluice.dev/commit-author': 'Ada Lovelace <ada@example.org>',
    'sluice.dev/commit-date': '2023-11-14T22:13:20Z',
    'sluice.dev/commit-subject': 'Scale the web tier to three replicas',
  });
  const long = commitMetadata({ hash: 'h', subject: 'é'.repeat(500), message: '', author: '', date: '' });
  assert.deepEqual(Object.keys(long), ['sluice.dev/commit-subject']);
  assert.equal([...long['sluice.dev/commit-subject']!].length, MAX_SUBJECT);
  assert.ok(long['sluice.dev/commit-subject']!.endsWith('…'));
  assert.deepEqual(commitMetadata({ hash: 'h', subject: '  ', message: '', author: '', date: '' }), {});
});

test('formatFetchDuration gives seconds with two decimals', () => {
  assert.equal(formatFetchDuration(1234), '1.23s');
  assert.equal(formatFetchDuration(50), '0.05s');
  assert.equal(formatFetchDuration(-3), '0.00s');
});

test('recordFetchDuration adds the key to the artifact and keeps its other metadata', () => {
  const status = { artifact: { revision: 'r', path: 'p', url: 'u', lastUpdateTime: 't', metadata: { 'sluice.dev/commit-author': 'A <a@b>' } } };
  recordFetchDuration(status, 2500);
  assert.deepEqual(status.artifact.metadata, { 'sluice.dev/commit-author': 'A <a@b>', 'sluice.dev/fetch-duration': '2.50s' });
  const none: { artifact?: unknown } = {};
  recordFetchDuration(none, 10);
  assert.equal(none.artifact, undefined);
});
