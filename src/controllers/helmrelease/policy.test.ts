// Unit tests of the remediation rules (policy.ts) that need no cluster:
// when retries are exhausted, and whose strategy a failed release falls under.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { HelmReleaseRecord } from '../../helm/release.ts';
import { defaultToRetryOnFailure, exhausted, governingAction, retryOnFailure } from './policy.ts';
import type { ReleaseContext } from './context.ts';

const rel = (version: number, status: string) => ({ name: 'web', namespace: 'ns', version, info: { status } }) as HelmReleaseRecord;

describe('remediation policy', () => {
  test('retries are exhausted once failures pass them; negative retries never are', () => {
    assert.equal(exhausted(undefined, 0), false);
    assert.equal(exhausted(undefined, 1), true);
    assert.equal(exhausted({ retries: 2 }, 2), false);
    assert.equal(exhausted({ retries: 2 }, 3), true);
    assert.equal(exhausted({ retries: -1 }, 100), false);
  });

  test('a failed release with no earlier success is still an install', () => {
    assert.equal(governingAction(rel(2, 'failed'), [rel(1, 'failed'), rel(2, 'failed')]), 'install');
    assert.equal(governingAction(rel(3, 'failed'), [rel(1, 'superseded'), rel(2, 'failed'), rel(3, 'failed')]), 'upgrade');
    assert.equal(governingAction(rel(2, 'failed'), [rel(1, 'deployed'), rel(2, 'failed')]), 'upgrade');
  });
});

test('DefaultToRetryOnFailure: install and upgrade without a strategy retry; a strategy set still decides', () => {
  const cx = (s: Record<string, unknown>) => ({ spec: s }) as unknown as ReleaseContext;
  assert.equal(retryOnFailure(cx({}), 'install'), undefined, 'remediation by default');
  try {
    defaultToRetryOnFailure(true);
    assert.ok(retryOnFailure(cx({}), 'install'));
    assert.ok(retryOnFailure(cx({ upgrade: {} }), 'upgrade'));
    assert.equal(retryOnFailure(cx({ install: { strategy: { name: 'RemediateOnFailure' } } }), 'install'), undefined);
    assert.equal(retryOnFailure(cx({ upgrade: { strategy: { name: 'RetryOnFailure', retryInterval: '2m' } } }), 'upgrade')?.intervalMs, 120_000);
  } finally {
    defaultToRetryOnFailure(false);
  }
});
