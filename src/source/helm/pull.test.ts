// Pulling a chart from an OCI registry: the credentials reach helm through a
// private registry config, never its command line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { HelmCli } from '../../tools/helmcli.ts';
import { pullOciChart } from './pull.ts';

test('helm pull gets the credentials from a private registry config, never from its command line', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-pull-test-'));
  try {
    // A stand-in for helm that records what it was given and "pulls" an empty archive.
    const fake = join(dir, 'helm');
    await writeFile(
      fake,
      `#!/bin/sh
printf '%s\\n' "$@" > '${dir}/args'
printf '%s' "$HELM_REGISTRY_CONFIG" > '${dir}/config-path'
stat -c %a "$HELM_REGISTRY_CONFIG" > '${dir}/config-mode'
cat "$HELM_REGISTRY_CONFIG" > '${dir}/config'
while [ "$1" != "--destination" ]; do shift; done
: > "$2/web-1.2.3.tgz"
`,
    );
    await chmod(fake, 0o755);
    const cli = new HelmCli({ bin: fake, home: join(dir, 'home') });
    const tgz = await pullOciChart(cli, {
      ref: 'oci://127.0.0.1:5000/charts/web',
      host: '127.0.0.1:5000',
      version: '1.2.3',
      destination: join(dir, 'out'),
      plainHttp: true,
      credentials: { username: 'reader', password: 'p4ss-w0rd' },
    });
    assert.equal(basename(tgz), 'web-1.2.3.tgz');
    const args = (await readFile(join(dir, 'args'), 'utf8')).trim().split('\n');
    assert.deepEqual(args, ['pull', 'oci://127.0.0.1:5000/charts/web', '--version', '1.2.3', '--destination', join(dir, 'out'), '--plain-http']);
    assert.ok(!args.join(' ').includes('p4ss-w0rd'));
    assert.equal((await readFile(join(dir, 'config-mode'), 'utf8')).trim(), '600');
    assert.deepEqual(JSON.parse(await readFile(join(dir, 'config'), 'utf8')), {
      auths: { '127.0.0.1:5000': { auth: Buffer.from('reader:p4ss-w0rd').toString('base64') } },
    });
    const configPath = await readFile(join(dir, 'config-path'), 'utf8');
    assert.ok(configPath.startsWith(join(dir, 'home', 'tmp')), 'in the command’s private directory');
    assert.ok(!existsSync(configPath), 'removed once helm is done');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
