// Which paths changed between two artifacts, from their trees and from their file indexes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { changedPaths, changedPathsByIndex } from './treediff.ts';

async function tree(files: Record<string, string>): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'sluice-treediff-'));
  for (const [rel, text] of Object.entries(files)) {
    await mkdir(dirname(join(root, rel)), { recursive: true });
    await writeFile(join(root, rel), text);
  }
  return root;
}

test('names the paths whose files differ, were added or removed; unreadable paths count as changed', async () => {
  const a = await tree({ 'apps/a/x.yaml': '1', 'apps/b/x.yaml': '1', 'apps/c/x.yaml': '1', 'apps/d/x.yaml': '1', 'apps/e/x.yaml': 'ab' });
  const b = await tree({ 'apps/a/x.yaml': '1', 'apps/b/x.yaml': '2', 'apps/c/x.yaml': '1', 'apps/c/y.yaml': 'new', 'apps/e/x.yaml': 'ac' });
  try {
    const changed = await changedPaths(a, b, ['./apps/a', 'apps/b', './apps/c', './apps/d', 'apps/e', './apps/missing', '../outside']);
    assert.deepEqual([...changed].sort(), ['../outside', './apps/c', './apps/d', './apps/missing', 'apps/b', 'apps/e']);
    assert.deepEqual([...(await changedPaths(a, a, ['./', 'apps/a']))], []);
  } finally {
    await rm(a, { recursive: true, force: true });
    await rm(b, { recursive: true, force: true });
  }
});

test('from file indexes: the same answers without reading a file', () => {
  const a = { 'apps/a/x.yaml': '1', 'apps/b/x.yaml': '1', 'apps/c/x.yaml': '1', 'apps/d/x.yaml': '1', 'apps/bb/x.yaml': '1' };
  const b = { 'apps/a/x.yaml': '1', 'apps/b/x.yaml': '2', 'apps/c/x.yaml': '1', 'apps/c/y.yaml': 'new', 'apps/bb/x.yaml': '1' };
  const changed = changedPathsByIndex(a, b, ['./apps/a', 'apps/b', './apps/c/', './apps/d', './apps/bb', '../outside']);
  assert.deepEqual([...changed].sort(), ['../outside', './apps/c/', './apps/d', 'apps/b']);
  assert.deepEqual([...changedPathsByIndex(a, b, ['./'])], ['./'], 'the root holds every change');
  assert.deepEqual([...changedPathsByIndex(a, a, ['./', 'apps/a'])], []);
});
