import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatOrigin, ManifestError, parseManifests, readManifestDir } from './manifests.ts';

const cm = (name: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n`;

test('malformed YAML names the file, line and column', () => {
  const text = `${cm('a')}data:\n  key: [unclosed\n  other: x\n`;
  assert.throws(
    () => parseManifests(text, 'apps/bad.yaml'),
    (err: unknown) =>
      err instanceof ManifestError &&
      err.file === 'apps/bad.yaml' &&
      err.line > 0 &&
      err.column > 0 &&
      err.message.startsWith(`apps/bad.yaml:${err.line}:${err.column}: invalid YAML:`),
  );
  assert.throws(
    () => parseManifests('a: 1\nb: "unclosed\n', 'x.yaml'),
    (err: unknown) => err instanceof ManifestError && err.line === 3 && err.message === 'x.yaml:3:1: invalid YAML: Missing closing "quote',
  );
});

test('a document without kind or apiVersion names the file, document and line', () => {
  const noKind = `${cm('a')}---\n# second\napiVersion: v1\nmetadata:\n  name: b\n`;
  assert.throws(
    () => parseManifests(noKind, 'k.yaml'),
    (err: unknown) => err instanceof ManifestError && err.message === 'k.yaml: document 2 (line 7) has no kind' && err.line === 7,
  );
  const noApi = `---\nkind: ConfigMap\nmetadata:\n  name: b\n`;
  assert.throws(
    () => parseManifests(noApi, 'k.yaml'),
    (err: unknown) => err instanceof ManifestError && err.message === 'k.yaml: document 1 (line 2) (kind ConfigMap) has no apiVersion',
  );
  assert.throws(() => parseManifests('apiVersion: v1\nkind: ConfigMap\n', 'n.yaml'), /n\.yaml: document 1 \(line 1\) \(v1 ConfigMap\) has no metadata\.name/);
  assert.throws(() => parseManifests('- a\n- b\n', 's.yaml'), /s\.yaml: document 1 \(line 1\) is a sequence, not a Kubernetes object/);
  assert.throws(() => parseManifests('just text\n', 's.yaml'), /is a string, not a Kubernetes object/);
});

test('empty documents are skipped and each object remembers its origin', () => {
  const text = `---\n# only a comment\n---\n${cm('a')}---\n---\n~\n---\n{}\n---\n\n${cm('b')}`;
  const out = parseManifests(text, 'f.yaml');
  assert.deepEqual(out.map((m) => m.object.metadata.name), ['a', 'b']);
  assert.deepEqual(out[0]!.origin, { file: 'f.yaml', line: 4, column: 1, document: 2 });
  assert.equal(out[1]!.origin.document, 6);
  assert.equal(formatOrigin(out[1]!.origin), `f.yaml:${out[1]!.origin.line}:1`);
});

test('List kinds are flattened, their items after the other documents', () => {
  const text = [
    'apiVersion: v1',
    'kind: List',
    'items:',
    '- apiVersion: v1',
    '  kind: Service',
    '  metadata: {name: s1}',
    '- apiVersion: v1',
    '  kind: ConfigMapList',
    '  items:',
    '  - {apiVersion: v1, kind: ConfigMap, metadata: {name: nested}}',
    '---',
    cm('after').trimEnd(),
    '---',
    'apiVersion: v1',
    'kind: SecretList',
    'items: null',
  ].join('\n');
  const out = parseManifests(text, 'l.yaml');
  assert.deepEqual(out.map((m) => `${m.object.kind}/${m.object.metadata.name}`), ['ConfigMap/after', 'Service/s1', 'ConfigMap/nested']);
  assert.equal(out[1]!.origin.line, 4);
  assert.equal(out[1]!.origin.item, 1);
  assert.throws(() => parseManifests('apiVersion: v1\nkind: List\nitems:\n- {kind: ConfigMap, metadata: {name: x}}\n', 'l.yaml'), /l\.yaml: document 1, item 1 \(line 4\) \(kind ConfigMap\) has no apiVersion/);
  assert.throws(() => parseManifests('apiVersion: v1\nkind: List\nitems: 3\n', 'l.yaml'), /List\.items must be a sequence/);
});

test('objects marked config.kubernetes.io/local-config are dropped, as kustomize does', () => {
  const text = `${cm('kept')}---\n${cm('local')}  annotations:\n    config.kubernetes.io/local-config: "true"\n---\n${cm('explicit-false')}  annotations:\n    config.kubernetes.io/local-config: "false"\n`;
  assert.deepEqual(parseManifests(text, 'f.yaml').map((m) => m.object.metadata.name), ['kept', 'explicit-false']);
});

test('scalars follow kustomize (v3) by default and Flux (v2) on request', () => {
  const text = `${cm('a')}data:\n  a: yes\n  b: 0755\n  c: "0755"\n  d: 2001-12-14\n`;
  assert.deepEqual(parseManifests(text, 'f.yaml')[0]!.object.data, { a: 'yes', b: 493, c: '0755', d: '2001-12-14T00:00:00Z' });
  assert.deepEqual(parseManifests(text, 'f.yaml', { flavor: 'v2' })[0]!.object.data, { a: true, b: 493, c: '0755', d: '2001-12-14' });
});

test('reads a directory recursively in sorted order, YAML and JSON, skipping .git', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-manifests-'));
  try {
    await mkdir(join(dir, 'b'));
    await mkdir(join(dir, 'b', 'c'));
    await mkdir(join(dir, '.git'));
    await writeFile(join(dir, 'z.yaml'), cm('z'));
    await writeFile(join(dir, 'b.yaml'), cm('b-file'));
    await writeFile(join(dir, 'b', 'c', 'deep.yml'), cm('deep'));
    await writeFile(join(dir, 'b', 'a.json'), JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'json' } }));
    await writeFile(join(dir, 'a.txt'), 'not yaml: [');
    await writeFile(join(dir, '.git', 'x.yaml'), 'not: [valid');
    await writeFile(join(dir, 'utf16.yaml'), Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(cm('utf16'), 'utf16le')]));
    const out = await readManifestDir(dir);
    assert.deepEqual(out.map((m) => m.object.metadata.name), ['json', 'deep', 'b-file', 'utf16', 'z']);
    assert.equal(out[1]!.origin.file, join('b', 'c', 'deep.yml'));
    await writeFile(join(dir, 'b', 'c', 'broken.yaml'), `${cm('x')}  labels: {a: b\n`);
    await assert.rejects(readManifestDir(dir), (err: unknown) => err instanceof ManifestError && err.file === join('b', 'c', 'broken.yaml') && err.line > 0);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
