import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { httpsUrl, NetworkError, parseNetwork, selectOrganizations, sshUrl } from './network.ts';
import { projectRoot } from '../util/paths.ts';

// A copy of the network.yaml shape Bevel uses (shared/fixtures/bevel).
const fixture = readFileSync(join(projectRoot, 'src', 'bootstrap', 'testdata', 'network.yaml'), 'utf8');

test("Bevel's network.yaml: each organization's cluster and repository, Flux's names", () => {
  const net = parseNetwork(fixture, 'network.yaml', '/cfg');
  assert.equal(net.envType, 'dev');
  const [sc, carrier] = net.organizations;
  assert.deepEqual(sc, {
    index: 0,
    name: 'supplychain',
    kubeconfig: '/cfg/kube/supplychain.yaml',
    context: 'cluster-supplychain',
    namespace: 'flux-dev',
    protocol: 'https',
    url: 'https://git.example.test/ops/network.git',
    branch: 'develop',
    releaseDir: 'releases/dev',
    username: 'deployer',
    password: 'not-a-real-token',
    email: 'deployer@example.test',
    privateKey: undefined,
  });
  assert.equal(carrier!.protocol, 'ssh');
  assert.equal(carrier!.url, 'ssh://git@git.example.test:2222/ops/carrier.git');
  assert.equal(carrier!.privateKey, '/cfg/keys/gitops');
  assert.equal(carrier!.password, undefined, 'an SSH organization carries no HTTPS password');
  assert.equal(carrier!.releaseDir, 'releases/carrier');
});

test('the older field names: git_ssh, git_push_url; scp-style SSH URLs', () => {
  assert.equal(sshUrl('git@github.com:org/repo.git'), 'ssh://git@github.com/org/repo.git');
  assert.equal(sshUrl('ssh://git@host:2222/x.git'), 'ssh://git@host:2222/x.git');
  assert.equal(httpsUrl('github.com/org/repo.git'), 'https://github.com/org/repo.git');
  const older = fixture
    .replace('git_url: https://git.example.test/ops/network.git', 'git_push_url: git.example.test/ops/network.git')
    .replace('git_url: ssh://git@git.example.test:2222/ops/carrier.git', 'git_ssh: git@git.example.test:ops/carrier.git');
  const net = parseNetwork(older, 'network.yaml', '/cfg');
  assert.equal(net.organizations[0]!.url, 'https://git.example.test/ops/network.git');
  assert.equal(net.organizations[1]!.url, 'ssh://git@git.example.test/ops/carrier.git');
});

const cases: Array<[string, (t: string) => string, RegExp]> = [
  ['bad YAML', (t) => t.replace('    type: dev', '    type: [dev'), /^network\.yaml:\d+:\d+: not valid YAML/],
  ['no env.type', (t) => t.replace('    type: dev                 #', '    kind: dev                 #'), /^network\.yaml:\d+: network\.env\.type: missing/],
  ['no private key', (t) => t.replace('        private_key: ./keys/gitops', ''), /^network\.yaml:\d+: organizations\[1\] carrier: gitops\.private_key: missing/],
  ['no password', (t) => t.replace('        password: not-a-real-token\n', ''), /^network\.yaml:\d+: organizations\[0\] supplychain: gitops\.password: missing/],
  ['bad protocol', (t) => t.replace('git_protocol: https', 'git_protocol: ftp'), /^network\.yaml:2\d: organizations\[0\] supplychain: gitops\.git_protocol: "ftp": must be https or ssh/],
  ['no branch', (t) => t.replace('        branch: main\n', ''), /organizations\[1\] carrier: gitops\.branch: missing/],
  ['release_dir escaping', (t) => t.replace('release_dir: releases/dev', 'release_dir: ../elsewhere'), /organizations\[0\] supplychain: gitops\.release_dir: "\.\.\/elsewhere" leaves the repository/],
  ['no gitops', (t) => t.replace(/      gitops:\n        git_protocol: ssh[\s\S]*$/, ''), /organizations\[1\] carrier: gitops: missing/],
];
for (const [name, edit, expected] of cases) {
  test(`a bad network.yaml names the file, line, organization and field: ${name}`, () => {
    assert.throws(() => parseNetwork(edit(fixture), 'network.yaml', '/cfg'), (err: Error) => {
      assert.ok(err instanceof NetworkError);
      assert.match(err.message, expected);
      assert.ok(!err.message.includes('not-a-real-token'), 'never the password');
      return true;
    });
  });
}

test('--org picks organizations; an unknown one lists the known', () => {
  const net = parseNetwork(fixture, 'network.yaml', '/cfg');
  assert.deepEqual(selectOrganizations(net, ['carrier']).map((o) => o.name), ['carrier']);
  assert.equal(selectOrganizations(net, []).length, 2);
  assert.throws(() => selectOrganizations(net, ['manufacturer']), /--org manufacturer: no such organization \(the network has supplychain, carrier\)/);
});
