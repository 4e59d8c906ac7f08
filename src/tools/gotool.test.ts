// ensureGoTool against a stand-in `go` on PATH, so the build, the cache
// layout and the locking are tested without network or a real compile.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureGoTool, goToolPath } from './gotool.ts';

let dir: string;
const saved = { PATH: process.env.PATH, SLUICE_CACHE: process.env.SLUICE_CACHE };

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-gotool-'));
  // `go install PKG@VERSION`: records the call, then writes $GOBIN/<last path element without /vN>.
  await writeFile(
    join(dir, 'go'),
    `#!/bin/sh
echo "$*" >> "${dir}/calls"
if [ -f "${dir}/fail" ]; then echo "go: module lookup disabled" >&2; exit 1; fi
sleep 0.5
pkg="\${4%@*}"
name="\${pkg##*/}"
case "$name" in v[0-9]*) p="\${pkg%/*}"; name="\${p##*/}";; esac
printf '#!/bin/sh\\necho %s\\n' "$4" > "$GOBIN/$name"
chmod +x "$GOBIN/$name"
`,
  );
  await chmod(join(dir, 'go'), 0o755);
  process.env.PATH = `${dir}:${saved.PATH}`;
  process.env.SLUICE_CACHE = join(dir, 'cache');
});

after(async () => {
  process.env.PATH = saved.PATH;
  if (saved.SLUICE_CACHE === undefined) delete process.env.SLUICE_CACHE;
  else process.env.SLUICE_CACHE = saved.SLUICE_CACHE;
  await rm(dir, { recursive: true, force: true });
});

const calls = async () => (existsSync(join(dir, 'calls')) ? (await readFile(join(dir, 'calls'), 'utf8')).trim().split('\n') : []);

test('rejects versions that are not exact and packages outside the module', async () => {
  await assert.rejects(ensureGoTool({ name: 'x', module: 'example.com/x', version: 'latest' }), /exact semantic version/);
  await assert.rejects(ensureGoTool({ name: 'x', module: 'example.com/x', version: 'v1' }), /exact semantic version/);
  await assert.rejects(ensureGoTool({ name: 'x', module: 'example.com/x', version: 'v1.0.0', pkg: 'example.com/y/cmd' }), /not inside module/);
});

test('builds once into cacheHome()/tools/<name>-<version>/<name>; concurrent callers share the build', async () => {
  const tool = { name: 'tool', module: 'example.com/tool/v2', version: 'v2.1.0' };
  const [a, b] = await Promise.all([ensureGoTool(tool), ensureGoTool(tool)]);
  assert.equal(a, join(dir, 'cache', 'tools', 'tool-v2.1.0', 'tool'));
  assert.equal(b, a);
  assert.equal(goToolPath(tool), a);
  assert.deepEqual(await calls(), ['install -trimpath -ldflags=-s -w example.com/tool/v2@v2.1.0']);
  await ensureGoTool(tool);
  assert.equal((await calls()).length, 1, 'a built tool is reused');
});

test('separate processes wait on the lock instead of building twice', async () => {
  const script = `import { ensureGoTool } from ${JSON.stringify(join(import.meta.dirname, 'gotool.ts'))};
console.log(await ensureGoTool({ name: 'helm', module: 'helm.sh/helm/v3', version: 'v3.17.0', pkg: 'helm.sh/helm/v3/cmd/helm' }));`;
  await writeFile(join(dir, 'child.mts'), script);
  const runChild = () =>
    new Promise<string>((resolve, reject) => {
      const c = spawn(process.execPath, ['--import', 'tsx', join(dir, 'child.mts')], { env: process.env, cwd: join(import.meta.dirname, '..', '..') });
      let out = '';
      c.stdout.on('data', (d: Buffer) => (out += d.toString()));
      c.stderr.on('data', (d: Buffer) => (out += d.toString()));
      c.on('close', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(out))));
    });
  const before = (await calls()).length;
  const [a, b] = await Promise.all([runChild(), runChild()]);
  assert.equal(a, join(dir, 'cache', 'tools', 'helm-v3.17.0', 'helm'));
  assert.equal(b, a);
  assert.deepEqual((await calls()).slice(before), ['install -trimpath -ldflags=-s -w helm.sh/helm/v3/cmd/helm@v3.17.0']);
});

test('a failed build reports go\'s error, leaves nothing behind and can be retried', async () => {
  const tool = { name: 'broken', module: 'example.com/broken', version: 'v0.1.0' };
  await writeFile(join(dir, 'fail'), '');
  await assert.rejects(ensureGoTool(tool), /go install .*example\.com\/broken@v0\.1\.0 exited with 1: go: module lookup disabled/);
  assert.equal(existsSync(goToolPath(tool)), false);
  await rm(join(dir, 'fail'));
  assert.equal(await ensureGoTool(tool), goToolPath(tool));
});
