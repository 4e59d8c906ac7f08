import { test } from 'node:test';
import assert from 'node:assert/strict';
import { componentArgs, limits } from './flags.ts';
import { componentOrder } from './state.ts';
import { auditPolicy } from './audit.ts';

const ctx = {
  dir: '/home/u/.sluice/cluster',
  pkiDir: '/home/u/.sluice/cluster/pki',
  ports: { etcdClient: 20001, etcdPeer: 20002, apiserver: 20003, controllerManager: 20004, scheduler: 20005, kwok: 20006 },
};

test('every component binds to loopback only', () => {
  for (const name of componentOrder) {
    const args = componentArgs(name, { ...ctx, profile: 'default' });
    for (const a of args) {
      const addr = /(?:address|url|servers)=(?:https?:\/\/)?([^:/]+)/.exec(a)?.[1];
      if (addr) assert.equal(addr, '127.0.0.1', `${name} ${a}`);
    }
  }
});

test('the API server runs with TLS, client certificates, RBAC and service-account keys', () => {
  const args = componentArgs('kube-apiserver', { ...ctx, profile: 'default' });
  for (const flag of ['--tls-cert-file=', '--client-ca-file=', '--service-account-signing-key-file=', '--service-account-key-file=']) {
    assert.ok(args.some((a) => a.startsWith(flag)), `missing ${flag}`);
  }
  assert.ok(args.includes('--authorization-mode=Node,RBAC'));
  assert.ok(args.includes('--anonymous-auth=false'));
});

test('the bench profile raises client and inflight limits', () => {
  const d = componentArgs('kube-controller-manager', { ...ctx, profile: 'default' });
  const b = componentArgs('kube-controller-manager', { ...ctx, profile: 'bench' });
  assert.ok(d.includes(`--kube-api-qps=${limits.default.apiQps}`));
  assert.ok(b.includes(`--kube-api-qps=${limits.bench.apiQps}`));
  assert.ok(limits.bench.apiQps > limits.default.apiQps);
  const api = componentArgs('kube-apiserver', { ...ctx, profile: 'bench' });
  assert.ok(api.includes(`--max-requests-inflight=${limits.bench.maxInflight}`));
});

test('only the bench profile writes an audit log, of request metadata only', () => {
  const bench = componentArgs('kube-apiserver', { ...ctx, profile: 'bench' });
  assert.ok(bench.includes('--audit-log-path=/home/u/.sluice/cluster/audit.log'));
  assert.ok(bench.some((a) => a.startsWith('--audit-policy-file=')));
  const plain = componentArgs('kube-apiserver', { ...ctx, profile: 'default' });
  assert.ok(!plain.some((a) => a.startsWith('--audit')));
  const policy = auditPolicy();
  assert.match(policy, /level: Metadata\n  users: \["system:serviceaccount:sluice-bench:controller"\]/);
  assert.match(policy, /level: Metadata\n  userGroups: \["system:serviceaccounts:sluice-faults"\]/);
  assert.doesNotMatch(policy, /Request(Response)?\b(?!Received)/, 'no request or response bodies');
  assert.match(policy, /- level: None\n$/);
});
