import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import { sameJson } from './status.ts';

/** The definition sameJson must agree with: a JSON round trip, then a deep comparison. */
const byRoundTrip = (a: unknown, b: unknown) => isDeepStrictEqual(JSON.parse(JSON.stringify(a)), JSON.parse(JSON.stringify(b)));

const status = () => ({
  observedGeneration: 3,
  lastAppliedRevision: 'main@sha1:1',
  conditions: [{ type: 'Ready', status: 'True', reason: 'ReconciliationSucceeded', message: 'Applied revision: main@sha1:1', lastTransitionTime: '2025-01-01T00:00:00Z' }],
  inventory: { entries: [{ id: 'ns_a__ConfigMap', v: 'v1' }] },
  history: [{ digest: 'sha256:x', totalReconciliations: 1, metadata: { revision: 'main@sha1:1' } }],
});

test('sameJson agrees with a JSON round trip and a deep comparison', () => {
  const date = new Date('2025-01-01T00:00:00Z');
  const cases: Array<[string, unknown, unknown]> = [
    ['equal statuses', status(), status()],
    ['key order', { a: 1, b: 2 }, { b: 2, a: 1 }],
    ['undefined value versus absent key', { ...status(), lastHandledReconcileAt: undefined }, status()],
    ['undefined on both sides', { a: undefined }, { b: undefined }],
    ['a changed message', status(), { ...status(), conditions: [{ ...status().conditions[0]!, message: 'other' }] }],
    ['a new key', status(), { ...status(), lastHandledReconcileAt: 'now' }],
    ['a removed key', { ...status(), lastHandledReconcileAt: 'now' }, status()],
    ['null versus absent', { a: null }, {}],
    ['null versus undefined', { a: null }, { a: undefined }],
    ['longer array', [1, 2], [1, 2, 3]],
    ['undefined in an array is null', [undefined, 1], [null, 1]],
    ['function in an array is null', [() => 1], [null]],
    ['function value is omitted', { a: () => 1 }, {}],
    ['NaN and Infinity are null', [NaN, Infinity], [null, null]],
    ['minus zero is zero', { a: -0 }, { a: 0 }],
    ['number versus string', { a: 1 }, { a: '1' }],
    ['boolean versus string', { a: true }, { a: 'true' }],
    ['array versus object', { a: [] }, { a: {} }],
    ['array versus object with index keys', ['x'], { 0: 'x' }],
    ['Date versus its ISO string', { t: date }, { t: '2025-01-01T00:00:00.000Z' }],
    ['Date versus another string', { t: date }, { t: '2025-01-01' }],
    ['nested objects differ deep down', { a: { b: { c: [1, { d: 'x' }] } } }, { a: { b: { c: [1, { d: 'y' }] } } }],
    ['nested objects equal deep down', { a: { b: { c: [1, { d: 'x' }] } } }, { a: { b: { c: [1, { d: 'x', e: undefined }] } } }],
    ['empty objects', {}, {}],
    ['object versus null', {}, null],
    ['strings', 'a', 'a'],
    ['different strings', 'a', 'b'],
  ];
  for (const [what, a, b] of cases) {
    const expected = byRoundTrip(a, b);
    assert.equal(sameJson(a, b), expected, `${what}: expected ${expected}`);
    assert.equal(sameJson(b, a), expected, `${what} (reversed): expected ${expected}`);
  }
});

test('mergePatch: a key gone from a nested map is sent as null; lists are replaced whole', async () => {
  const { mergePatch } = await import('./status.ts');
  const prev = { artifact: { revision: 'a', metadata: { 'sluice.dev/skipped': '[...]', keep: 'x' } }, conditions: [{ type: 'Ready' }], gone: 1 };
  const next = { artifact: { revision: 'b', metadata: { keep: 'x' } }, conditions: [{ type: 'Ready' }, { type: 'Reconciling' }] };
  assert.deepEqual(mergePatch(prev, next), {
    gone: null,
    artifact: { revision: 'b', metadata: { 'sluice.dev/skipped': null, keep: 'x' } },
    conditions: [{ type: 'Ready' }, { type: 'Reconciling' }],
  });
  assert.deepEqual(mergePatch({ a: { b: 1 } }, { a: 'scalar now' }), { a: 'scalar now' });
});
