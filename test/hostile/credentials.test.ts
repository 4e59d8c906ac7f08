import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateTls, startGitHttpServer, TestRepo, type GitHttpServer, type TlsMaterial } from '../gitserver/index.ts';
import { condition, gitRepository, reconcile, sourceEnv, type SourceEnv } from '../source/helpers.ts';
import { run } from '../../src/util/exec.ts';
import { closeAll } from '../cleanup.ts';
// test: no cluster

// Credentials of the hostile corpus that test/source/auth.test.ts does not
// already cover (it has wrong passwords and tokens, a changed SSH host key,
// a host missing from known_hosts, a key the server refuses): a server
// certificate that has expired, signed by the CA the Secret trusts, and a
// Secret whose CA is the wrong one. Each fails with the reason, and no
// password appears in any condition or event.

const USER = 'tenant';
const PASSWORD = `pw-${Math.random().toString(36).slice(2)}-planted`;

let env: SourceEnv;
let repo: TestRepo;
let tls: TlsMaterial;
let other: TlsMaterial;
let expired: GitHttpServer;
let valid: GitHttpServer;
let dir: string;
const messages: string[] = [];

/** A server certificate from the test CA whose validity ended yesterday. */
async function expiredServerCert(ca: TlsMaterial): Promise<{ cert: string; key: string; valid: string }> {
  const p = (n: string) => join(dir, n);
  await writeFile(p('ca.crt'), ca.caCert);
  // generateTls() drops its CA key; sign with a fresh CA written here instead.
  await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', p('exp-ca.key'), '-out', p('exp-ca.crt'), '-days', '2', '-subj', '/CN=sluice-expired-ca', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  await run('openssl', ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', p('s.key'), '-out', p('s.csr'), '-subj', '/CN=127.0.0.1']);
  await writeFile(p('s.ext'), 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n');
  // A negative -days puts notAfter in the past: expired since yesterday.
  await run('openssl', ['x509', '-req', '-in', p('s.csr'), '-CA', p('exp-ca.crt'), '-CAkey', p('exp-ca.key'), '-CAcreateserial', '-out', p('s.crt'), '-days', '-1', '-extfile', p('s.ext')]);
  // The same key and CA, valid for a day: the control that shows expiry is what fails.
  await run('openssl', ['x509', '-req', '-in', p('s.csr'), '-CA', p('exp-ca.crt'), '-CAkey', p('exp-ca.key'), '-CAcreateserial', '-out', p('v.crt'), '-days', '1', '-extfile', p('s.ext')]);
  const dates = (await run('openssl', ['x509', '-in', p('s.crt'), '-noout', '-enddate'])).stdout;
  assert.ok(new Date(dates.replace('notAfter=', '').trim()) < new Date(), `expired: ${dates}`);
  return { cert: await readFile(p('s.crt'), 'utf8'), key: await readFile(p('s.key'), 'utf8'), valid: await readFile(p('v.crt'), 'utf8') };
}

before(async () => {
  env = await sourceEnv();
  dir = await mkdtemp(join(tmpdir(), 'sluice-expired-'));
  repo = await TestRepo.create(env.repoRoot, 'private');
  await repo.commitFiles({ 'deploy.yaml': 'kind: ConfigMap\n' }, 'private content');
  await repo.push();
  tls = await generateTls();
  other = await generateTls();
  const exp = await expiredServerCert(tls);
  const expCa = await readFile(join(dir, 'exp-ca.crt'), 'utf8');
  expired = await startGitHttpServer({ root: env.repoRoot, tls: { ...tls, caCert: expCa, serverCert: exp.cert, serverKey: exp.key }, basicAuth: { username: USER, password: PASSWORD } });
  valid = await startGitHttpServer({ root: env.repoRoot, tls: { ...tls, caCert: expCa, serverCert: exp.valid, serverKey: exp.key }, basicAuth: { username: USER, password: PASSWORD } });
  env.setSecret('expired', { username: USER, password: PASSWORD, 'ca.crt': expCa });
  env.setSecret('wrong-ca', { username: USER, password: PASSWORD, 'ca.crt': other.caCert });
});

after(async () => {
  await closeAll(expired && (() => expired.close()), valid && (() => valid.close()), repo && (() => repo.dispose()), env && (() => env.cleanup()), dir && (() => rm(dir, { recursive: true, force: true })));
});

async function fetchFails(secret: string): Promise<string> {
  const obj = gitRepository({ url: expired.url('private'), secretRef: { name: secret } });
  const res = await reconcile(obj, env.deps);
  for (const c of res.status.conditions ?? []) messages.push(c.message);
  for (const e of res.events) messages.push(e.message);
  assert.notEqual(res.outcome, 'stored');
  const c = condition(obj, 'FetchFailed');
  assert.equal(c?.reason, 'GitOperationFailed', JSON.stringify(res.status.conditions));
  return c!.message;
}

test('an expired server certificate (from the trusted CA) fails the fetch with the TLS reason; the same key and CA, unexpired, work', async () => {
  // git's libcurl (GnuTLS on Debian) says only "server certificate verification failed", not why.
  assert.match(await fetchFails('expired'), /TLS certificate verification failed for '.*': .*(expired|verification failed)/i);
  const control = gitRepository({ url: valid.url('private'), secretRef: { name: 'expired' } });
  assert.equal((await reconcile(control, env.deps)).outcome, 'stored');
});

test('a Secret that trusts another CA fails the fetch with the TLS reason', async () => {
  assert.match(await fetchFails('wrong-ca'), /TLS certificate verification failed/);
});

test('the password is in no condition or event of these failures', () => {
  assert.ok(messages.length >= 2);
  for (const m of messages) assert.ok(!m.includes(PASSWORD), m);
});
