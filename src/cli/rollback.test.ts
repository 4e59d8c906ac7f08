import assert from 'node:assert/strict';
import test from 'node:test';
import { resolvePin } from './rollback.ts';
import { helmTarget } from './rollbackhelm.ts';
import { kustomizationRows, table } from './history.ts';
import { parseControllerFlags } from './controllerflags.ts';
import type { RevisionEntry } from '../controllers/kustomization/record.ts';
import type { HelmReleaseRecord } from '../helm/release.ts';
// test: no cluster

const rev = (c: string) => `main@sha1:${c.repeat(40).slice(0, 40)}`;
const entry = (r: string, o: Partial<RevisionEntry> = {}): RevisionEntry => ({ revision: r, generation: 1, trigger: 'commit', applied: 't', inventory: 2, healthy: 't', ...o });
const entries = [entry(rev('c')), entry(rev('b'), { healthy: undefined, failed: 't', reason: 'timeout' }), entry(rev('a'))];

test('--to: previous, a revision, a short commit, a full revision; errors say what to do', () => {
  assert.deepEqual(resolvePin('previous', entries, rev('c')), { revision: rev('a') }, 'the failed one is skipped');
  assert.deepEqual(resolvePin(rev('b'), entries, rev('c')), { revision: rev('b') });
  assert.deepEqual(resolvePin('aaaaaaa', entries, rev('c')), { revision: rev('a') });
  assert.deepEqual(resolvePin(rev('d'), entries, rev('c')), { revision: rev('d') }, 'any commit the mirror may still hold');
  assert.match((resolvePin('previous', [entry(rev('c'))], rev('c')) as { error: string }).error, /no healthy revision/);
  assert.match((resolvePin('v1.2', entries, rev('c')) as { error: string }).error, /sluice history/);
});

test('helm --to: N, or the newest successful revision before the current one', () => {
  const rel = (version: number, status: HelmReleaseRecord['info']['status']) => ({ name: 'r', namespace: 'n', version, info: { status } }) as HelmReleaseRecord;
  const releases = [rel(1, 'superseded'), rel(2, 'failed'), rel(3, 'deployed')];
  assert.equal((helmTarget(releases, undefined) as HelmReleaseRecord).version, 1);
  assert.equal((helmTarget(releases, '2') as HelmReleaseRecord).version, 2);
  assert.match((helmTarget(releases, '3') as { error: string }).error, /current/);
  assert.match((helmTarget(releases, '9') as { error: string }).error, /1, 2, 3/);
  assert.match((helmTarget(releases, 'x') as { error: string }).error, /number/);
});

test('history rows: the running revision marked, failures with their reason', () => {
  const rows = kustomizationRows(entries, rev('c'));
  assert.equal(rows[0]![0], `*main@sha1:${'c'.repeat(12)}`);
  assert.equal(rows[1]![3], 'Failed');
  assert.equal(rows[1]![5], 't: timeout');
  const out = table(['A', 'B'], [['x', 'y'], ['longer', 'z']]);
  assert.equal(out, 'A       B\nx       y\nlonger  z\n');
});

test('--auto-rollback: off by default', () => {
  assert.equal(parseControllerFlags([], {}).settings!.autoRollback, false);
  assert.equal(parseControllerFlags(['--auto-rollback'], {}).settings!.autoRollback, true);
});
