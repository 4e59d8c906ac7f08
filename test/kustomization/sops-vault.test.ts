import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GitOps, ready } from '../gitops.ts';
import { ensureGoTool, ensureSops } from '../../src/tools/gotool.ts';
import { run } from '../../src/util/exec.ts';
import { closeAll } from '../cleanup.ts';

// SOPS through HashiCorp Vault's transit engine, as Flux does it with a
// decryption Secret's `sops.vault-token`: the controller hands the token to
// the real sops, which asks the Vault named in the file's metadata to
// decrypt the data key.
//
// No Vault server can be built here (see the README: Vault's core needs the
// SDK of its own source tree, which the Go module proxy does not serve), so
// this test goes as far as the request: a loopback listener in Vault's place
// records what sops sends (path, token) and answers as Vault answers a token
// without the policy, 403 "permission denied". What it shows: the token of
// the Secret, and only it, reaches the Vault address of the file; the failure
// names the file and Vault's reason; the token appears in no status.

const TOKEN = 'hvs.sluice-test-token-7f3a';
let g: GitOps;
let work: string;
let vault: Server;
let vaultAddr: string;
const seen: Array<{ method: string; url: string; token: string | undefined }> = [];

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'sluice-test-vault-'));
  vault = createServer((req: IncomingMessage, res) => {
    seen.push({ method: req.method!, url: req.url!, token: req.headers['x-vault-token'] as string | undefined });
    req.resume();
    res.writeHead(403, { 'content-type': 'application/json' }).end(JSON.stringify({ errors: ['1 error occurred:\n\t* permission denied\n\n'] }));
  });
  await new Promise<void>((r) => vault.listen(0, '127.0.0.1', r));
  vaultAddr = `http://127.0.0.1:${(vault.address() as AddressInfo).port}`;
  g = await GitOps.start('sops-vault');
  await g.push({ 'README.md': 'vault' }, 'init');
  await g.createGitRepository();
});

after(async () => {
  await closeAll(
    g && (() => g.close()),
    vault && (() => new Promise<void>((r) => vault.close(() => r()))),
    work && (() => rm(work, { recursive: true, force: true })),
  );
});

/** A Secret encrypted by the real sops for an age key nobody here holds, with a Vault transit key beside it in its metadata. */
async function encryptedForVault(name: string, value: string): Promise<string> {
  const sops = await ensureSops();
  const keygen = await ensureGoTool({ name: 'age-keygen', module: 'filippo.io/age', version: 'v1.3.2', pkg: 'filippo.io/age/cmd/age-keygen' });
  const stranger = /public key: (age1\w+)/.exec((await run(keygen, [])).stdout)![1]!;
  const file = join(work, `${name}.yaml`);
  await writeFile(file, `apiVersion: v1\nkind: Secret\nmetadata:\n  name: ${name}\ntype: Opaque\nstringData:\n  password: ${value}\n`);
  const doc = (await run(sops, ['--encrypt', '--encrypted-regex', '^(data|stringData)$', '--age', stranger, '--input-type', 'yaml', '--output-type', 'yaml', file])).stdout;
  return doc.replace(
    'sops:\n',
    `sops:\n    hc_vault:\n        - vault_address: ${vaultAddr}\n          engine_path: transit\n          key_name: sluice-sops\n          created_at: "2026-01-01T00:00:00Z"\n          enc: vault:v1:c2x1aWNlLXRlc3QtY2lwaGVydGV4dA==\n`,
  );
}

test("the decryption Secret's sops.vault-token reaches the file's Vault, and Vault's refusal is the condition, never the token", async () => {
  const doc = await encryptedForVault('vault-secret', 'vault-plaintext-value');
  await g.client.request({ method: 'POST', path: `/api/v1/namespaces/${g.ns.name}/secrets`, body: { metadata: { name: 'vault-keys' }, stringData: { 'sops.vault-token': `${TOKEN}\n` } } });
  const rev = await g.pushAndFetch({ 'vault/s.yaml': doc });
  await g.createKustomization('vault', { path: './vault', targetNamespace: g.ns.name, decryption: { provider: 'sops', secretRef: { name: 'vault-keys' } } });
  const st = await g.untilKs('vault', 'failed', (s) => s.lastAttemptedRevision === rev && ready(s)?.status === 'False', 60_000);

  const asked = seen.filter((r) => r.url === '/v1/transit/decrypt/sluice-sops');
  assert.ok(asked.length > 0, `sops asked the file's Vault to decrypt the data key; requests seen: ${JSON.stringify(seen.map((r) => `${r.method} ${r.url}`))}`);
  assert.ok(asked.every((r) => r.method === 'PUT' || r.method === 'POST'));
  assert.deepEqual([...new Set(asked.map((r) => r.token))], [TOKEN], 'the token of the Secret, trimmed, and no other');

  const msg = ready(st)!.message;
  assert.equal(ready(st)!.reason, 'BuildFailed');
  assert.match(msg, /vault\/s\.yaml: sops could not decrypt it: /);
  assert.match(msg, new RegExp(`Vault at ${vaultAddr.replace(/\./g, '\\.')} answered 403: permission denied`));
  assert.ok(!JSON.stringify(st).includes(TOKEN), 'the token is in no status field');
  assert.equal(await g.get(g.path('secrets', 'vault-secret')), undefined, 'nothing applied');
});
