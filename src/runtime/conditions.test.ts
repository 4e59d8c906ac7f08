// The condition types and reasons the controllers write must match the
// patterns the CRDs give status.conditions (Kubernetes' metav1.Condition
// patterns, as Flux's CRDs have them): the API server refuses a status with
// one that does not, and the reconcile's status write would fail.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONDITION_REASON_PATTERN, CONDITION_TYPE_PATTERN } from '../api/schema.ts';
import { Reason as HelmReleaseReason } from '../controllers/helmrelease/reasons.ts';
import { Reason as KustomizationReason } from '../controllers/kustomization/names.ts';
import { ConditionType as GitConditionType, Reason as GitReason } from '../source/git/types.ts';
import { Conditions } from './conditions.ts';

const typeRe = new RegExp(CONDITION_TYPE_PATTERN);
const reasonRe = new RegExp(CONDITION_REASON_PATTERN);

test('the Reason tables of the controllers match the reason pattern', () => {
  for (const [table, reasons] of Object.entries({ HelmReleaseReason, KustomizationReason, GitReason })) {
    for (const r of Object.values(reasons)) assert.match(r, reasonRe, `${table}: ${r}`);
  }
  for (const t of Object.values(GitConditionType)) assert.match(t, typeRe, t);
});

/** Every .ts file under src but the tests. */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [p] : [];
  });
}

test('the literal condition types and reasons in the code match the patterns', () => {
  const src = fileURLToPath(new URL('..', import.meta.url));
  let seen = 0;
  for (const file of sources(src)) {
    const text = readFileSync(file, 'utf8');
    // conds.set('Type', 'Status', 'Reason', ...) and failures built with a literal reason.
    for (const m of text.matchAll(/\.set\(\s*'([^']*)',\s*'(?:True|False|Unknown)',\s*(?:'([^']*)')?/g)) {
      assert.match(m[1]!, typeRe, `${file}: condition type '${m[1]}'`);
      if (m[2] !== undefined) assert.match(m[2], reasonRe, `${file}: reason '${m[2]}'`);
      seen++;
    }
    for (const m of text.matchAll(/new (?:Failure|StepFailure|ReconcileError)\(\s*'([^']*)'/g)) {
      assert.match(m[1]!, reasonRe, `${file}: reason '${m[1]}'`);
      seen++;
    }
  }
  assert.ok(seen > 20, `found ${seen} literal conditions and failures: the scan still finds them`);
});

test('Conditions.set writes conditions the CRD accepts', () => {
  const conds = new Conditions([], 3, '2026-01-01T00:00:00Z');
  conds.set('Ready', 'True', 'ReconciliationSucceeded', 'Applied revision: main@sha1:1');
  for (const c of conds.toArray()) {
    assert.match(c.type, typeRe);
    assert.match(c.reason, reasonRe);
  }
});
