import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kustomizationKind } from '../api/kustomization.ts';
import { markdown } from './diffapplier.ts';
import { humanDuration, lastSeen } from './events.ts';
import { dropDefaults } from './export.ts';
import { formatEntry } from './logs.ts';
import { countObjects, formatSize } from './stats.ts';
import { printTree, type TreeNode } from './tree.ts';
import { bashScript, fishScript } from './completion.ts';

test('logs: flux logs\' line, and the filters', () => {
  const line = JSON.stringify({ level: 'error', ts: '2026-12-07T10:00:00.000Z', msg: 'reconcile failed', logger: 'sluice', controller: 'kustomization', namespace: 'apps', name: 'web', error: 'boom' });
  assert.equal(formatEntry(line, {}), '2026-12-07T10:00:00.000Z error Kustomization/web.apps - reconcile failed boom');
  assert.equal(formatEntry(line, { kind: 'kustomization', name: 'WEB', namespace: 'apps', level: 'error' }), '2026-12-07T10:00:00.000Z error Kustomization/web.apps - reconcile failed boom');
  assert.equal(formatEntry(line, { kind: 'HelmRelease' }), undefined);
  assert.equal(formatEntry(line, { namespace: 'flux-system' }), undefined);
  assert.equal(formatEntry(line, { level: 'info' }), undefined);
  assert.equal(formatEntry(line, { sinceMs: Date.parse('2026-12-07T11:00:00Z') }), undefined);
  assert.equal(formatEntry('not json', {}), undefined);
  const own = JSON.stringify({ level: 'info', ts: 't', msg: 'controller running', logger: 'sluice' });
  assert.equal(formatEntry(own, {}), 't info sluice - controller running');
});

test('stats: counts and sizes as flux stats writes them', () => {
  const o = (suspend: boolean, ready: string, size?: number) => ({ apiVersion: 'x/v1', kind: 'K', metadata: {}, spec: { suspend }, status: { conditions: [{ type: 'Ready', status: ready }], ...(size ? { artifact: { size } } : {}) } });
  assert.deepEqual(countObjects([o(false, 'True', 2048), o(true, 'False'), o(false, 'False', 100)]), { total: 3, failing: 2, suspended: 1, size: 2148 });
  assert.equal(formatSize(0), '-');
  assert.equal(formatSize(512), '512 B');
  assert.equal(formatSize(2148), '2.1 KiB');
  assert.equal(formatSize(5 * 1024 * 1024), '5.0 MiB');
});

test('events: kubectl\'s durations and LAST SEEN', () => {
  assert.equal(humanDuration(45_000), '45s');
  assert.equal(humanDuration(330_000), '5m30s');
  assert.equal(humanDuration(12 * 60_000), '12m');
  assert.equal(humanDuration(200 * 60_000), '3h20m');
  assert.equal(humanDuration(30 * 3600_000), '30h');
  assert.equal(humanDuration(76 * 3600_000), '3d4h');
  const now = Date.parse('2026-12-07T10:10:00Z');
  assert.equal(lastSeen({ metadata: {}, apiVersion: 'v1', kind: 'Event', count: 4, firstTimestamp: '2026-12-07T10:00:00Z', lastTimestamp: '2026-12-07T10:09:30Z' }, now), '30s (x4 over 10m)');
});

test('export: schema defaults the server filled in are left out, set values kept', () => {
  const spec = { force: false, prune: true, interval: '1h', postBuild: { substituteFrom: [{ kind: 'ConfigMap', name: 'v', optional: false }] } };
  dropDefaults(spec, kustomizationKind.versions[0]!.spec as never);
  assert.deepEqual(spec, { prune: true, interval: '1h', postBuild: { substituteFrom: [{ kind: 'ConfigMap', name: 'v' }] } });
});

test('tree: box-drawing branches', () => {
  const n = (name: string, children: TreeNode[] = []): TreeNode => ({ ref: { namespace: 'ns', name, group: '', kind: 'ConfigMap' }, children });
  assert.equal(printTree(n('a', [n('b', [n('c')]), n('d')])), 'ConfigMap/ns/a\n├── ConfigMap/ns/b\n│   └── ConfigMap/ns/c\n└── ConfigMap/ns/d\n');
});

test('diff -o markdown: no changes, and a folded diff per object', () => {
  assert.equal(markdown('Kustomization ns/app', []), '### sluice diff: Kustomization ns/app\n\nNo changes.\n\n');
  const md = markdown('Kustomization ns/app', [{ subject: 'ConfigMap/ns/a', action: 'drifted', patch: '-  v: "1"\n+  v: "2"\n' }, { subject: 'ConfigMap/ns/b', action: 'deleted' }]);
  assert.match(md, /^1 changed, 1 to delete\.$/m);
  assert.match(md, /<details><summary><code>ConfigMap\/ns\/a<\/code><\/summary>\n\n```diff\n-  v: "1"\n\+  v: "2"\n```\n\n<\/details>/);
});

test('completion: the verbs and kinds in each shell\'s script', () => {
  assert.match(bashScript(['get', 'wait']), /compgen -W "get wait"/);
  assert.match(bashScript(['get']), /complete -o default -F _sluice sluice/);
  assert.match(fishScript(['get', 'tree']), /__fish_use_subcommand' -a 'get tree'/);
});
