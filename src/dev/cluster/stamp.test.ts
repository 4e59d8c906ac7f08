import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { kubeVersion, ldflags, moduleVersions } from './stamp.ts';
import { clusterModuleDir } from './build.ts';

const gomod = `module example.com/cluster

go 1.26.0

require (
	github.com/spf13/pflag v1.0.10
	go.etcd.io/etcd/server/v3 v3.6.8 // the embedded etcd
	k8s.io/kubernetes v1.36.3
	sigs.k8s.io/kwok v0.8.0
)

require k8s.io/client-go v0.36.3 // indirect

replace k8s.io/client-go => k8s.io/client-go v0.36.3
`;

test('moduleVersions reads require blocks, ignoring comments', () => {
  assert.deepEqual(moduleVersions(gomod), { kubernetes: 'v1.36.3', etcd: 'v3.6.8', kwok: 'v0.8.0' });
});

test('moduleVersions reads single-line requires, and a replacement by version wins', () => {
  const mod = [
    'module m',
    'require k8s.io/kubernetes v1.35.0',
    'require go.etcd.io/etcd/server/v3 v3.6.0',
    'require sigs.k8s.io/kwok v0.7.0',
    'replace (',
    '\tk8s.io/kubernetes => k8s.io/kubernetes v1.35.2',
    '\tsigs.k8s.io/kwok => ../kwok',
    ')',
  ].join('\n');
  // A replacement by a directory has no version: the required one stands.
  assert.deepEqual(moduleVersions(mod), { kubernetes: 'v1.35.2', etcd: 'v3.6.0', kwok: 'v0.7.0' });
});

test('moduleVersions names the module it misses', () => {
  assert.throws(() => moduleVersions('module m\nrequire k8s.io/kubernetes v1.36.3\n'), /does not require go\.etcd\.io\/etcd\/server\/v3/);
});

test("the project's own go.mod pins a Kubernetes release", () => {
  const v = moduleVersions(readFileSync(join(clusterModuleDir, 'go.mod'), 'utf8'));
  assert.match(v.kubernetes, /^v1\.\d+\.\d+$/);
  assert.equal(kubeVersion(v.kubernetes).gitMajor, '1');
});

test('kubeVersion derives major and minor as Kubernetes builds do', () => {
  const cases: Array<[string, string, string]> = [
    ['v1.36.3', '1', '36'],
    ['v1.30.0', '1', '30'],
    ['v1.37.0-rc.1', '1', '37+'],
    ['v1.37.0-alpha.0.123+abcdef', '1', '37+'],
  ];
  for (const [v, major, minor] of cases) assert.deepEqual(kubeVersion(v), { gitVersion: v, gitMajor: major, gitMinor: minor }, v);
  for (const bad of ['1.36.3', 'v1.36', 'v0.0.0-master+$Format:%H$x', 'latest']) {
    assert.throws(() => kubeVersion(bad), /is not a Kubernetes release version/, bad);
  }
});

test('ldflags stamp component-base, client-go and KWOK, and nothing from the clock', () => {
  const flags = ldflags({ versions: { kubernetes: 'v1.36.3', etcd: 'v3.6.8', kwok: 'v0.8.0' }, buildDate: '2026-07-22T18:07:38Z' });
  assert.deepEqual(flags.slice(0, 2), ['-s', '-w']);
  for (const pkg of ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version']) {
    assert.ok(flags.includes(`-X=${pkg}.gitVersion=v1.36.3`), pkg);
    assert.ok(flags.includes(`-X=${pkg}.gitMajor=1`), pkg);
    assert.ok(flags.includes(`-X=${pkg}.gitMinor=36`), pkg);
    assert.ok(flags.includes(`-X=${pkg}.gitTreeState=clean`), pkg);
    assert.ok(flags.includes(`-X=${pkg}.gitCommit=`), pkg);
    assert.ok(flags.includes(`-X=${pkg}.buildDate=2026-07-22T18:07:38Z`), pkg);
  }
  assert.ok(flags.includes('-X=sigs.k8s.io/kwok/pkg/consts.Version=0.8.0'));
  assert.ok(flags.includes('-X=sigs.k8s.io/kwok/pkg/consts.KubeVersion=1.36.3'));
  // Same input, same flags: the binary and its cache key are reproducible.
  assert.deepEqual(ldflags({ versions: { kubernetes: 'v1.36.3', etcd: 'v3.6.8', kwok: 'v0.8.0' }, buildDate: '2026-07-22T18:07:38Z' }), flags);
  // No value holds a space: go build splits -ldflags on spaces.
  for (const f of flags) assert.doesNotMatch(f, /\s/);
});
