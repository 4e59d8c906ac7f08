import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { adminClient, testKubeconfig } from '../harness.ts';
import { clusterModuleDir, ensureClusterBinary } from '../../src/dev/cluster/build.ts';
import { moduleVersions, kubeVersion, type ModuleVersions } from '../../src/dev/cluster/stamp.ts';
import { run } from '../../src/util/exec.ts';
import type { KubeClient } from '../../src/kube/client.ts';

// The local control plane says which Kubernetes it is: the version of the
// k8s.io/kubernetes module it is built from, as a release build says it.

interface Info {
  gitVersion: string;
  major: string;
  minor: string;
  gitCommit: string;
  gitTreeState: string;
  buildDate: string;
}

let admin: KubeClient;
let pinned: ModuleVersions;

before(async () => {
  admin = await adminClient();
  pinned = moduleVersions(await readFile(join(clusterModuleDir, 'go.mod'), 'utf8'));
});

after(() => admin?.close());

test("the API server's /version is the Kubernetes module's version", async () => {
  const v = await admin.request<Info>({ path: '/version' });
  assert.equal(v.gitVersion, pinned.kubernetes);
  const want = kubeVersion(pinned.kubernetes);
  assert.equal(v.major, want.gitMajor);
  assert.equal(v.minor, want.gitMinor);
  assert.equal(v.gitTreeState, 'clean');
  assert.doesNotMatch(v.gitCommit, /\$Format/);
  // The module's publication time, not the clock of the build.
  assert.match(v.buildDate, /^20\d\d-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
});

test('kubectl version shows it', async () => {
  const { stdout } = await run('kubectl', ['version', '--output=json', `--kubeconfig=${await testKubeconfig()}`]);
  const out = JSON.parse(stdout) as { serverVersion: Info };
  assert.equal(out.serverVersion.gitVersion, pinned.kubernetes);
});

test('sluice-kube version reports Kubernetes, etcd and KWOK as go.mod pins them', async () => {
  const { stdout } = await run(await ensureClusterBinary(), ['version']);
  assert.match(stdout, new RegExp(`^kubernetes ${pinned.kubernetes.replace(/\./g, '\\.')} \\(major 1, `, 'm'));
  assert.match(stdout, new RegExp(`^etcd ${pinned.etcd.replace(/\./g, '\\.')}$`, 'm'));
  assert.match(stdout, new RegExp(`^kwok ${pinned.kwok.replace(/\./g, '\\.')}$`, 'm'));
});
