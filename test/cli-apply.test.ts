import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, writeFile, rm as rmrf, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testKubeconfig, testNamespace, type TestNamespace } from './harness.ts';
import { closeAll } from './cleanup.ts';

let ns: TestNamespace;
let dir: string;
let kubeconfig: string;

before(async () => {
  ns = await testNamespace('cli-apply');
  dir = await mkdtemp(join(tmpdir(), 'sluice-cli-'));
  kubeconfig = await testKubeconfig();
});
after(async () => {
  await closeAll(ns && (() => ns.cleanup()), dir && (() => rmrf(dir, { recursive: true, force: true })));
});

function sluice(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/sluice.js', ...args], { env: { ...process.env, KUBECONFIG: kubeconfig } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(input);
  });
}

const cmYaml = (name: string, value: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n  value: "${value}"\n`;
const deployYaml = (name: string) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
spec:
  replicas: 1
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      containers: [{name: main, image: example.invalid/app:1}]
`;

test('sluice apply: change set, inventory, prune, wait; sluice diff: exit codes and masking', async () => {
  await writeFile(join(dir, 'a.yaml'), cmYaml('alpha', '1'));
  await writeFile(join(dir, 'b.yaml'), cmYaml('beta', '1') + '---\n' + deployYaml('web'));
  await writeFile(join(dir, 'c.yaml'), cmYaml('gamma', '1'));
  const common = ['-n', ns.name, '--name', 'cli', '--inventory-namespace', ns.name];

  const first = await sluice(['apply', dir, ...common, '--prune', '--wait', '--timeout', '60s']);
  assert.equal(first.code, 0, first.stderr);
  for (const line of [`ConfigMap/${ns.name}/alpha created`, `ConfigMap/${ns.name}/beta created`, `Deployment/${ns.name}/web created`]) {
    assert.ok(first.stdout.includes(line), `missing "${line}" in:\n${first.stdout}`);
  }
  assert.match(first.stderr, /all 4 objects ready/);

  const same = await sluice(['diff', dir, ...common]);
  assert.equal(same.code, 0, same.stderr + same.stdout);

  await writeFile(join(dir, 'a.yaml'), cmYaml('alpha', '2'));
  await writeFile(join(dir, 's.yaml'), `apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\nstringData:\n  password: hunter2-very-secret\n`);
  const changed = await sluice(['diff', dir, ...common]);
  assert.equal(changed.code, 1, changed.stderr);
  assert.match(changed.stdout, new RegExp(`► ConfigMap/${ns.name}/alpha drifted`));
  assert.match(changed.stdout, /-\s+value: "1"\n\+\s+value: "2"/);
  assert.match(changed.stdout, new RegExp(`► Secret/${ns.name}/creds would be created`));
  assert.ok(!changed.stdout.includes('hunter2'), 'secret values must be masked');

  await unlink(join(dir, 'c.yaml'));
  const second = await sluice(['apply', dir, ...common, '--prune']);
  assert.equal(second.code, 0, second.stderr);
  assert.ok(second.stdout.includes(`ConfigMap/${ns.name}/alpha configured`), second.stdout);
  assert.ok(second.stdout.includes(`ConfigMap/${ns.name}/beta unchanged`), second.stdout);
  assert.ok(second.stdout.includes(`ConfigMap/${ns.name}/gamma deleted`), second.stdout);
  assert.equal(await ns.client.getOrUndefined(`/api/v1/namespaces/${ns.name}/configmaps/gamma`), undefined);
});

test('sluice apply refuses malformed YAML with file and line, and applies nothing', async () => {
  const bad = await mkdtemp(join(tmpdir(), 'sluice-bad-'));
  try {
    await writeFile(join(bad, 'good.yaml'), cmYaml('never', '1'));
    await writeFile(join(bad, 'broken.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: [unclosed\n');
    const res = await sluice(['apply', bad, '-n', ns.name]);
    assert.notEqual(res.code, 0);
    assert.match(res.stderr, /broken\.yaml:\d+/);
    assert.equal(await ns.client.getOrUndefined(`/api/v1/namespaces/${ns.name}/configmaps/never`), undefined);
  } finally {
    await rmrf(bad, { recursive: true, force: true });
  }
});

test('sluice apply - reads standard input; an empty render never prunes everything', async () => {
  const res = await sluice(['apply', '-', '-n', ns.name, '--name', 'stdin', '--inventory-namespace', ns.name, '--prune'], cmYaml('from-stdin', 'x'));
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stdout, /ConfigMap\/.*\/from-stdin created/);
  const empty = await sluice(['apply', '-', '-n', ns.name, '--name', 'stdin', '--inventory-namespace', ns.name, '--prune'], '');
  assert.equal(empty.code, 1);
  assert.match(empty.stderr, /refusing to prune: the new set is empty .*pass --allow-mass-prune/);
  assert.notEqual(await ns.client.getOrUndefined(`/api/v1/namespaces/${ns.name}/configmaps/from-stdin`), undefined);
});
