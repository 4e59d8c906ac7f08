import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFile, mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { adminClient, eventually, testKubeconfig, testNamespace, type TestNamespace } from '../harness.ts';
import { closeAll } from '../cleanup.ts';
import type { KubeClient } from '../../src/kube/client.ts';
import type { KubeObject } from '../../src/kube/object.ts';
import { collect, sluice } from './sluice.ts';

// `sluice logs -f`. From a file: new lines printed as they are appended,
// a truncated (rotated) file read again from its start, SIGINT ends it with
// exit 0. From pods: the local cluster's nodes are KWOK's fakes, which run no
// container and serve no kubelet API, so the API server cannot stream any
// pod's log (it answers that it cannot reach the node's kubelet); what is
// tested is that `logs -f` finds the controller's pods by their label, asks
// the API server for each one's log, and on that answer names the pod and
// the reason and exits 1. A real pod's log followed as it grows is not
// tested here: it needs a node with a kubelet and a container runtime.

const bin = fileURLToPath(new URL('../../bin/sluice.js', import.meta.url));
let dir: string;
let ns: TestNamespace;
let client: KubeClient;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-logs-'));
  ns = await testNamespace('cli-logs');
  client = await adminClient();
});
after(async () => {
  await closeAll(ns && (() => ns.cleanup()), client && (() => client.close()), dir && (() => rm(dir, { recursive: true, force: true })));
});

const entry = (name: string, msg: string) => JSON.stringify({ level: 'info', ts: '2026-12-08T10:00:00.000Z', msg, logger: 'sluice', controller: 'kustomization', namespace: 'apps', name });
const line = (name: string, msg: string) => `2026-12-08T10:00:00.000Z info Kustomization/${name}.apps - ${msg}`;

test('logs --file -f: prints what is appended, filtered; starts over after a truncation; SIGINT ends it with 0', async () => {
  const file = join(dir, 'controller.log');
  await writeFile(file, `${entry('web', 'first')}\n`);
  const child = spawn(process.execPath, [bin, 'logs', '--file', file, '-f', '-n', 'apps', '--name', 'web'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c) => (out += c));
  const done = collect(child);
  try {
    const printed = (want: string[]) => eventually(`lines ${want.join(' | ')}`, async () => (out === want.map((l) => `${l}\n`).join('') ? true : undefined), 30_000);
    await printed([line('web', 'first')]);
    // A line in two writes, and one for another name (filtered out).
    const second = entry('web', 'second');
    await appendFile(file, `${entry('db', 'not this one')}\n${second.slice(0, 20)}`);
    await new Promise((r) => setTimeout(r, 700));
    await appendFile(file, `${second.slice(20)}\n`);
    await printed([line('web', 'first'), line('web', 'second')]);
    // Rotated: the file starts again, and so does the reading.
    await truncate(file, 0);
    await new Promise((r) => setTimeout(r, 700));
    await appendFile(file, `${entry('web', 'after rotation')}\n`);
    await printed([line('web', 'first'), line('web', 'second'), line('web', 'after rotation')]);
  } finally {
    child.kill('SIGINT');
  }
  const r = await done;
  assert.equal(r.code, 0, r.stderr);
});

test('logs -f from pods: finds the controller pods by label, and says which pod\'s log the API server could not stream and why', async () => {
  const pod = (name: string, labels: Record<string, string>) =>
    client.request({
      method: 'POST',
      path: `/api/v1/namespaces/${ns.name}/pods`,
      body: { apiVersion: 'v1', kind: 'Pod', metadata: { name, labels }, spec: { containers: [{ name: 'controller', image: 'sluice:test' }] } },
    });
  await pod('sluice-controller-a', { 'app.kubernetes.io/part-of': 'sluice' });
  await pod('unrelated', { app: 'other' });
  // KWOK schedules and "runs" it: the API server then asks that node's kubelet for the log.
  await eventually('the pod running on a KWOK node', async () => {
    const p = await client.request<KubeObject & { status?: { phase?: string } }>({ path: `/api/v1/namespaces/${ns.name}/pods/sluice-controller-a` });
    return p.status?.phase === 'Running' ? true : undefined;
  }, 60_000);

  const r = await sluice(['logs', '-f', '--flux-namespace', ns.name, '-A'], { KUBECONFIG: await testKubeconfig() });
  assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^✗ failed getting logs of pod sluice-controller-a: .*(10250|kubelet|connection refused|dial tcp)/m);
  assert.doesNotMatch(r.stderr, /unrelated/);
});
