import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../kube/object.ts';
import { kindByName } from './args.ts';
import {
  shortDigests,
  age,
  formatTable,
  header,
  matchesStatus,
  parseStatusSelector,
  readyOf,
  reconcileOutcome,
  revisionOf,
  row,
  sortObjects,
  sourceOf,
  useColor,
} from './rows.ts';

const git = kindByName('GitRepository')!;
const ks = kindByName('Kustomization')!;
const hr = kindByName('HelmRelease')!;
const chart = kindByName('HelmChart')!;

function obj(name: string, opts: { ns?: string; ready?: 'True' | 'False' | 'Unknown'; message?: string; status?: Record<string, unknown>; spec?: Record<string, unknown>; generation?: number } = {}): KubeObject {
  const conditions = opts.ready ? [{ type: 'Ready', status: opts.ready, reason: 'R', message: opts.message ?? '' }] : undefined;
  return {
    apiVersion: 'x/v1',
    kind: 'X',
    metadata: { name, namespace: opts.ns ?? 'ns', generation: opts.generation, creationTimestamp: '2026-01-01T00:00:00Z' },
    spec: opts.spec ?? {},
    status: { ...(conditions ? { conditions } : {}), ...opts.status },
  };
}

test('revisionOf: the artifact for sources, the last applied for Kustomizations, the chart version for HelmReleases', () => {
  assert.equal(revisionOf(git, obj('a', { status: { artifact: { revision: 'main@sha1:abc' } } })), 'main@sha1:abc');
  assert.equal(revisionOf(chart, obj('a', { status: { artifact: { revision: '1.2.3' } } })), '1.2.3');
  assert.equal(revisionOf(git, obj('a')), '');
  assert.equal(revisionOf(ks, obj('a', { status: { lastAppliedRevision: 'main@sha1:1', lastAttemptedRevision: 'main@sha1:2' } })), 'main@sha1:1');
  assert.equal(revisionOf(hr, obj('a', { status: { history: [{ chartVersion: '2.0.0' }, { chartVersion: '1.0.0' }], lastAttemptedRevision: '3.0.0' } })), '2.0.0');
  assert.equal(revisionOf(hr, obj('a', { status: { lastAttemptedRevision: '3.0.0' } })), '3.0.0');
});

test('readyOf: the Ready condition on one line, Unknown before any reconcile', () => {
  assert.deepEqual(readyOf(obj('a', { ready: 'False', message: 'build failed:\n  bad\n' })), { status: 'False', message: 'build failed: bad' });
  assert.deepEqual(readyOf(obj('a')), { status: 'Unknown', message: 'waiting to be reconciled' });
});

test('rows: Flux columns, NAMESPACE with -A, kind/name for get all, wide adds SOURCE and AGE', () => {
  const o = obj('app', { ready: 'True', message: 'Applied revision: main@sha1:1', status: { lastAppliedRevision: 'main@sha1:1' }, spec: { suspend: true, sourceRef: { kind: 'GitRepository', name: 'repo' }, path: './apps' } });
  assert.deepEqual(header({}), ['NAME', 'REVISION', 'SUSPENDED', 'READY', 'MESSAGE']);
  assert.deepEqual(row(ks, o, {}), ['app', 'main@sha1:1', 'True', 'True', 'Applied revision: main@sha1:1']);
  assert.deepEqual(header({ allNamespaces: true }), ['NAMESPACE', 'NAME', 'REVISION', 'SUSPENDED', 'READY', 'MESSAGE']);
  assert.deepEqual(row(ks, o, { allNamespaces: true, kindPrefix: true }).slice(0, 2), ['ns', 'kustomization/app']);
  const now = Date.parse('2026-01-01T03:00:00Z');
  assert.deepEqual(row(ks, o, { wide: true, now }).slice(4), ['GitRepository/repo ./apps', '3h', 'Applied revision: main@sha1:1']);
  assert.equal(row(git, obj('g', { spec: { url: 'https://example.com/r.git' } }), { wide: true, now })[4], 'https://example.com/r.git');
});

test('sourceOf names a HelmRelease chart from its template or chartRef', () => {
  const tpl = obj('r', { spec: { chart: { spec: { chart: 'podinfo', version: '6.x', sourceRef: { kind: 'HelmRepository', name: 'repo', namespace: 'flux' } } } } });
  assert.equal(sourceOf(hr, tpl), 'HelmRepository/flux/repo podinfo@6.x');
  assert.equal(sourceOf(hr, obj('r', { spec: { chartRef: { kind: 'OCIRepository', name: 'oci' } } })), 'OCIRepository/oci');
});

test('age is in kubectl units', () => {
  const t0 = Date.parse('2026-01-01T00:00:00Z');
  assert.equal(age('2026-01-01T00:00:00Z', t0 + 45_000), '45s');
  assert.equal(age('2026-01-01T00:00:00Z', t0 + 30 * 60_000), '30m');
  assert.equal(age('2026-01-01T00:00:00Z', t0 + 5 * 3600_000), '5h');
  assert.equal(age('2026-01-01T00:00:00Z', t0 + 5 * 86400_000), '5d');
  assert.equal(age(undefined, t0), '');
});

test('sortObjects puts the ones not Ready first, then namespace and name', () => {
  const sorted = sortObjects([
    obj('b', { ready: 'True' }),
    obj('z', { ready: 'False' }),
    obj('a', { ready: 'True', ns: 'other' }),
    obj('a', { ready: 'True' }),
    obj('c'),
  ]);
  assert.deepEqual(
    sorted.map((o) => `${o.metadata.namespace}/${o.metadata.name}`),
    ['ns/c', 'ns/z', 'ns/a', 'ns/b', 'other/a'],
  );
});

test('formatTable aligns columns, and colours only when asked, without breaking alignment', () => {
  const head = header({});
  const rows = [
    ['a', 'main@sha1:123', 'False', 'True', 'ok'],
    ['longer-name', '', 'True', 'False', 'it broke'],
  ];
  const plain = formatTable(head, rows, false);
  assert.equal(
    plain,
    'NAME          REVISION        SUSPENDED   READY   MESSAGE\n' +
      'a             main@sha1:123   False       True    ok\n' +
      'longer-name                   True        False   it broke\n',
  );
  const coloured = formatTable(head, rows, true);
  assert.ok(coloured.includes('\x1b[32mTrue\x1b[0m'));
  assert.ok(coloured.includes('\x1b[31mFalse\x1b[0m'));
  assert.equal(coloured.replace(/\x1b\[\d+m/g, ''), plain);
});

test('useColor: a terminal, and no NO_COLOR', () => {
  assert.equal(useColor({ isTTY: true }, {}), true);
  assert.equal(useColor({ isTTY: true }, { NO_COLOR: '1' }), false);
  assert.equal(useColor({ isTTY: false }, {}), false);
  assert.equal(useColor({}, {}), false);
});

test('status selector', () => {
  const sel = parseStatusSelector('ready=false');
  assert.deepEqual(sel, { type: 'ready', status: 'false' });
  assert.equal(matchesStatus(obj('a', { ready: 'False' }), sel), true);
  assert.equal(matchesStatus(obj('a', { ready: 'True' }), sel), false);
  assert.equal(matchesStatus(obj('a'), parseStatusSelector('Ready=Unknown')), true);
  assert.equal(matchesStatus(obj('a', { ready: 'True' }), parseStatusSelector('reconciling=true')), false);
  assert.throws(() => parseStatusSelector('ready'), /invalid --status-selector "ready"/);
  assert.throws(() => parseStatusSelector('ready=yes'), /invalid --status-selector/);
});

test('reconcileOutcome waits for the handled request, the current generation and a settled Ready', () => {
  const at = '2026-01-01T00:00:00.123Z';
  const base = { lastAppliedRevision: 'main@sha1:1', observedGeneration: 2 };
  assert.deepEqual(reconcileOutcome(ks, obj('a', { ready: 'True', generation: 2, status: base }), at), { done: false });
  const handled = { ...base, lastHandledReconcileAt: at };
  assert.deepEqual(reconcileOutcome(ks, obj('a', { ready: 'Unknown', generation: 2, status: handled }), at), { done: false });
  assert.deepEqual(reconcileOutcome(ks, obj('a', { ready: 'True', generation: 3, status: handled }), at), { done: false });
  assert.deepEqual(reconcileOutcome(ks, obj('a', { ready: 'True', message: 'ok', generation: 2, status: handled }), at), {
    done: true,
    ready: true,
    message: 'ok',
    revision: 'main@sha1:1',
  });
  assert.deepEqual(reconcileOutcome(ks, obj('a', { ready: 'False', message: 'bad', generation: 2, status: handled }), at), {
    done: true,
    ready: false,
    message: 'bad',
    revision: 'main@sha1:1',
  });
});

test('tables cut digests to 8 hex digits, in the revision and the message, as flux does', () => {
  const rev = 'main@sha1:0123456789abcdef0123456789abcdef01234567';
  const o = obj('app', { ready: 'True', message: `Applied revision: ${rev}`, status: { lastAppliedRevision: rev } });
  assert.deepEqual(row(ks, o, {}), ['app', 'main@sha1:01234567', 'False', 'True', 'Applied revision: main@sha1:01234567']);
  assert.equal(shortDigests('v1.0.0@sha256:' + 'a'.repeat(64)), 'v1.0.0@sha256:aaaaaaaa');
  assert.equal(shortDigests('no digest here'), 'no digest here');
});

