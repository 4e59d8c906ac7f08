import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GitOps, configMap } from '../gitops.ts';
import { collect, sluice, type Result } from './sluice.ts';
import { closeAll } from '../cleanup.ts';
import { eventually, testKubeconfig } from '../harness.ts';

// `sluice create` against the operator in this process: a source and a
// Kustomization created from flags are reconciled, and their Secrets hold
// what the files and standard input gave.

let g: GitOps;
let rev: string;
let dir: string;

before(async () => {
  g = await GitOps.start('cli-create');
  dir = await mkdtemp(join(tmpdir(), 'sluice-create-'));
  rev = await g.push({ 'app/cm.yaml': configMap('made', { v: '1' }) }, 'init');
});
after(async () => {
  await closeAll(
    g && (async () => {
      await g.client.request({ method: 'DELETE', path: g.ksPath('made') }).catch(() => {});
      await eventually('made gone', async () => ((await g.get(g.ksPath('made'))) ? undefined : true), 30_000);
    }),
    g && (() => g.close()),
    dir && (() => rm(dir, { recursive: true, force: true })),
  );
});

async function withInput(args: string[], input: string): Promise<Result> {
  const bin = fileURLToPath(new URL('../../bin/sluice.js', import.meta.url));
  const c = spawn(process.execPath, [bin, ...args], { env: { ...process.env, KUBECONFIG: await testKubeconfig() }, stdio: ['pipe', 'pipe', 'pipe'] });
  c.stdin!.end(input);
  return collect(c);
}

const secretData = async (name: string) => {
  const s = await g.get<{ type: string; data: Record<string, string> }>(g.path('secrets', name));
  return { type: s?.type, data: Object.fromEntries(Object.entries(s?.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')])) };
};

test('create source git with credentials from stdin, then a Kustomization: each waits for its reconcile', async () => {
  const ns = g.ns.name;
  const src = await withInput(['create', 'source', 'git', 'app', '--url', g.server.url('app'), '--branch', 'main', '--username', 'git', '--password-stdin', '--interval', '1h', '-n', ns, '--timeout', '60s'], 's3cret\n');
  assert.equal(src.code, 0, src.stderr);
  assert.equal(src.stdout, `✔ fetched revision: ${rev}\n`);
  assert.equal(src.stderr, '✚ generating GitRepository source\n► applying Secret with the credentials\n✔ authentication configured\n► applying GitRepository source\n✔ GitRepository source created\n◎ waiting for GitRepository source reconciliation\n✔ GitRepository source reconciliation completed\n');
  assert.deepEqual(await secretData('app'), { type: 'Opaque', data: { username: 'git', password: 's3cret' } });

  const ks = await sluice(['create', 'ks', 'made', '--source', 'GitRepository/app', '--path', './app', '--prune', '--target-namespace', ns, '--interval', '1h', '-n', ns, '--timeout', '60s']);
  assert.equal(ks.code, 0, ks.stderr);
  assert.equal(ks.stdout, `✔ applied revision: ${rev}\n`);
  const live = await g.ks('made');
  assert.deepEqual(live.spec, { interval: '1h', path: './app', prune: true, sourceRef: { kind: 'GitRepository', name: 'app' }, targetNamespace: ns, force: false });
  assert.ok(await g.get(g.path('configmaps', 'made')));
});

test('create --export prints what would be applied; secrets from files; never a password on the command line', async () => {
  const values = join(dir, 'values.yaml');
  await writeFile(values, 'replicas: 2\nimage:\n  tag: "1.0"\n');
  const more = join(dir, 'more.yaml');
  await writeFile(more, 'image:\n  pullPolicy: Always\n');
  const hr = await sluice(['create', 'hr', 'web', '--source', 'HelmRepository/charts.infra', '--chart', 'web', '--chart-version', '1.x', '--values', values, '--values', more, '--values-from', 'Secret/web-values', '--target-namespace', 'apps', '--create-target-namespace', '--depends-on', 'db', '-n', 'apps', '--export']);
  assert.equal(hr.code, 0, hr.stderr);
  assert.equal(
    hr.stdout,
    `---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: web
  namespace: apps
spec:
  chart:
    spec:
      chart: web
      sourceRef:
        kind: HelmRepository
        name: charts
        namespace: infra
      version: 1.x
  dependsOn:
    - name: db
  install:
    createNamespace: true
  interval: 1m
  targetNamespace: apps
  values:
    image:
      pullPolicy: Always
      tag: "1.0"
    replicas: 2
  valuesFrom:
    - kind: Secret
      name: web-values
`,
  );
  const oci = await sluice(['create', 'source', 'oci', 'podinfo', '--url', 'oci://ghcr.io/stefanprodan/manifests/podinfo', '--tag-semver', '6.x', '--export']);
  assert.match(oci.stdout, /kind: OCIRepository\n[^]*  ref:\n    semver: 6.x\n  url: oci:\/\/ghcr.io/);

  const crt = join(dir, 'tls.crt');
  const key = join(dir, 'tls.key');
  await writeFile(crt, 'CERT');
  await writeFile(key, 'KEY');
  const tls = await sluice(['create', 'secret', 'tls', 'certs', '--tls-crt-file', crt, '--tls-key-file', key, '-n', g.ns.name]);
  assert.equal(tls.code, 0, tls.stderr);
  assert.deepEqual(await secretData('certs'), { type: 'kubernetes.io/tls', data: { 'tls.crt': 'CERT', 'tls.key': 'KEY' } });
  const reg = await withInput(['create', 'secret', 'oci', 'regcred', '--url', 'ghcr.io', '--username', 'bot', '--password-stdin', '-n', g.ns.name], 'tok');
  assert.equal(reg.code, 0, reg.stderr);
  const dc = await secretData('regcred');
  assert.equal(dc.type, 'kubernetes.io/dockerconfigjson');
  assert.deepEqual(JSON.parse(dc.data['.dockerconfigjson']!), { auths: { 'ghcr.io': { username: 'bot', password: 'tok', auth: Buffer.from('bot:tok').toString('base64') } } });

  const argv = await sluice(['create', 'secret', 'git', 'x', '--url', 'https://example.com/r.git', '--username', 'u', '--password', 'p', '-n', g.ns.name]);
  assert.equal(argv.code, 2);
  assert.match(argv.stderr, /--password would put the secret on the command line .*use --password-stdin or --password-file/);
  const bad = await sluice(['create', 'ks', 'x', '--path', './a']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--source is required/);
});
