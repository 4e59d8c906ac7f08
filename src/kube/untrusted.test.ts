import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkUntrustedKubeconfig, UntrustedKubeconfigError } from './untrusted.ts';

const SECRET = 's3cr3t-token-value';
const config = (user: string, cluster = 'server: https://127.0.0.1:6443\n      certificate-authority-data: AAAA') => `apiVersion: v1
kind: Config
clusters:
  - name: c
    cluster:
      ${cluster}
users:
  - name: u
    user:
      ${user}
contexts:
  - name: x
    context: {cluster: c, user: u}
current-context: x
`;

const where = "kubeconfig Secret 'tenant-a/remote' key 'value'";

test('an inline token and CA pass', () => {
  checkUntrustedKubeconfig(config(`token: ${SECRET}`), where);
  checkUntrustedKubeconfig(config('client-certificate-data: AAAA\n      client-key-data: BBBB'), where);
});

test('a plain http server may skip TLS verification: there is none', () => {
  checkUntrustedKubeconfig(config('token: x', 'server: http://127.0.0.1:8080\n      insecure-skip-tls-verify: true'), where);
});

const refused: Array<[string, string, RegExp]> = [
  ['exec plugin', 'exec: {apiVersion: client.authentication.k8s.io/v1, command: /bin/sh, args: [-c, "cat /var/run/secrets/kubernetes.io/serviceaccount/token"]}', /users\["u"\]\.user\.exec is refused/],
  ['auth-provider', 'auth-provider: {name: oidc, config: {}}', /users\["u"\]\.user\.auth-provider is refused/],
  ['tokenFile of the controller', 'tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token', /users\["u"\]\.user\.tokenFile is refused/],
  ['client-key file', 'client-key: /root/.sluice/cluster/admin.key', /users\["u"\]\.user\.client-key is refused/],
  ['client-certificate file', 'client-certificate: ../admin.crt', /users\["u"\]\.user\.client-certificate is refused/],
];
for (const [what, user, msg] of refused) {
  test(`refused: ${what}, naming the Secret and the field`, () => {
    assert.throws(() => checkUntrustedKubeconfig(config(user), where), (err: unknown) => {
      assert.ok(err instanceof UntrustedKubeconfigError);
      assert.match(err.message, msg);
      assert.ok(err.message.startsWith(where), err.message);
      // No value of the kubeconfig is echoed.
      assert.doesNotMatch(err.message, /serviceaccount\/token|admin\.key|admin\.crt|\/bin\/sh/);
      return true;
    });
  });
}

test('refused: a CA file, and skipping TLS verification on https', () => {
  assert.throws(() => checkUntrustedKubeconfig(config('token: x', 'server: https://h\n      certificate-authority: /etc/ssl/private/ca.pem'), where), /clusters\["c"\]\.cluster\.certificate-authority is refused/);
  assert.throws(() => checkUntrustedKubeconfig(config('token: x', 'server: https://h\n      insecure-skip-tls-verify: true'), where), /insecure-skip-tls-verify is refused/);
});

test('broken YAML is refused without echoing the text', () => {
  assert.throws(() => checkUntrustedKubeconfig(`users: [{name: u, user: {token: ${SECRET}}\n  : :`, where), (err: unknown) => {
    assert.ok(err instanceof UntrustedKubeconfigError);
    assert.ok(!String((err as Error).message).includes(SECRET), (err as Error).message);
    return true;
  });
  assert.throws(() => checkUntrustedKubeconfig('- a\n- b\n', where), /not a mapping/);
});
