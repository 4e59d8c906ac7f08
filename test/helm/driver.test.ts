import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { installRelease } from '../../src/helm/actions.ts';
import { HelmError } from '../../src/tools/helmcli.ts';
import { HelmDriver } from '../../src/helm/driver.ts';
import { ensureHelmDriver } from '../../src/tools/localgo.ts';

// test: no cluster
import { closeAll } from '../cleanup.ts';

// The helm-driver process on its own, no cluster: its protocol, its errors,
// cancellation, and what happens when it dies. A loopback server that
// accepts connections and never answers stands in for an API server that
// hangs.

let work: string;
let chart: string;
let silent: net.Server;
let silentPort: number;
const sockets = new Set<net.Socket>();
let driver: HelmDriver;

const TOKEN = 'very-secret-token-5f1c';

function kubeconfig(port: number): string {
  return `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "http://127.0.0.1:${port}"}
users:
- name: u
  user: {token: ${TOKEN}}
contexts:
- name: x
  context: {cluster: c, user: u}
current-context: x
`;
}

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'sluice-driver-test-'));
  chart = join(work, 'chart');
  await mkdir(join(chart, 'templates'), { recursive: true });
  await writeFile(join(chart, 'Chart.yaml'), 'apiVersion: v2\nname: tiny\nversion: 0.1.0\n');
  await writeFile(join(chart, 'templates', 'cm.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: tiny\n');
  silent = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
  silentPort = (silent.address() as net.AddressInfo).port;
  driver = new HelmDriver({ bin: () => ensureHelmDriver({ log: (m) => process.stderr.write(`# ${m}\n`) }) });
});

after(async () => {
  await closeAll(
    driver && (() => driver.stop(5_000)),
    () => sockets.forEach((s) => s.destroy()),
    silent && (() => new Promise((r) => silent.close(r))),
    work && (() => rm(work, { recursive: true, force: true })),
  );
});

test('answers a request and reports an unknown operation as an error', async () => {
  assert.equal(await driver.call('ping', {}), 'pong');
  await assert.rejects(driver.call('frobnicate', {}), (err: Error) => err instanceof HelmError && /unknown operation "frobnicate"/.test(err.message));
});

test('a malformed kubeconfig is an error that does not repeat the credentials', async () => {
  const broken = kubeconfig(silentPort).replace('current-context: x', 'current-context: [x');
  const err = await installRelease(driver, { target: { kubeconfig: broken }, name: 'r', namespace: 'ns', chart, values: {}, timeoutMs: 5_000 }).then(
    () => assert.fail('installed with a broken kubeconfig'),
    (e: Error) => e,
  );
  assert.ok(err instanceof HelmError);
  assert.match(err.message, /kubeconfig/);
  assert.ok(!err.message.includes(TOKEN), err.message);
});

test('a chart that is not there is named in the error', async () => {
  await assert.rejects(
    installRelease(driver, { target: { kubeconfig: kubeconfig(silentPort) }, name: 'r', namespace: 'ns', chart: join(work, 'nowhere'), values: {}, timeoutMs: 5_000 }),
    (err: Error) => err instanceof HelmError && err.message.includes(join(work, 'nowhere')),
  );
});

test('an action against a server that never answers is given up after its deadline, and the driver goes on', async () => {
  const started = Date.now();
  await assert.rejects(
    driver.call('install', { target: { kubeconfig: kubeconfig(silentPort) }, name: 'r', namespace: 'ns', chart, values: {}, timeoutMs: 1_000 }, { timeoutMs: 1_500 }),
    (err: Error) => err instanceof HelmError && /did not finish within 1500 ms/.test(err.message),
  );
  assert.ok(Date.now() - started < 10_000);
  const ac = new AbortController();
  const pending = driver.call('install', { target: { kubeconfig: kubeconfig(silentPort) }, name: 'r2', namespace: 'ns', chart, values: {}, timeoutMs: 60_000 }, { signal: ac.signal });
  setTimeout(() => ac.abort(), 200);
  await assert.rejects(pending, (err: Error) => err instanceof HelmError && /interrupted/.test(err.message));
  assert.equal(await driver.call('ping', {}), 'pong', 'the same process still serves');
});

test('when the driver dies, the actions in flight fail with a clear error and the next call starts a new one', async () => {
  assert.equal(await driver.call('ping', {}), 'pong');
  const first = driver.pid!;
  const pending = driver.call('install', { target: { kubeconfig: kubeconfig(silentPort) }, name: 'r3', namespace: 'ns', chart, values: {}, timeoutMs: 60_000 });
  await new Promise((r) => setTimeout(r, 200));
  process.kill(first, 'SIGKILL');
  await assert.rejects(pending, (err: Error) => err instanceof HelmError && /the helm driver exited \(SIGKILL\)/.test(err.message));
  assert.equal(await driver.call('ping', {}), 'pong');
  assert.ok(driver.pid && driver.pid !== first, 'a new process');
});
