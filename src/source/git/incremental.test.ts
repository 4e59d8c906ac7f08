// Incremental artifact builds: tree order, the changes git's diff reports,
// ignore rules on them, and what only a full build can handle.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SourceIgnore } from '../ignore.ts';
import { planChanges, treeOrder } from './incremental.ts';
import { parseDiffTree, type TreeChange } from './mirror.ts';

const Z = '0'.repeat(40);
const oid = (n: number) => n.toString(16).padStart(40, '0');
const change = (path: string, oldMode: string, newMode: string, n = 1): TreeChange => ({ path, oldMode, newMode, newOid: newMode === '000000' ? Z : oid(n) });
const noRules = SourceIgnore.fromRules([]);

describe('treeOrder', () => {
  test('depth first, names of a directory in byte order', () => {
    const paths = ['a-c', 'a', 'a/b', 'a.d/x', 'a/b/c', 'b', 'a0', 'é', 'z', 'a/b-c', 'a/b/d'];
    // pruneTree's walk: a directory, then everything in it, then its next sibling.
    assert.deepEqual([...paths].sort(treeOrder), ['a', 'a/b', 'a/b/c', 'a/b/d', 'a/b-c', 'a-c', 'a.d/x', 'a0', 'b', 'z', 'é']);
  });

  test('non-ASCII names compare by their UTF-8 bytes', () => {
    // U+FF5E sorts after U+10000 in UTF-16 code units, before it in UTF-8 bytes.
    assert.ok(treeOrder('d/\u{10000}', 'd/\uff5e') > 0);
    assert.ok(treeOrder('\uff5e/a', '\uff5e') > 0);
  });
});

describe('planChanges', () => {
  test('modified, added and deleted files; directories added and removed', () => {
    const plan = planChanges(
      [
        change('apps', '040000', '040000'),
        change('apps/a.yaml', '100644', '100644', 2),
        change('apps/new', '000000', '040000'),
        change('apps/new/n.yaml', '000000', '100755', 3),
        change('old', '040000', '000000'),
        change('old/o.yaml', '100644', '000000'),
      ],
      noRules,
    );
    assert.ok(!('fallback' in plan));
    assert.deepEqual([...plan.remove].sort(), ['apps/a.yaml', 'old', 'old/o.yaml']);
    assert.deepEqual(plan.add, [
      { path: 'apps/a.yaml', type: 'file', executable: false, oid: oid(2) },
      { path: 'apps/new', type: 'dir', executable: false, oid: undefined },
      { path: 'apps/new/n.yaml', type: 'file', executable: true, oid: oid(3) },
    ]);
  });

  test('a file that becomes a directory is removed and the directory added', () => {
    const plan = planChanges([change('x', '100644', '000000'), change('x', '000000', '040000'), change('x/y', '000000', '120000', 4)], noRules);
    assert.ok(!('fallback' in plan));
    assert.deepEqual([...plan.remove], ['x']);
    assert.deepEqual(plan.add.map((a) => `${a.path}:${a.type}`), ['x:dir', 'x/y:symlink']);
  });

  test('ignore rules apply to the entry and every directory above it', () => {
    const rules = SourceIgnore.fromRules([{ base: '', lines: ['build/', '*.png'] }, { base: 'apps', lines: ['tmp/'] }]);
    const plan = planChanges(
      [
        change('build/out/a.yaml', '000000', '100644'),
        change('apps/tmp/b.yaml', '000000', '100644'),
        change('apps/logo.png', '000000', '100644'),
        change('apps/ok.yaml', '000000', '100644'),
        change('tmp/c.yaml', '000000', '100644'),
      ],
      rules,
    );
    assert.ok(!('fallback' in plan));
    assert.deepEqual(plan.add.map((a) => a.path), ['apps/ok.yaml', 'tmp/c.yaml']);
  });

  test('what only a full build handles', () => {
    for (const [c, reason] of [
      [change('sub', '000000', '160000'), /submodule/],
      [change('a/.sourceignore', '000000', '100644'), /\.sourceignore changed/],
      [change('.gitattributes', '100644', '000000'), /\.gitattributes changed/],
      [change('x', '100644', '100664'), /unknown/],
      [change('a/../b', '000000', '100644'), /unusual path/],
    ] as const) {
      const plan = planChanges([c], noRules);
      assert.ok('fallback' in plan, c.path);
      assert.match(plan.fallback, reason);
    }
  });
});

describe('parseDiffTree', () => {
  test('reads -z raw records, paths with spaces and newlines included', () => {
    const raw = Buffer.from(
      `:100644 100644 ${oid(1)} ${oid(2)} M\0a b.yaml\0:000000 040000 ${Z} ${oid(3)} A\0new\ndir\0:100644 000000 ${oid(4)} ${Z} D\0gone\0`,
    );
    assert.deepEqual(parseDiffTree(raw), [
      { path: 'a b.yaml', oldMode: '100644', newMode: '100644', newOid: oid(2) },
      { path: 'new\ndir', oldMode: '000000', newMode: '040000', newOid: oid(3) },
      { path: 'gone', oldMode: '100644', newMode: '000000', newOid: Z },
    ]);
    assert.throws(() => parseDiffTree(Buffer.from('garbage\0x\0')), /unexpected git diff-tree output/);
  });
});
