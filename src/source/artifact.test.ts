import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { ArtifactContentError, checkLink, pruneTree, safeJoin } from './artifact.ts';
import { SourceIgnore } from './ignore.ts';

test('checkLink: links that stay inside pass', () => {
  checkLink('a/b/l', '../c/x.yaml');
  checkLink('a/l', './b/c');
  checkLink('l', 'a/b');
  checkLink('a/b/l', '../../x');
});

test('checkLink: absolute, too many .., and .. after a name are refused, naming the link', () => {
  assert.throws(() => checkLink('l', '/etc/passwd'), /symlink 'l' points outside the source root \(absolute/);
  assert.throws(() => checkLink('a/l', '../../x'), /symlink 'a\/l' points outside the source root/);
  assert.throws(() => checkLink('d/e/t', '../s/../..'), /symlink 'd\/e\/t' has '\.\.' after a name/);
  assert.throws(() => checkLink('t', 'a/%2e%2e/../..'), ArtifactContentError);
});

test('pruneTree: a chain of links that reads as inside but resolves outside is left out, the rest stays', async () => {
  const base = await realpath(await mkdtemp(join(tmpdir(), 'sluice-chain-')));
  const root = join(base, 'root');
  try {
    await mkdir(join(root, 'd', 'e'), { recursive: true });
    await writeFile(join(base, 'outside.yaml'), 'secret: outside\n');
    await writeFile(join(root, 'd', 'e', 'ok.yaml'), 'a: 1\n');
    await symlink('..', join(root, 'd', 's'));
    await symlink('../s/../outside.yaml', join(root, 'd', 'e', 't'));
    // The escape is real on disk: the link resolves out of the root.
    assert.ok(!(await realpath(join(root, 'd', 'e', 't'))).startsWith(root + sep));
    const pruned = await pruneTree(root, SourceIgnore.fromPatterns([]));
    assert.deepEqual(pruned.skipped.map((e) => e.path), ['d/e/t']);
    assert.match(pruned.skipped[0]!.reason, /'\.\.' after a name/);
    assert.deepEqual(pruned.entries.map((e) => `${e.type}:${e.path}`), ['dir:d', 'dir:d/e', 'file:d/e/ok.yaml', 'symlink:d/s']);
  } finally {
    await rm(base, { recursive: true, force: true });
  }
});

test('safeJoin: .., absolute and backslash paths are refused, naming the field', () => {
  assert.equal(safeJoin('/r', 'a/b', 'x'), join('/r', 'a', 'b'));
  for (const p of ['../x', 'a/../../x', '/etc', 'a\\..\\..\\x']) {
    assert.throws(() => safeJoin('/r', p, 'spec.path'), /spec\.path '.*' escapes the source root/);
  }
});
