import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkUsableKeys, cloudKms, DecryptionError, keysFromSecret } from './sops.ts';

test('cloud KMS keys in SOPS metadata, YAML and JSON; empty lists and look-alike keys do not count', () => {
  const table: Array<[string, string[]]> = [
    ['sops:\n    kms:\n        - arn: arn:aws:kms:eu-west-1:1:key/x\n    age: []\n', ['AWS KMS']],
    ['sops:\n    gcp_kms:\n        - resource_id: projects/p/locations/l/keyRings/r/cryptoKeys/k\n', ['GCP KMS']],
    ['sops:\n    azure_kv:\n    - vault_url: https://v.vault.azure.net\n', ['Azure Key Vault']],
    ['{"sops": {"kms": [{"arn": "arn:aws:kms:x"}], "azure_kv": [{"vault_url": "u"}]}}', ['AWS KMS', 'Azure Key Vault']],
    ['sops:\n    kms: []\n    gcp_kms: []\n    age:\n        - recipient: age1x\n', []],
    ['{"sops": {"kms": null, "age": [{"recipient": "age1x"}]}}', []],
    ['data:\n    my_kms:\n        - x\n', []],
  ];
  for (const [text, want] of table) assert.deepEqual(cloudKms(text), want, text);
});

test("Flux's key-service entries: refused by name when they are all the Secret has, ignored beside age or OpenPGP keys", () => {
  const only = keysFromSecret({ 'sops.vault-token': Buffer.from('s.xyz'), 'sops.aws-kms': Buffer.from('[default]') });
  assert.deepEqual(only.unsupported, ['sops.vault-token', 'sops.aws-kms']);
  assert.throws(() => checkUsableKeys(only, 'apps/sops-keys'), (err: Error) => {
    assert.ok(err instanceof DecryptionError);
    assert.match(err.message, /^decryption Secret 'apps\/sops-keys' holds sops\.vault-token \(HashiCorp Vault transit\), sops\.aws-kms \(AWS KMS\): Sluice decrypts with age/);
    assert.ok(!err.message.includes('s.xyz'), 'never the token');
    return true;
  });
  const mixed = keysFromSecret({ 'sops.gcp-kms': Buffer.from('{}'), 'k.agekey': Buffer.from('AGE-SECRET-KEY-1XYZ\n') });
  assert.doesNotThrow(() => checkUsableKeys(mixed, 'apps/sops-keys'));
  assert.deepEqual(mixed.age, ['AGE-SECRET-KEY-1XYZ']);
});

test('cloudKms reads a long run of blank lines in linear time (a ReDoS before: 1.4 s for 20,000)', () => {
  const start = performance.now();
  assert.deepEqual(cloudKms(`kms:${'\n'.repeat(200_000)}x`), []);
  assert.deepEqual(cloudKms(`sops:\n  kms:${'\n'.repeat(200_000)}  - arn: a`), ['AWS KMS']);
  assert.ok(performance.now() - start < 2_000, `${Math.round(performance.now() - start)} ms`);
});
