import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readdir, readFile, realpath, rm, stat, symlink, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { Header } from 'tar';
import { buildKustomization, BuildError, ManifestError } from '../../src/render/index.ts';
import { loadVariables, substituteManifests } from '../../src/render/substitute.ts';
import { parseManifests } from '../../src/render/manifests.ts';
import { ArtifactContentError, pruneTree } from '../../src/source/artifact.ts';
import { SourceIgnore } from '../../src/source/ignore.ts';
import { buildChartFromSource, ChartBuildError, mergeValuesFiles } from '../../src/source/helm/chart.ts';
import type { HelmCli } from '../../src/tools/helmcli.ts';
import { ArtifactResolver } from '../../src/runtime/artifacts.ts';
import { run } from '../../src/util/exec.ts';
import { projectRoot } from '../../src/util/paths.ts';
// test: no cluster

// The hostile-input corpus through the pure stages (render/, source/): each
// bad input gives an error that names the file (and line) or field, and
// nothing outside the source is read or written. The same inputs through a
// real controller are in test/hostile/controller.test.ts.

const here = dirname(fileURLToPath(import.meta.url));
const corpus = join(here, 'corpus');
const work = await realpath(await mkdtemp(join(tmpdir(), 'sluice-hostile-')));
after(() => rm(work, { recursive: true, force: true }));

let n = 0;
/** A fresh source root with `files` (path -> content) in it. */
async function source(files: Record<string, string>): Promise<string> {
  const root = join(work, `src-${n++}`, 'root');
  for (const [p, text] of Object.entries(files)) {
    await mkdir(dirname(join(root, p)), { recursive: true });
    await writeFile(join(root, p), text);
  }
  await mkdir(root, { recursive: true });
  return root;
}

async function buildError(root: string, spec: Record<string, unknown> = {}, opts: { forceKustomize?: boolean; remoteBases?: boolean } = {}): Promise<Error> {
  try {
    await buildKustomization({ dir: root, spec: { path: '.', ...spec }, ...opts });
  } catch (err) {
    return err as Error;
  }
  assert.fail('the build succeeded');
}

const CM = (name: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n`;

// --- Bad YAML and bad objects: the message names file, line and column.
const yamlCases: Array<[string, RegExp]> = [
  ['malformed.yaml', /^malformed\.yaml:\d+:\d+: invalid YAML: /],
  ['duplicate-keys.yaml', /^duplicate-keys\.yaml:7:1: invalid YAML: mapping key "metadata" already defined at line 3/],
  ['alias-bomb.yaml', /^alias-bomb\.yaml:\d+:\d+: document expands to over 100000 nodes through aliases \(alias bomb\?\)/],
  ['not-an-object.yaml', /^not-an-object\.yaml: document 1 \(line 1\) is a sequence, not a Kubernetes object/],
  ['no-kind.yaml', /^no-kind\.yaml: document 1 \(line 1\) has no kind/],
  ['kind-not-string.yaml', /kind must be a string, not a sequence/],
  ['name-not-string.yaml', /metadata\.name must be a string, not a object/],
  ['infinite-number.yaml', /^infinite-number\.yaml:6:13: an infinite number/],
  ['unknown-alias.yaml', /^unknown-alias\.yaml:\d+:\d+: /],
];
for (const [file, msg] of yamlCases) {
  test(`corpus ${file}: refused with file, line and reason`, async () => {
    const root = await source({ 'ok.yaml': CM('fine') });
    await copyFile(join(corpus, file), join(root, file));
    const err = await buildError(root);
    assert.ok(err instanceof ManifestError || err instanceof BuildError, `${err.name}: ${err.message}`);
    assert.match(err.message, msg);
  });
}

test('the same corpus files fail the same way when kustomize builds the directory (the generator parses every file first)', async () => {
  for (const [file, msg] of yamlCases.slice(0, 3)) {
    const root = await source({ 'ok.yaml': CM('fine') });
    await copyFile(join(corpus, file), join(root, file));
    const err = await buildError(root, {}, { forceKustomize: true });
    assert.match(err.message, msg);
  }
});

test('collections nested 100,000 deep: a clear error, no crash', async () => {
  const deep = `${CM('deep')}data: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`;
  const json = `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"},"x":${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}}`;
  for (const [file, text] of [['deep.yaml', deep], ['deep-json.yaml', json]]) {
    const root = await source({ [file!]: text! });
    const err = await buildError(root);
    assert.match(err.message, new RegExp(`^${file!.replace('.', '\\.')}:\\d+:\\d+: invalid YAML: collections nested too deeply`));
  }
});

test('a 5 MB document of 100,000 keys parses in seconds (duplicate keys were checked pairwise: 196 s)', async (t) => {
  const big = `${CM('big')}data:\n${Array.from({ length: 100_000 }, (_, i) => `  k${i}: "${'v'.repeat(40)}"`).join('\n')}\n`;
  const start = performance.now();
  const [m] = parseManifests(big, 'big.yaml');
  const ms = performance.now() - start;
  t.diagnostic(`100,000 keys, ${(big.length / 2 ** 20).toFixed(1)} MiB: ${Math.round(ms)} ms`);
  assert.equal(Object.keys((m!.object as unknown as { data: object }).data).length, 100_000);
  assert.ok(ms < 30_000, `${Math.round(ms)} ms`);
  // A duplicate far down is still found, with both lines.
  assert.throws(() => parseManifests(`${big}  k5: again\n`, 'big.yaml'), /^ManifestError: big\.yaml:100006:3: invalid YAML: mapping key "k5" already defined at line 11/);
});

test('the alias bomb costs bounded memory: peak RSS of a process that builds it', async (t) => {
  const root = await source({});
  await copyFile(join(corpus, 'alias-bomb.yaml'), join(root, 'bomb.yaml'));
  const base = await source({ 'ok.yaml': CM('fine') });
  const measure = async (dir: string, extra: string[] = []) => {
    const res = await run(process.execPath, ['--import', 'tsx', join(here, 'peak.ts'), dir, ...extra], { cwd: projectRoot, check: true });
    return JSON.parse(res.stdout) as { error?: string; ms: number; peakKiB: number };
  };
  const ok = await measure(base);
  const bomb = await measure(root);
  const bombK = await measure(root, ['--kustomize']);
  t.diagnostic(`peak RSS: one ConfigMap ${Math.round(ok.peakKiB / 1024)} MiB; alias bomb ${Math.round(bomb.peakKiB / 1024)} MiB in ${bomb.ms} ms; through kustomize ${Math.round(bombK.peakKiB / 1024)} MiB in ${bombK.ms} ms`);
  assert.equal(ok.error, undefined);
  assert.match(bomb.error ?? '', /alias bomb/);
  assert.match(bombK.error ?? '', /alias bomb/);
  // 3 billion nodes if expanded; bounded to the baseline plus a little.
  assert.ok(bomb.peakKiB - ok.peakKiB < 100 * 1024, `alias bomb peak ${bomb.peakKiB} KiB vs ${ok.peakKiB} KiB`);
});

// --- spec.path and kustomize references out of the source.
test('spec.path escaping the artifact: ../, absolute, URL-encoded, through a parent', async () => {
  const root = await source({ 'apps/ok.yaml': CM('fine') });
  await writeFile(join(dirname(root), 'outside.yaml'), CM('outside'));
  for (const p of ['../', '..', 'apps/../../', '../root/../']) {
    assert.match((await buildError(root, { path: p })).message, /spec\.path ".*" leaves the source root/);
  }
  // Absolute paths are taken from the root, as Flux does; they find nothing outside.
  assert.match((await buildError(root, { path: '/etc' })).message, /kustomization path not found: "\/etc"/);
  assert.match((await buildError(root, { path: '%2e%2e/%2e%2e/etc' })).message, /kustomization path not found/);
  assert.match((await buildError(root, { path: '..%2f..%2fetc' })).message, /kustomization path not found/);
});

test('kustomize: ../ resources and generator files outside the source are refused, existing or not', async () => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ 'kustomization.yaml': 'resources: [../../outside.yaml]\n' }, /kustomization\.yaml: resources "\.\.\/\.\.\/outside\.yaml" is outside the source root/],
    // kustomize runs in a mirror under the temporary directory: ../../../etc/hostname would reach the machine's.
    [{ 'app/kustomization.yaml': 'configMapGenerator: [{name: x, files: [../../../../etc/hostname]}]\n' }, /app\/kustomization\.yaml: configMapGenerator file "\.\.\/\.\.\/\.\.\/\.\.\/etc\/hostname" is outside the source root/],
    [{ 'kustomization.yaml': 'configMapGenerator: [{name: x, files: [/etc/hostname]}]\n' }, /configMapGenerator file "\/etc\/hostname" is outside the source root/],
    [{ 'kustomization.yaml': 'secretGenerator: [{name: x, envs: [../../../proc/self/environ]}]\n' }, /secretGenerator env file ".*" is outside the source root/],
    [{ 'kustomization.yaml': 'patches: [{path: ../../../etc/passwd}]\n' }, /patches path ".*" is outside the source root/],
    [{ 'kustomization.yaml': 'resources: [sub//../../../etc/passwd]\n' }, /resources "sub\/\/\.\.\/\.\.\/\.\.\/etc\/passwd" is outside the source root/],
    [{ 'kustomization.yaml': 'resources: ["file:///root/.sluice/controller"]\n' }, /is a file:\/\/ URL, which reads the controller's disk/],
  ];
  for (const [files, msg] of cases) {
    const root = await source(files);
    await writeFile(join(dirname(root), 'outside.yaml'), CM('outside'));
    const path = Object.keys(files)[0]!.includes('/') ? 'app' : '.';
    assert.match((await buildError(root, { path })).message, msg);
  }
});

test('kustomize: a remote base is refused without remoteBases (--no-remote-bases), naming the file and the ref', async () => {
  const root = await source({ 'kustomization.yaml': 'resources: [https://github.com/kubernetes-sigs/kustomize//examples/helloWorld?ref=v5.0.0]\n' });
  assert.match((await buildError(root)).message, /kustomization\.yaml: resources "https:\/\/github\.com\/.*" is a remote base, and remote bases are off \(--no-remote-bases\)/);
});

test('kustomize: a symlink in the tree that points out is refused by the build, and left out of an artifact', async () => {
  const root = await source({ 'ok.yaml': CM('fine') });
  await writeFile(join(dirname(root), 'secret.yaml'), CM('secret'));
  await symlink('../secret.yaml', join(root, 'link.yaml'));
  assert.match((await buildError(root)).message, /^link\.yaml is a symbolic link to .*, outside the source root/);
  const pruned = await pruneTree(root, SourceIgnore.fromPatterns([]));
  assert.deepEqual(pruned.skipped.map((s) => s.path), ['link.yaml']);
});

// --- Helm: values files and chart paths outside the source.
test('Helm values files and chart paths outside the source are refused', async () => {
  const root = await source({ 'charts/app/Chart.yaml': 'apiVersion: v2\nname: app\nversion: 1.0.0\n', 'charts/app/values.yaml': 'a: 1\n' });
  for (const f of ['../outside.yaml', '/etc/passwd', 'charts/../../x.yaml', '..\\..\\x.yaml']) {
    await assert.rejects(mergeValuesFiles(root, join(root, 'charts/app'), [f], false), (err: unknown) => err instanceof ChartBuildError && err.reason === 'ValuesFilesError' && err.message.includes(`'${f}' escapes the source root`));
  }
  for (const chartPath of ['../', '/etc', 'charts/../../..']) {
    await assert.rejects(
      buildChartFromSource({ cli: {} as HelmCli, sourceRoot: root, chartPath, workDir: join(work, 'helm') }),
      (err: unknown) => err instanceof ChartBuildError && err.reason === 'InvalidChartReference' && /escapes the source root/.test(err.message),
    );
  }
});

// --- Oversize files: the limit and the file are named.
test('an oversize file is refused naming it, its size and the limit', async () => {
  const root = await source({ 'ok.yaml': CM('fine'), 'big/blob.bin': 'x'.repeat(2048) });
  await assert.rejects(pruneTree(root, SourceIgnore.fromPatterns([]), { maxFileSize: 1024, maxTotalSize: 1 << 20 }), (err: unknown) => err instanceof ArtifactContentError && err.message === "file 'big/blob.bin' is 2048 bytes, over the limit of 1024 bytes per file");
  const root2 = await source({ 'a.yaml': 'x'.repeat(700), 'b.yaml': 'x'.repeat(700) });
  await assert.rejects(pruneTree(root2, SourceIgnore.fromPatterns([]), { maxFileSize: 1024, maxTotalSize: 1024 }), /exceeds the limit of 1024 bytes in total/);
});

// --- Tarballs: entries with .., absolute paths, links out, hard links, gzip bombs.
function tarEntry(path: string, type: 'File' | 'SymbolicLink' | 'Link' | 'Directory', data = '', linkpath = ''): Buffer {
  const h = new Header({ path, mode: 0o644, size: type === 'File' ? Buffer.byteLength(data) : 0, type, linkpath, mtime: new Date(0), uid: 0, gid: 0 });
  const block = Buffer.alloc(512);
  h.encode(block, 0);
  const body = Buffer.from(data);
  return Buffer.concat([block, body, Buffer.alloc((512 - (body.length % 512)) % 512)]);
}
const tarball = (...entries: Buffer[]) => gzipSync(Buffer.concat([...entries, Buffer.alloc(1024)]));

async function serve(body: Buffer): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer((_req, res) => res.end(body));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/a.tar.gz`, close: () => new Promise((r) => server.close(() => r())) };
}

/** Every path under `dir`, recursively. */
async function tree(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) out.push(join(e.parentPath, e.name));
  return out;
}

test('tarball entries with .., absolute paths, links out and writes through links: nothing lands outside the unpack directory', async () => {
  const area = join(work, 'tar-area');
  const cache = join(area, 'cache');
  await mkdir(cache, { recursive: true });
  const hostile: Array<[string, Buffer]> = [
    ['dot-dot', tarball(tarEntry('ok.yaml', 'File', 'a: 1\n'), tarEntry('../escaped-dotdot', 'File', 'pwned'))],
    ['absolute', tarball(tarEntry(`${area}/escaped-absolute`, 'File', 'pwned'))],
    ['symlink then write through it', tarball(tarEntry('l', 'SymbolicLink', '', area), tarEntry('l/escaped-through-link', 'File', 'pwned'))],
    ['hard link to a file outside', tarball(tarEntry('h', 'Link', '', '/etc/hostname'))],
    ['nested dot-dot', tarball(tarEntry('a/b/../../../escaped-nested', 'File', 'pwned'))],
  ];
  const outcomes: string[] = [];
  for (const [what, body] of hostile) {
    const s = await serve(body);
    try {
      const resolver = new ArtifactResolver(cache);
      const dir = await resolver.resolve({ url: s.url, path: 'x', revision: what }).then((d) => d, (err: Error) => `refused: ${err.message}`);
      outcomes.push(`${what}: ${dir.startsWith('refused') ? dir : 'unpacked'}`);
      if (!dir.startsWith('refused')) {
        // What was unpacked stays inside; a hard link to /etc/hostname is not made.
        for (const p of await tree(dir)) assert.ok(p.startsWith(cache), p);
        await assert.rejects(readFile(join(dir, 'h'), 'utf8').then((t) => assert.notEqual(t, (readFile('/etc/hostname', 'utf8')))));
      }
    } finally {
      await s.close();
    }
  }
  const escaped = (await tree(area)).filter((p) => /escaped-/.test(p));
  assert.deepEqual(escaped, [], `written outside: ${escaped.join(', ')}\n${outcomes.join('\n')}`);
});

test('a gzip bomb (1 GiB of zeros in 1 MiB) and an archive over the size limits are refused, nothing left behind', async (t) => {
  const cache = join(work, 'bomb-cache');
  const { createGzip } = await import('node:zlib');
  /** A tarball of one file of `size` bytes of `chunk`, gzipped as it streams. */
  const archive = async (size: number, chunk: Buffer) => {
    const h = new Header({ path: 'blob', mode: 0o644, size, type: 'File', mtime: new Date(0) });
    const block = Buffer.alloc(512);
    h.encode(block, 0);
    const gz = createGzip();
    const parts: Buffer[] = [];
    gz.on('data', (c: Buffer) => parts.push(c));
    const done = new Promise((r) => gz.on('end', r));
    gz.write(block);
    for (let left = size; left > 0; left -= chunk.length) gz.write(left >= chunk.length ? chunk : chunk.subarray(0, left));
    gz.end(Buffer.alloc(1024));
    await done;
    return Buffer.concat(parts);
  };
  const bomb = await archive(2 ** 30, Buffer.alloc(1 << 20));
  const { randomBytes } = await import('node:crypto');
  const big = await archive(3 << 20, randomBytes(1 << 20));
  t.diagnostic(`gzip bomb: ${bomb.length} bytes compressed for 1 GiB; random archive ${big.length} bytes`);
  const cases: Array<[Buffer, RegExp]> = [
    // node-tar stops at a 1000:1 ratio, before the size limits.
    [bomb, /max decompression ratio exceeded|archive refused: the entry 'blob' has 1073741824 bytes/],
    [big, /archive refused: the entry 'blob' has 3145728 bytes, over the limit of 1048576 per file/],
  ];
  for (const [body, msg] of cases) {
    const s = await serve(body);
    try {
      const resolver = new ArtifactResolver(cache, undefined, 64, { maxFileSize: 1 << 20, maxTotalSize: 4 << 20, maxEntries: 1000 });
      await assert.rejects(resolver.resolve({ url: s.url, path: 'x', revision: 'bomb' }), msg);
      const left = await stat(cache).then(() => tree(cache), () => []);
      assert.deepEqual(left, [], 'nothing is left behind');
    } finally {
      await s.close();
    }
  }
});

// --- No secret in messages: a Secret's value that breaks the YAML, or is refused, is masked.
test('a substituted Secret value that breaks an object is not echoed in the error', async () => {
  const SECRET = 'hunter2-planted-s3cret';
  const vars = await loadVariables({ substituteFrom: [{ kind: 'Secret', name: 'creds' }] }, {
    secrets: { creds: { data: { PASSWORD: Buffer.from(`${SECRET}\n  bad: [`).toString('base64'), INF: Buffer.from(`.inf`).toString('base64'), NAME: Buffer.from(`{${SECRET}: 1}`).toString('base64') } } },
  });
  for (const text of [`${CM('x')}data:\n  password: \${PASSWORD}\n`, `${CM('y')}spec:\n  replicas: \${INF}\n`, `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: \${NAME}\n`]) {
    const manifests = parseManifests(text, 'app.yaml');
    let message = '';
    try {
      substituteManifests(manifests, vars, { strict: true });
      message = 'no error';
    } catch (err) {
      message = (err as Error).message;
    }
    assert.ok(!message.includes(SECRET) && !message.includes('hunter2'), message);
  }
});

test('a manifest file over 10 MiB is refused before it is parsed, naming it and its size', async () => {
  const root = await source({ 'ok.yaml': CM('fine'), 'big.yaml': `${CM('big')}${'# padding\n'.repeat(1_200_000)}` });
  assert.match((await buildError(root)).message, /^big\.yaml: the file is 11\.\d MiB, over the 10 MiB a manifest file may have/);
});
