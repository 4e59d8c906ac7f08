import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GitOps, ready } from '../gitops.ts';
import { ensureGoTool, ensureSops } from '../../src/tools/gotool.ts';
import { run } from '../../src/util/exec.ts';
import type { KubeObject } from '../../src/kube/object.ts';
import { closeAll } from '../cleanup.ts';

// SOPS decryption with the real sops binary, age and OpenPGP keys.

let g: GitOps;
let sops: string;
let gnupg: string;
let ageIdentity: string;
let ageRecipient: string;
let pgpFingerprint: string;
let pgpSecretKey: string;

const secretYaml = (name: string, value: string) => `apiVersion: v1
kind: Secret
metadata:
  name: ${name}
type: Opaque
stringData:
  password: ${value}
`;

async function encrypt(plain: string, recipient: { age?: string; pgp?: string }): Promise<string> {
  const args = ['--encrypt', '--encrypted-regex', '^(data|stringData)$', '--input-type', 'yaml', '--output-type', 'yaml'];
  if (recipient.age) args.push('--age', recipient.age);
  if (recipient.pgp) args.push('--pgp', recipient.pgp);
  const file = join(gnupg, 'plain.yaml');
  await writeFile(file, plain);
  args.push(file);
  return (await run(sops, args, { env: { ...process.env, GNUPGHOME: gnupg } })).stdout;
}

before(async () => {
  sops = await ensureSops();
  const keygen = await ensureGoTool({ name: 'age-keygen', module: 'filippo.io/age', version: 'v1.3.2', pkg: 'filippo.io/age/cmd/age-keygen' });
  ageIdentity = (await run(keygen, [])).stdout.trim();
  ageRecipient = /public key: (age1\w+)/.exec(ageIdentity)![1]!;

  gnupg = await mkdtemp(join(tmpdir(), 'sluice-test-gpg-'));
  const env = { ...process.env, GNUPGHOME: gnupg };
  await run('gpg', ['--batch', '--quiet', '--passphrase', '', '--quick-gen-key', 'Sluice Test <sops@sluice.invalid>', 'rsa2048', 'encrypt', 'never'], { env });
  const listing = (await run('gpg', ['--batch', '--with-colons', '--list-secret-keys'], { env })).stdout;
  pgpFingerprint = /^fpr:+([0-9A-F]+):/m.exec(listing)![1]!;
  pgpSecretKey = (await run('gpg', ['--batch', '--armor', '--export-secret-keys', pgpFingerprint], { env })).stdout;

  g = await GitOps.start('sops');
  await g.client.request({
    method: 'POST',
    path: `/api/v1/namespaces/${g.ns.name}/secrets`,
    body: { metadata: { name: 'sops-keys' }, stringData: { 'identity.agekey': ageIdentity, 'private.asc': pgpSecretKey } },
  });
  await g.push({ 'README.md': 'sops' }, 'init');
  await g.createGitRepository();
});

after(async () => {
  await closeAll(
    g && (() => g.close()),
    gnupg &&
      (async () => {
        await run('gpgconf', ['--kill', 'gpg-agent'], { env: { ...process.env, GNUPGHOME: gnupg }, check: false });
        await rm(gnupg, { recursive: true, force: true });
      }),
  );
});

describe('SOPS decryption', () => {
  test('Secrets encrypted for age and for OpenPGP are decrypted and applied', async () => {
    const ageDoc = await encrypt(secretYaml('age-secret', 'age-plaintext-value'), { age: ageRecipient });
    const pgpDoc = await encrypt(secretYaml('pgp-secret', 'pgp-plaintext-value'), { pgp: pgpFingerprint });
    assert.ok(!ageDoc.includes('age-plaintext-value') && !pgpDoc.includes('pgp-plaintext-value'), 'the repository holds ciphertext only');
    const rev = await g.pushAndFetch({ 'enc/age.yaml': ageDoc, 'enc/pgp.yaml': pgpDoc });
    await g.createKustomization('enc', { path: './enc', targetNamespace: g.ns.name, decryption: { provider: 'sops', secretRef: { name: 'sops-keys' } } });
    await g.untilReady('enc', rev, 60_000).catch(async (err) => {
      throw new Error(`${(err as Error).message}; status: ${JSON.stringify((await g.ks('enc')).status?.conditions)}`);
    });
    for (const [name, value] of [['age-secret', 'age-plaintext-value'], ['pgp-secret', 'pgp-plaintext-value']] as const) {
      const s = await g.get<KubeObject & { data: Record<string, string> }>(g.path('secrets', name));
      assert.equal(Buffer.from(s!.data.password!, 'base64').toString(), value);
      assert.equal((s as Record<string, unknown>).sops, undefined, 'no sops metadata reaches the cluster');
    }
  });

  test('an encrypted object without spec.decryption, or with the wrong key, fails clearly', async () => {
    const doc = await encrypt(secretYaml('no-key', 'hidden-value-1'), { age: ageRecipient });
    const rev = await g.pushAndFetch({ 'nodec/s.yaml': doc });
    await g.createKustomization('nodec', { path: './nodec', targetNamespace: g.ns.name });
    const s = await g.untilKs('nodec', 'failed', (st) => st.lastAttemptedRevision === rev && ready(st)?.status === 'False');
    assert.equal(ready(s)!.reason, 'BuildFailed');
    assert.match(ready(s)!.message, /Secret\/.*no-key \(nodec\/s\.yaml\) is SOPS-encrypted but the Kustomization has no spec\.decryption/);

    const keygen = await ensureGoTool({ name: 'age-keygen', module: 'filippo.io/age', version: 'v1.3.2', pkg: 'filippo.io/age/cmd/age-keygen' });
    await g.client.request({
      method: 'POST',
      path: `/api/v1/namespaces/${g.ns.name}/secrets`,
      body: { metadata: { name: 'wrong-keys' }, stringData: { 'other.agekey': (await run(keygen, [])).stdout } },
    });
    await g.createKustomization('wrongkey', { path: './nodec', targetNamespace: g.ns.name, decryption: { provider: 'sops', secretRef: { name: 'wrong-keys' } } });
    const w = await g.untilKs('wrongkey', 'failed', (st) => st.lastAttemptedRevision === rev && ready(st)?.status === 'False');
    assert.match(ready(w)!.message, /nodec\/s\.yaml: sops could not decrypt it: no key in the decryption Secret can open it/);
    assert.ok(!ready(w)!.message.includes('hidden-value-1'));
    assert.equal(await g.get(g.path('secrets', 'no-key')), undefined);
  });
  test('decryption.serviceAccountName with a file only a cloud KMS opens fails, naming the field', async () => {
    // A file whose metadata also lists an AWS KMS key: the age key it was
    // encrypted for is not in the Secret, so only the KMS could open it, and
    // that is what Flux would use the service account for.
    const keygen = await ensureGoTool({ name: 'age-keygen', module: 'filippo.io/age', version: 'v1.3.2', pkg: 'filippo.io/age/cmd/age-keygen' });
    const stranger = /public key: (age1\w+)/.exec((await run(keygen, [])).stdout)![1]!;
    const doc = (await encrypt(secretYaml('kms-only', 'kms-plaintext'), { age: stranger })).replace(
      'sops:\n',
      'sops:\n    kms:\n        - arn: arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab\n          created_at: "2026-01-01T00:00:00Z"\n          enc: not-a-data-key\n          aws_profile: ""\n',
    );
    const rev = await g.pushAndFetch({ 'kms/s.yaml': doc });
    await g.createKustomization('kms', {
      path: './kms',
      targetNamespace: g.ns.name,
      decryption: { provider: 'sops', serviceAccountName: 'sops-identity', secretRef: { name: 'sops-keys' } },
    });
    const s = await g.untilKs('kms', 'failed', (st) => st.lastAttemptedRevision === rev && ready(st)?.status === 'False');
    assert.equal(ready(s)!.reason, 'BuildFailed');
    assert.match(ready(s)!.message, /kms\/s\.yaml: encrypted with AWS KMS, which spec\.decryption\.serviceAccountName 'sops-identity' would authenticate to through cloud workload identity; Sluice cannot use workload identity/);
    assert.equal(await g.get(g.path('secrets', 'kms-only')), undefined);
    // The field is accepted and harmless where the Secret's keys open everything.
    await g.createKustomization('sa-age', {
      path: './enc',
      targetNamespace: g.ns.name,
      decryption: { provider: 'sops', serviceAccountName: 'sops-identity', secretRef: { name: 'sops-keys' } },
    });
    await g.untilReady('sa-age', undefined, 60_000);
  });
});
