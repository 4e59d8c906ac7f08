import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GitOps } from '../gitops.ts';
import { ensureGoTool, ensureSops } from '../../src/tools/gotool.ts';
import { run } from '../../src/util/exec.ts';
import { closeAll } from '../cleanup.ts';
import { eventually } from '../harness.ts';
import { sluice } from './sluice.ts';

// build and diff of a directory with a SOPS-encrypted Secret: diff decrypts
// with the Kustomization's keys (values masked in the output), build prints
// the Secret masked, and without keys the Secret is compared by its keys.

let g: GitOps;
let sops: string;
let recipient: string;
let work: string;

const secretYaml = (value: string) => `apiVersion: v1
kind: Secret
metadata:
  name: creds
type: Opaque
stringData:
  password: ${value}
`;

async function encrypt(plain: string): Promise<string> {
  const file = join(work, 'plain.yaml');
  await writeFile(file, plain);
  return (await run(sops, ['--encrypt', '--encrypted-regex', '^(data|stringData)$', '--age', recipient, '--input-type', 'yaml', '--output-type', 'yaml', file])).stdout;
}

async function dirWith(doc: string): Promise<string> {
  const d = await mkdtemp(join(work, 'app-'));
  await writeFile(join(d, 'secret.yaml'), doc);
  return d;
}

before(async () => {
  sops = await ensureSops();
  const keygen = await ensureGoTool({ name: 'age-keygen', module: 'filippo.io/age', version: 'v1.3.2', pkg: 'filippo.io/age/cmd/age-keygen' });
  const identity = (await run(keygen, [])).stdout.trim();
  recipient = /public key: (age1\w+)/.exec(identity)![1]!;
  work = await mkdtemp(join(tmpdir(), 'sluice-cli-sops-'));
  g = await GitOps.start('cli-sops');
  await g.client.request({ method: 'POST', path: `/api/v1/namespaces/${g.ns.name}/secrets`, body: { metadata: { name: 'sops-keys' }, stringData: { 'identity.agekey': identity } } });
});
after(async () => {
  await closeAll(
    g && (async () => {
      await g.client.request({ method: 'DELETE', path: g.ksPath('enc') }).catch(() => {});
      await eventually('enc gone', async () => ((await g.get(g.ksPath('enc'))) ? undefined : true), 30_000);
    }),
    g && (() => g.close()),
    work && (() => rm(work, { recursive: true, force: true })),
  );
});

test('SOPS: diff decrypts with the Kustomization\'s keys and masks values; build masks; without keys, keys only', async () => {
  const committed = await encrypt(secretYaml('first-value'));
  const rev = await g.push({ 'enc/secret.yaml': committed }, 'init');
  await g.createGitRepository('app', { interval: '1h' });
  await g.createKustomization('enc', { path: './enc', targetNamespace: g.ns.name, interval: '1h', decryption: { provider: 'sops', secretRef: { name: 'sops-keys' } } });
  await g.untilReady('enc', rev);
  const ns = g.ns.name;

  // The same plaintext, encrypted again (other ciphertext): no change.
  const same = await sluice(['diff', 'ks', 'enc', '-n', ns, '--path', await dirWith(await encrypt(secretYaml('first-value')))]);
  assert.equal(same.code, 0, `${same.stdout}\n${same.stderr}`);

  const changed = await sluice(['diff', 'ks', 'enc', '-n', ns, '--path', await dirWith(await encrypt(secretYaml('second-value')))]);
  assert.equal(changed.code, 1, changed.stderr);
  assert.match(changed.stdout, new RegExp(`^► Secret/${ns}/creds drifted$`, 'm'));
  assert.match(changed.stdout, /^-  password: "\*\*\* \(before\)"\n\+  password: "\*\*\* \(after\)"$/m);
  assert.doesNotMatch(changed.stdout, /first-value|second-value/);

  const built = await sluice(['build', 'ks', 'enc', '-n', ns, '--path', await dirWith(committed)]);
  assert.equal(built.code, 0, built.stderr);
  assert.match(built.stdout, /stringData:\n {2}password: "\*\*SOPS\*\*"\n/);
  assert.doesNotMatch(built.stdout, /first-value|^sops:/m);

  // A Kustomization file without decryption: no keys, so the Secret is compared by its keys only.
  const kfile = join(work, 'enc.yaml');
  await writeFile(kfile, `apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: enc, namespace: ${ns}}\nspec: {interval: 1h, path: ./enc, prune: true, targetNamespace: ${ns}, sourceRef: {kind: GitRepository, name: app}}\n`);
  const noKeys = await sluice(['diff', 'ks', 'enc', '-n', ns, '--path', await dirWith(await encrypt(secretYaml('second-value'))), '--kustomization-file', kfile]);
  assert.equal(noKeys.code, 0, `${noKeys.stdout}\n${noKeys.stderr}`);
});
