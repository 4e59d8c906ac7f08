import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkUsableKeys, cloudKms, DecryptionError, keysFromSecret, sopsError } from './sops.ts';

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

test("Flux's cloud key-service entries: refused by name when they are all the Secret has, ignored beside age or OpenPGP keys", () => {
  const only = keysFromSecret({ 'sops.gcp-kms': Buffer.from('{"type":"service_account"}'), 'sops.aws-kms': Buffer.from('[default]') });
  assert.deepEqual(only.unsupported, ['sops.gcp-kms', 'sops.aws-kms']);
  assert.throws(() => checkUsableKeys(only, 'apps/sops-keys'), (err: Error) => {
    assert.ok(err instanceof DecryptionError);
    assert.match(err.message, /^decryption Secret 'apps\/sops-keys' holds sops\.gcp-kms \(Google Cloud KMS\), sops\.aws-kms \(AWS KMS\): Sluice decrypts with age/);
    assert.ok(!err.message.includes('service_account') && !err.message.includes('[default]'), 'never the credentials');
    return true;
  });
  const mixed = keysFromSecret({ 'sops.gcp-kms': Buffer.from('{}'), 'k.agekey': Buffer.from('AGE-SECRET-KEY-1XYZ\n') });
  assert.doesNotThrow(() => checkUsableKeys(mixed, 'apps/sops-keys'));
  assert.deepEqual(mixed.age, ['AGE-SECRET-KEY-1XYZ']);
});

test('sops.vault-token is a usable key: its token, trimmed, is what sops presents to Vault', () => {
  const vault = keysFromSecret({ 'sops.vault-token': Buffer.from('hvs.example-token\n'), 'sops.azure-kv': Buffer.from('{}') });
  assert.equal(vault.vaultToken, 'hvs.example-token');
  assert.deepEqual(vault.unsupported, ['sops.azure-kv']);
  assert.doesNotThrow(() => checkUsableKeys(vault, 'apps/sops-keys'));
});

test("sops's report of its key groups: Vault's answer is kept (address, code, reason), the key dump is not", () => {
  // What sops v3.13.3 printed here when a Vault refused the token (tokens never appear in it).
  const stderr = [
    'Failed to get the data key required to decrypt the SOPS file.',
    '',
    'Group 0: FAILED',
    '  age1vduyw64jq3374n5pfm759t7wzy2k860uxyjq7rppv80w9824fpjs8zppgc: FAILED',
    '    - | failed to load age identities. Did not find keys in',
    "      | locations 'SOPS_AGE_SSH_PRIVATE_KEY_FILE'.",
    '  ',
    '  http://127.0.0.1:37805/v1/transit/keys/sluice-sops: FAILED',
    '    - | failed to decrypt sops data key from Vault transit backend',
    "      | 'transit/decrypt/sluice-sops': Error making API request.",
    '      | ',
    '      | URL: PUT',
    '      | http://127.0.0.1:37805/v1/transit/decrypt/sluice-sops',
    '      | Code: 403. Errors:',
    '      | ',
    '      | * 1 error occurred:',
    '      | \t* permission denied',
    '      | ',
    '',
    '',
    'Recovery failed because no master key was able to decrypt the file.',
  ].join('\n');
  assert.equal(sopsError(stderr), 'no key in the decryption Secret can open it; Vault at http://127.0.0.1:37805 answered 403: permission denied');
  const ageOnly = stderr.split('\n').slice(0, 6).join('\n');
  assert.equal(sopsError(ageOnly), 'no key in the decryption Secret can open it (wrong age or OpenPGP key?)');
  assert.equal(sopsError('Error unmarshalling input yaml: yaml: line 3: mapping values are not allowed\n'), 'Error unmarshalling input yaml: yaml: line 3: mapping values are not allowed');
});

test('cloudKms reads a long run of blank lines in linear time (a ReDoS before: 1.4 s for 20,000)', () => {
  const start = performance.now();
  assert.deepEqual(cloudKms(`kms:${'\n'.repeat(200_000)}x`), []);
  assert.deepEqual(cloudKms(`sops:\n  kms:${'\n'.repeat(200_000)}  - arn: a`), ['AWS KMS']);
  assert.ok(performance.now() - start < 2_000, `${Math.round(performance.now() - start)} ms`);
});
