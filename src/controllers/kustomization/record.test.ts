import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KustomizationSpec } from '../../api/kustomization.ts';
import {
  commitOf,
  plan,
  previousHealthy,
  recordApplied,
  recordVerdict,
  rollbackEnabled,
  rollbackTarget,
  sameAttempt,
  specHash,
  triggerOf,
  type RevisionEntry,
  type RevisionRecord,
  type RollbackState,
} from './record.ts';
// test: no cluster

const spec = (path = './app') => ({ interval: '1m', path, prune: true, sourceRef: { kind: 'GitRepository', name: 'app' } }) as KustomizationSpec;
const A = `main@sha1:${'a'.repeat(40)}`;
const B = `main@sha1:${'b'.repeat(40)}`;
const C = `main@sha1:${'c'.repeat(40)}`;

const state = (phase: RollbackState['phase'], o: Partial<RollbackState> = {}): RollbackState => ({
  failedRevision: B,
  failedGeneration: 1,
  failure: 'health check failed',
  to: A,
  phase,
  since: '2026-01-01T00:00:00Z',
  ...o,
});

test('commitOf reads the commit of Flux revisions', () => {
  assert.equal(commitOf(A), 'a'.repeat(40));
  assert.equal(commitOf(`sha1:${'d'.repeat(40)}`), 'd'.repeat(40));
  assert.equal(commitOf(`v1.0.0@sha1:${'e'.repeat(40)}`), 'e'.repeat(40));
  assert.equal(commitOf('latest@sha256:abcd'), undefined);
  assert.equal(commitOf('previous'), undefined);
});

test('rollback is opt-in: the annotation, else the controller flag; the annotation can turn it off', () => {
  assert.equal(rollbackEnabled(undefined, false), false);
  assert.equal(rollbackEnabled({ 'sluice.dev/rollback': 'auto' }, false), true);
  assert.equal(rollbackEnabled(undefined, true), true);
  assert.equal(rollbackEnabled({ 'sluice.dev/rollback': 'disabled' }, true), false);
});

test('plan: a pin wins; a rolled-back attempt is held, resumed or stopped; anything new is normal', () => {
  const at = { revision: B, generation: 1 };
  assert.deepEqual(plan(at, A, { entries: [] }), { kind: 'pinned', revision: A });
  assert.deepEqual(plan(at, undefined, undefined), { kind: 'normal' });
  assert.equal(plan(at, undefined, { entries: [], rollback: state('done') }).kind, 'hold');
  assert.equal(plan(at, undefined, { entries: [], rollback: state('started') }).kind, 'resume');
  assert.equal(plan(at, undefined, { entries: [], rollback: state('failed') }).kind, 'stopped');
  // A new commit, a spec change, a reconcile request: the source's revision is tried again.
  assert.equal(plan({ revision: C, generation: 1 }, undefined, { entries: [], rollback: state('done') }).kind, 'normal');
  assert.equal(plan({ revision: B, generation: 2 }, undefined, { entries: [], rollback: state('failed') }).kind, 'normal');
  assert.equal(plan({ revision: B, generation: 1, requestedAt: 'now' }, undefined, { entries: [], rollback: state('done') }).kind, 'normal');
  assert.equal(sameAttempt(state('done', { failedRequestedAt: 'x' }), { revision: B, generation: 1, requestedAt: 'x' }), true);
});

test('rollbackTarget: the last healthy revision, unless it would build the same', () => {
  const at = { revision: B, generation: 1 };
  const rec: RevisionRecord = { entries: [], healthy: { revision: A, generation: 1, spec: spec() } };
  assert.equal((rollbackTarget(at, spec(), rec) as { revision: string }).revision, A);
  assert.match((rollbackTarget(at, spec(), { entries: [] }) as { none: string }).none, /no revision/);
  // The same revision with the same spec: nothing to roll back to.
  const same: RevisionRecord = { entries: [], healthy: { revision: B, generation: 1, spec: spec() } };
  assert.ok('none' in rollbackTarget(at, spec(), same));
  // The same revision with another spec (a spec change broke it): roll back to the old spec.
  assert.equal((rollbackTarget({ revision: B, generation: 2 }, spec('./other'), same) as { revision: string }).revision, B);
});

test('specHash ignores key order and undefined fields', () => {
  assert.equal(specHash({ ...spec(), force: undefined } as KustomizationSpec), specHash(spec()));
  const reordered = Object.fromEntries(Object.entries(spec()).reverse()) as KustomizationSpec;
  assert.equal(specHash(reordered), specHash(spec()));
  assert.notEqual(specHash(spec('./x')), specHash(spec()));
});

test('triggerOf names why a revision is applied', () => {
  assert.equal(triggerOf({ revision: A, generation: 1 }, {}), 'first');
  assert.equal(triggerOf({ revision: B, generation: 1 }, { lastAppliedRevision: A, observedGeneration: 1 }), 'commit');
  assert.equal(triggerOf({ revision: A, generation: 2 }, { lastAppliedRevision: A, observedGeneration: 1 }), 'spec');
  assert.equal(triggerOf({ revision: A, generation: 1, requestedAt: 't' }, { lastAppliedRevision: A, observedGeneration: 1 }), 'requestedAt');
});

test('the record changes only when something happened: a steady re-apply leaves it as it was', () => {
  const e = (revision: string, trigger: RevisionEntry['trigger'] = 'commit') => ({ revision, generation: 1, trigger, applied: 't1', inventory: 2 });
  let entries = recordApplied([], e(A, 'first'));
  entries = recordVerdict(entries, 't2');
  assert.equal(entries[0]!.healthy, 't2');
  assert.equal(recordApplied(entries, e(A)), entries, 'same revision: no new entry');
  assert.equal(recordVerdict(entries, 't3'), entries, 'already healthy: unchanged');
  entries = recordVerdict(recordApplied(entries, e(B)), 't4', 'timeout');
  assert.deepEqual([entries[0]!.revision, entries[0]!.failed, entries[0]!.reason], [B, 't4', 'timeout']);
  assert.equal(recordVerdict(entries, 't5', 'timeout after 5s'), entries, 'a retry of the failed revision writes nothing');
  entries = recordApplied(entries, e(A, 'rollback'));
  assert.equal(entries.length, 3, 'a rollback to A is an entry of its own');
  // Bounded.
  let many: RevisionEntry[] = [];
  for (let i = 0; i < 15; i++) many = recordApplied(many, e(`main@sha1:${String(i).padStart(40, '0')}`), 10);
  assert.equal(many.length, 10);
  assert.equal(previousHealthy(entries, B), A);
  assert.equal(previousHealthy(entries, A), undefined);
});
