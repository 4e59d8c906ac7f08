import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadKubeconfig, loadKubeconfigFromString } from './kubeconfig.ts';

const doc = (server: string, user: Record<string, unknown>, extraCluster: Record<string, unknown> = {}) =>
  JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'c', cluster: { server, ...extraCluster } }],
    users: [{ name: 'u', user }],
    contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'u' } }, { name: 'other', context: { cluster: 'c', user: 'u' } }],
    'current-context': 'ctx',
  });

test('client certificates and CA, inline and as files relative to the kubeconfig', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kc-'));
  await mkdir(join(dir, 'pki'));
  await writeFile(join(dir, 'pki/ca.crt'), 'CA-PEM');
  await writeFile(join(dir, 'pki/tls.key'), 'KEY-PEM');
  await writeFile(
    join(dir, 'config'),
    doc('https://127.0.0.1:6443', { 'client-certificate-data': Buffer.from('CERT-PEM').toString('base64'), 'client-key': 'pki/tls.key' }, { 'certificate-authority': 'pki/ca.crt' }),
  );
  const r = await loadKubeconfig(join(dir, 'config'));
  assert.equal(r.server, 'https://127.0.0.1:6443');
  assert.equal(String(r.options.ca), 'CA-PEM');
  assert.equal(String(r.options.cert), 'CERT-PEM');
  assert.equal(String(r.options.key), 'KEY-PEM');
  assert.equal(r.contextName, 'ctx');
});

test('tokens: inline, from a file (re-read on refresh), and basic auth', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kc-'));
  await writeFile(join(dir, 'token'), 'first\n');
  const fromFile = await loadKubeconfigFromString(doc('https://x', { tokenFile: join(dir, 'token') }));
  assert.deepEqual(fromFile.options.headers, { authorization: 'Bearer first' });
  await writeFile(join(dir, 'token'), 'rotated\n');
  assert.deepEqual(await fromFile.refresh!(), { authorization: 'Bearer rotated' });
  assert.deepEqual((await loadKubeconfigFromString(doc('https://x', { token: 'abc' }))).options.headers, { authorization: 'Bearer abc' });
  const basic = await loadKubeconfigFromString(doc('https://x', { username: 'ann', password: 'pw' }));
  assert.deepEqual(basic.options.headers, { authorization: `Basic ${Buffer.from('ann:pw').toString('base64')}` });
});

test('KUBECONFIG lists merge as kubectl does: the first file to define a name wins', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kc-'));
  await writeFile(join(dir, 'a'), doc('https://first', { token: 'a' }));
  await writeFile(join(dir, 'b'), doc('https://second', { token: 'b' }));
  const saved = process.env.KUBECONFIG;
  process.env.KUBECONFIG = `${join(dir, 'a')}:${join(dir, 'missing')}:${join(dir, 'b')}`;
  try {
    const r = await loadKubeconfig();
    assert.equal(r.server, 'https://first');
  } finally {
    if (saved === undefined) delete process.env.KUBECONFIG;
    else process.env.KUBECONFIG = saved;
  }
});

test('a named context, and clear errors for what is missing', async () => {
  assert.equal((await loadKubeconfigFromString(doc('https://x', {}), 'other')).contextName, 'other');
  await assert.rejects(loadKubeconfigFromString(doc('https://x', {}), 'nope'), /kubeconfig has no context "nope"/);
  await assert.rejects(
    loadKubeconfigFromString(JSON.stringify({ contexts: [{ name: 'c', context: { cluster: 'gone', user: 'u' } }], 'current-context': 'c' })),
    /names cluster "gone", which it does not define/,
  );
  await assert.rejects(loadKubeconfigFromString('{}'), /no current-context/);
});
