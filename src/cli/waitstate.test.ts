import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../kube/object.ts';
import { matchesRevision, waitState } from './waitstate.ts';

const SHA = '0123456789abcdef0123456789abcdef01234567';

test('matchesRevision: whole revisions, bare SHAs and prefixes, chart versions from Git', () => {
  assert.ok(matchesRevision(`main@sha1:${SHA}`, `main@sha1:${SHA}`));
  assert.ok(matchesRevision(`main@sha1:${SHA}`, SHA));
  assert.ok(matchesRevision(`main@sha1:${SHA}`, SHA.slice(0, 7)));
  assert.ok(matchesRevision(`main@sha1:${SHA}`, `sha1:${SHA}`));
  assert.ok(matchesRevision(`1.2.0+${SHA.slice(0, 12)}`, SHA));
  assert.ok(matchesRevision('1.2.0', '1.2.0'));
  assert.ok(!matchesRevision(`main@sha1:${SHA}`, 'abcdef0'));
  assert.ok(!matchesRevision(`main@sha1:${SHA}`, SHA.slice(0, 6)));
  assert.ok(!matchesRevision(`main@sha1:${SHA}`, `other@sha1:${SHA}`));
  assert.ok(!matchesRevision(undefined, SHA));
});

const ks = (status: Record<string, unknown>, generation = 2): KubeObject => ({
  apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
  kind: 'Kustomization',
  metadata: { name: 'app', namespace: 'ns', generation },
  spec: {},
  status: { observedGeneration: 2, ...status },
});
const cond = (status: string, reason: string, message = '') => [{ type: 'Ready', status, reason, message }];

test('waitState: ready, failed, or waiting with a summary', () => {
  const rev = `main@sha1:${SHA}`;
  assert.deepEqual(waitState(ks({ lastAppliedRevision: rev, lastAttemptedRevision: rev, conditions: cond('True', 'ReconciliationSucceeded') }), SHA), { phase: 'ready', revision: rev });
  const failed = waitState(ks({ lastAppliedRevision: 'main@sha1:old', lastAttemptedRevision: rev, conditions: cond('False', 'HealthCheckFailed', 'timeout') }), SHA);
  assert.deepEqual(failed, { phase: 'failed', revision: rev, reason: 'HealthCheckFailed', message: 'timeout' });
  const dep = waitState(ks({ lastAttemptedRevision: rev, conditions: cond('False', 'DependencyNotReady') }), SHA);
  assert.equal(dep.phase, 'waiting');
  const older = waitState(ks({ lastAppliedRevision: 'main@sha1:1111111111', conditions: cond('True', 'ReconciliationSucceeded') }), SHA);
  assert.deepEqual(older, { phase: 'waiting', summary: 'Ready True (ReconciliationSucceeded), last applied main@sha1:1111111111' });
  const stale = waitState(ks({ lastAppliedRevision: rev, conditions: cond('True', 'ReconciliationSucceeded') }, 3), SHA);
  assert.equal(stale.phase, 'waiting');
  const suspended = waitState({ ...ks({ lastAppliedRevision: 'main@sha1:1111111111', conditions: cond('True', 'ReconciliationSucceeded') }), spec: { suspend: true } }, SHA);
  assert.equal(suspended.phase, 'failed');
  assert.match((suspended as { message: string }).message, /Kustomization is suspended: resume it \(sluice resume ks app -n ns\) to apply 0123/);
});

test('waitState: a HelmRelease by its chart version', () => {
  const hr: KubeObject = {
    apiVersion: 'helm.toolkit.fluxcd.io/v2',
    kind: 'HelmRelease',
    metadata: { name: 'r', namespace: 'ns', generation: 1 },
    status: { observedGeneration: 1, lastAttemptedRevision: `0.1.0+${SHA.slice(0, 12)}`, history: [{ chartVersion: `0.1.0+${SHA.slice(0, 12)}` }], conditions: cond('True', 'UpgradeSucceeded') },
  };
  assert.equal(waitState(hr, SHA).phase, 'ready');
  assert.equal(waitState(hr, '0.2.0').phase, 'waiting');
});
