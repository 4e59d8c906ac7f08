import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkSingleWriter, parseAuditLog, type AuditEvent } from './audit.ts';
// test: no cluster

// The two-writers check of leader.test.ts, on hand-made audit logs: it must
// be able to find an overlap, or the leader test proves nothing.

const lease = { namespace: 'sluice-faults', name: 'sluice-controller-leader' };
const users = (u: string) => u.startsWith('system:serviceaccount:sluice-faults:');
const A = 'system:serviceaccount:sluice-faults:replica-a';
const B = 'system:serviceaccount:sluice-faults:replica-b';

function ev(at: number, user: string, verb: string, resource: string, o: { name?: string; code?: number; uri?: string; ns?: string } = {}): AuditEvent {
  const t = new Date(Date.UTC(2026, 0, 1, 0, 0, 0, at)).toISOString();
  return {
    stage: 'ResponseComplete',
    verb,
    requestURI: o.uri ?? `/api/v1/namespaces/x/${resource}/${o.name ?? 'n'}`,
    user: { username: user },
    objectRef: { resource, namespace: o.ns ?? (resource === 'leases' ? lease.namespace : 'x'), name: o.name ?? 'n' },
    responseStatus: { code: o.code ?? 200 },
    requestReceivedTimestamp: t,
    stageTimestamp: t,
  };
}
const leaseWrite = (at: number, user: string, code = 200) => ev(at, user, 'update', 'leases', { name: lease.name, code });

test('writes by the holder only: no violation, handovers counted', () => {
  const r = checkSingleWriter(
    [leaseWrite(0, A), ev(10, A, 'patch', 'configmaps'), leaseWrite(100, B), ev(110, B, 'create', 'configmaps'), ev(120, B, 'delete', 'configmaps')],
    { users, lease },
  );
  assert.equal(r.writes, 3);
  assert.deepEqual(r.violations, []);
  assert.deepEqual(r.handovers.map((h) => h[1]), [A, B]);
  assert.deepEqual(r.byUser, { [A]: 1, [B]: 2 });
});

test('the old leader writing after the new one took the lease is a violation', () => {
  const r = checkSingleWriter([leaseWrite(0, A), leaseWrite(100, B), ev(150, A, 'patch', 'configmaps'), ev(160, B, 'patch', 'configmaps')], { users, lease });
  assert.equal(r.violations.length, 1);
  assert.equal(r.violations[0]!.user, A);
  assert.equal(r.violations[0]!.holder, B);
});

test('a follower writing before it ever held the lease is a violation', () => {
  const r = checkSingleWriter([ev(5, B, 'create', 'events'), leaseWrite(10, A)], { users, lease });
  assert.equal(r.violations.length, 1);
  assert.equal(r.violations[0]!.holder, undefined);
});

test('failed lease attempts, dry runs, reviews, reads and other users do not count', () => {
  const r = checkSingleWriter(
    [
      leaseWrite(0, A),
      leaseWrite(10, B, 409), // B tried and lost
      ev(20, B, 'patch', 'configmaps', { uri: '/api/v1/namespaces/x/configmaps/n?dryRun=All' }),
      ev(21, B, 'create', 'selfsubjectaccessreviews'),
      ev(22, B, 'get', 'configmaps'),
      ev(23, 'system:admin', 'patch', 'configmaps'),
      ev(24, B, 'patch', 'configmaps', { code: 409 }),
      ev(30, A, 'patch', 'configmaps'),
    ],
    { users, lease },
  );
  assert.deepEqual(r.violations, []);
  assert.equal(r.writes, 1);
});

test('parseAuditLog skips a torn last line', () => {
  const line = JSON.stringify(leaseWrite(0, A));
  assert.equal(parseAuditLog(`${line}\n${line}\n{"stage":"Respo`).length, 2);
});
