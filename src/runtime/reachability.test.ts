import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Reachability, UnreachableError } from './reachability.ts';
import type { KubeClient } from '../kube/client.ts';
import { KubeApiError } from '../kube/errors.ts';

// The remote-cluster gate: a dead cluster is probed by one caller at a time
// and at most once per freshMs; everyone else fails at once with its reason.

function fakeClient(behaviour: () => Promise<unknown>): KubeClient & { calls: number } {
  const c = { calls: 0, request: async () => (c.calls++, behaviour()) };
  return c as unknown as KubeClient & { calls: number };
}

test('a cluster that answers passes, and is probed once per freshMs', async () => {
  let now = 0;
  const r = new Reachability({ freshMs: 1_000, now: () => now });
  const c = fakeClient(async () => ({ major: '1' }));
  await r.check('k', c);
  await r.check('k', c);
  assert.equal(c.calls, 1);
  now = 1_500;
  await r.check('k', c);
  assert.equal(c.calls, 2);
});

test('an HTTP refusal still means reachable', async () => {
  const r = new Reachability();
  const c = fakeClient(async () => {
    throw new KubeApiError(401, 'Unauthorized', 'GET /version: Unauthorized');
  });
  await r.check('k', c);
});

test('a dead cluster: one probe, the others fail at once with its reason', async () => {
  let now = 0;
  const r = new Reachability({ freshMs: 1_000, now: () => now });
  let release!: () => void;
  const c = fakeClient(
    () =>
      new Promise((_, reject) => {
        release = () => reject(new Error('GET /version: no answer from https://127.0.0.1:1/ within 5000 ms'));
      }),
  );
  // The first caller probes; one arriving meanwhile waits for it (the cluster was fine before).
  const first = r.check('k', c);
  const second = r.check('k', c);
  await new Promise((res) => setImmediate(res));
  release();
  await assert.rejects(first, (e: Error) => e instanceof UnreachableError && /no answer/.test(e.message));
  await assert.rejects(second, UnreachableError);
  assert.equal(c.calls, 1);
  // Within freshMs: no probe, at once.
  await assert.rejects(r.check('k', c), UnreachableError);
  assert.equal(c.calls, 1);
  // Later: one caller probes again; a caller arriving meanwhile fails at once, not waiting.
  now = 2_000;
  const prober = r.check('k', c);
  const t = Date.now();
  await assert.rejects(r.check('k', c), UnreachableError);
  assert.ok(Date.now() - t < 50);
  await new Promise((res) => setImmediate(res));
  release();
  await assert.rejects(prober, UnreachableError);
  assert.equal(c.calls, 2);
});

test('a dead cluster that comes back passes after its next probe', async () => {
  let now = 0;
  let up = false;
  const r = new Reachability({ freshMs: 1_000, now: () => now });
  const c = fakeClient(async () => {
    if (!up) throw new Error('connect ECONNREFUSED');
    return {};
  });
  await assert.rejects(r.check('k', c), /ECONNREFUSED/);
  up = true;
  now = 1_001;
  await r.check('k', c);
});

test('a cluster in use that dies is noticed in the background, and onDown cuts what is under way', async () => {
  let up = true;
  const r = new Reachability({ heartbeatMs: 50, probeTimeoutMs: 100 });
  const c = fakeClient(async () => {
    if (!up) throw new Error('connect ECONNREFUSED');
    return {};
  });
  await r.check('k', c);
  let downs = 0;
  r.watch('k', c, () => downs++);
  await new Promise((res) => setTimeout(res, 120));
  assert.equal(downs, 0);
  up = false;
  await new Promise((res) => setTimeout(res, 200));
  r.stop();
  assert.equal(downs, 1, 'onDown once, not per probe');
  await assert.rejects(r.check('k', c), /ECONNREFUSED/);
});
