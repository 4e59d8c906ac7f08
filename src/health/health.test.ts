// Table tests for computeHealth. Every testdata/*.yaml file is a list of
// cases { name, object, expect: { status, message?, reason? } }; each case
// runs as its own subtest. `message` is a substring of the result's message.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { computeHealth } from './index.ts';
import type { HealthStatus, KubeObject } from './types.ts';

const STATUSES: readonly HealthStatus[] = ['InProgress', 'Failed', 'Current', 'Terminating', 'NotFound', 'Unknown'];
const dir = new URL('./testdata/', import.meta.url);

interface Case {
  name: string;
  object: KubeObject;
  expect: { status: HealthStatus; message?: string; reason?: string };
}

/** Checks a case's shape strictly, so a typo cannot turn a case into one that always passes. */
function toCase(raw: unknown, where: string): Case {
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  assert.ok(isObj(raw), `${where}: a case must be a mapping`);
  const extra = Object.keys(raw).filter((k) => !['name', 'object', 'expect'].includes(k));
  assert.deepEqual(extra, [], `${where}: unknown keys`);
  assert.ok(typeof raw.name === 'string' && raw.name.trim() !== '', `${where}: name must be a non-empty string`);
  assert.ok(isObj(raw.object), `${where} (${raw.name}): object must be a mapping`);
  const expect = raw.expect;
  assert.ok(isObj(expect), `${where} (${raw.name}): expect must be a mapping`);
  const extraExpect = Object.keys(expect).filter((k) => !['status', 'message', 'reason'].includes(k));
  assert.deepEqual(extraExpect, [], `${where} (${raw.name}): unknown keys in expect`);
  assert.ok(STATUSES.includes(expect.status as HealthStatus), `${where} (${raw.name}): bad expect.status ${String(expect.status)}`);
  for (const key of ['message', 'reason'] as const) {
    if (key in expect) {
      assert.ok(typeof expect[key] === 'string' && expect[key] !== '', `${where} (${raw.name}): expect.${key} must be a non-empty string`);
    }
  }
  return raw as unknown as Case;
}

function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null) {
    for (const child of Object.values(v)) deepFreeze(child);
    Object.freeze(v);
  }
  return v;
}

const files = readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort();
const loaded = files.map((file) => {
  const doc: unknown = parse(readFileSync(new URL(file, dir), 'utf8'));
  assert.ok(Array.isArray(doc) && doc.length > 0, `${file}: expected a non-empty list of cases`);
  return { file, cases: doc.map((c, i) => toCase(c, `${file}[${i}]`)) };
});

test('testdata has a file for every kind family and enough cases', () => {
  for (const family of [
    'generic', 'flux', 'deployment', 'statefulset', 'daemonset', 'replicaset',
    'job', 'pod', 'pvc', 'service', 'crd', 'pdb',
  ]) {
    assert.ok(files.includes(`${family}.yaml`), `missing testdata/${family}.yaml`);
  }
  const total = loaded.reduce((n, f) => n + f.cases.length, 0);
  assert.ok(total >= 50, `only ${total} cases`);
  const names = loaded.flatMap((f) => f.cases.map((c) => `${f.file}: ${c.name}`));
  assert.equal(new Set(names).size, names.length, 'case names must be unique within a file');
});

for (const { file, cases } of loaded) {
  describe(file, () => {
    for (const c of cases) {
      test(c.name, () => {
        // Frozen, so a rule that mutates its input throws (and is reported as Unknown).
        const obj = deepFreeze(structuredClone(c.object));
        const got = computeHealth(obj);
        const detail = `got ${got.status}: ${got.message}`;
        assert.equal(got.status, c.expect.status, detail);
        assert.ok(got.message.length > 0, 'message must not be empty');
        if (c.expect.message !== undefined) {
          assert.ok(got.message.includes(c.expect.message), `message should contain ${JSON.stringify(c.expect.message)}; ${detail}`);
        }
        if (c.expect.reason !== undefined) assert.equal(got.reason, c.expect.reason, detail);
        // Pure: the same input gives the same answer.
        assert.deepEqual(computeHealth(obj), got);
      });
    }
  });
}

test('computeHealth never throws on malformed input', () => {
  const odd: unknown[] = [
    null,
    'Deployment',
    {},
    { apiVersion: 'apps/v1', kind: 'Deployment' },
    { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x' }, status: 'broken' },
    { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x' }, status: { phase: 'Running', containerStatuses: [null, 3, { name: 'a', state: 'odd' }] } },
    { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x' }, status: { conditions: 'nope' } },
  ];
  for (const o of odd) {
    const r = computeHealth(o as KubeObject);
    assert.ok(STATUSES.includes(r.status), JSON.stringify(o));
    assert.ok(r.message.length > 0);
  }
  assert.equal(computeHealth(null as unknown as KubeObject).status, 'Unknown');
});
