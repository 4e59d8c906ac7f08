import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Provider } from '../api/provider.ts';
import type { KubeObject } from '../kube/object.ts';
import type { FluxEvent } from '../runtime/eventsink.ts';
import { commitStatusKeyFor, ProviderProblem, resolveProvider } from './settings.ts';

// Provider spec.commitStatusExpr: the commit status key from CEL over the
// event, the Alert and the Provider, as notification-controller v1.9 makes it.

const event: FluxEvent = {
  involvedObject: { kind: 'Kustomization', namespace: 'apps', name: 'web', apiVersion: 'kustomize.toolkit.fluxcd.io/v1' },
  severity: 'info',
  timestamp: '2026-12-07T22:00:00Z',
  message: 'applied',
  reason: 'ReconciliationSucceeded',
  metadata: { revision: 'main@sha1:0123456789abcdef0123456789abcdef01234567', env: 'prod' },
  reportingController: 'kustomize-controller',
  reportingInstance: 'sluice',
};
const alert: KubeObject = { apiVersion: 'notification.toolkit.fluxcd.io/v1beta3', kind: 'Alert', metadata: { name: 'status', namespace: 'apps', labels: { cluster: 'eu-1' } } };
const provider = (commitStatusExpr?: string): Provider => ({
  apiVersion: 'notification.toolkit.fluxcd.io/v1beta3',
  kind: 'Provider',
  metadata: { name: 'gh', namespace: 'apps', uid: 'abcdef12-3456-7890-abcd-ef1234567890' },
  spec: { type: 'github', address: 'https://github.com/acme/app', secretRef: { name: 's' }, ...(commitStatusExpr ? { commitStatusExpr } : {}) },
});

test('without an expression: Flux\'s default key <kind>/<name>/<uid prefix>, lower case', () => {
  assert.equal(commitStatusKeyFor(provider(), alert, event), 'kustomization/web/abcdef12');
});

test('with an expression: evaluated over event, alert and provider', () => {
  const p = provider("event.involvedObject.name + '/' + event.metadata.?env.orValue('none') + '/' + alert.metadata.labels.cluster + '/' + provider.metadata.uid.split('-')[0]");
  assert.equal(commitStatusKeyFor(p, alert, event), 'web/prod/eu-1/abcdef12');
  assert.equal(commitStatusKeyFor(p, alert, { ...event, metadata: { revision: 'x' } }), 'web/none/eu-1/abcdef12');
});

test('an expression that fails on the event throws; one that is not a string makes the Provider not valid', async () => {
  assert.throws(() => commitStatusKeyFor(provider("event.metadata.missing + 'x'"), alert, event), /failed to evaluate/);
  for (const [expr, why] of [["event.reason == 'x'", /expected string, got bool/], ['nope.x', /nope/], ['event.metadata.env', /expected string, got dyn/]] as const) {
    await assert.rejects(resolveProvider(provider(expr), async () => ({ token: Buffer.from('t') })), (e: Error) => e instanceof ProviderProblem && e.reason === 'ValidationFailed' && /^spec\.commitStatusExpr: /.test(e.message) && why.test(e.message));
  }
  // A good one is accepted.
  await resolveProvider(provider("'flux/' + event.involvedObject.name"), async () => ({ token: Buffer.from('t') }));
});
