import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kubeconfigFor, parseKubeConfigMap } from './kubeconfigmap.ts';

const CA = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const W = "'ns/kc'";

test('the generic provider: address required, audiences default to it, ca.crt and serviceAccountName optional', () => {
  assert.deepEqual(parseKubeConfigMap({ provider: 'generic', address: 'https://api.example:6443' }, W), {
    address: 'https://api.example:6443',
    caCert: undefined,
    audiences: ['https://api.example:6443'],
    serviceAccountName: undefined,
  });
  assert.deepEqual(
    parseKubeConfigMap({ provider: 'generic', address: ' https://api.example ', 'ca.crt': CA, audiences: 'a\n\n b \n', serviceAccountName: 'deployer' }, W),
    { address: 'https://api.example', caCert: CA, audiences: ['a', 'b'], serviceAccountName: 'deployer' },
  );
});

test('what cannot be served is refused, naming the ConfigMap and what to do', () => {
  const table: Array<[Record<string, string>, RegExp]> = [
    [{}, /kubeconfig ConfigMap 'ns\/kc': key 'provider' is required \(one of generic, aws, azure, gcp\)$/],
    [{ provider: 'openstack' }, /unknown provider 'openstack'/],
    [{ provider: 'aws', cluster: 'arn:aws:eks:eu-west-1:1:cluster/c' }, /provider 'aws' authenticates through cloud workload identity, which Sluice does not support; use provider 'generic' .* or spec\.kubeConfig\.secretRef/],
    [{ provider: 'azure' }, /provider 'azure' authenticates through cloud workload identity/],
    [{ provider: 'gcp' }, /provider 'gcp' authenticates through cloud workload identity/],
    [{ provider: 'generic' }, /key 'address' is required for provider 'generic'/],
    [{ provider: 'generic', address: 'not a url' }, /address 'not a url' is not a URL/],
    [{ provider: 'generic', address: 'https://x', 'ca.crt': 'garbage' }, /ca\.crt is not a PEM certificate/],
  ];
  for (const [data, message] of table) assert.throws(() => parseKubeConfigMap(data, W), message, JSON.stringify(data));
});

test('the kubeconfig built: the server, its CA and the token', () => {
  const kc = JSON.parse(kubeconfigFor({ address: 'https://api.example', caCert: CA, audiences: ['x'] }, 'tok')) as Record<string, any>;
  assert.equal(kc.clusters[0].cluster.server, 'https://api.example');
  assert.equal(Buffer.from(kc.clusters[0].cluster['certificate-authority-data'], 'base64').toString(), CA);
  assert.equal(kc.users[0].user.token, 'tok');
  assert.equal(kc['current-context'], 'remote');
  const noCa = JSON.parse(kubeconfigFor({ address: 'https://api.example', audiences: ['x'] }, 'tok')) as Record<string, any>;
  assert.equal(noCa.clusters[0].cluster['certificate-authority-data'], undefined);
});
