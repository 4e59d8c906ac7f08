import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Alert } from '../api/alert.ts';
import type { FluxEvent } from '../runtime/eventsink.ts';
import { alertTakes, eventForAlert, invalidExpressions } from './match.ts';

const event = (o: Partial<FluxEvent> = {}): FluxEvent => ({
  involvedObject: { kind: 'Kustomization', namespace: 'apps', name: 'web-frontend', apiVersion: 'kustomize.toolkit.fluxcd.io/v1' },
  severity: 'info',
  timestamp: '2026-12-07T22:00:00Z',
  message: 'Reconciliation finished in 2s',
  reason: 'ReconciliationSucceeded',
  reportingController: 'kustomize-controller',
  ...o,
});
const alert = (spec: Partial<Alert['spec']>, ns = 'apps'): Alert => ({
  apiVersion: 'notification.toolkit.fluxcd.io/v1beta3',
  kind: 'Alert',
  metadata: { name: 'a', namespace: ns },
  spec: { providerRef: { name: 'p' }, eventSources: [{ kind: 'Kustomization', name: '*' }], ...spec },
});
const noLabels = () => undefined;

test('sources: kind, namespace (the Alert\'s by default), name or *, matchLabels', () => {
  assert.ok(alertTakes(alert({}), event(), noLabels));
  assert.ok(!alertTakes(alert({}, 'other'), event(), noLabels));
  assert.ok(alertTakes(alert({ eventSources: [{ kind: 'Kustomization', name: '*', namespace: 'apps' }] }, 'other'), event(), noLabels));
  assert.ok(alertTakes(alert({ eventSources: [{ kind: 'Kustomization', name: 'web-frontend' }] }), event(), noLabels));
  assert.ok(!alertTakes(alert({ eventSources: [{ kind: 'Kustomization', name: 'web' }] }), event(), noLabels));
  assert.ok(!alertTakes(alert({ eventSources: [{ kind: 'HelmRelease', name: '*' }] }), event(), noLabels));
  const labelled = alert({ eventSources: [{ kind: 'Kustomization', name: '*', matchLabels: { team: 'a' } }] });
  assert.ok(alertTakes(labelled, event(), () => ({ team: 'a', x: 'y' })));
  assert.ok(!alertTakes(labelled, event(), () => ({ team: 'b' })));
  assert.ok(!alertTakes(labelled, event(), noLabels));
});

test('severity: error Alerts take only errors; info Alerts take both', () => {
  assert.ok(!alertTakes(alert({ eventSeverity: 'error' }), event(), noLabels));
  assert.ok(alertTakes(alert({ eventSeverity: 'error' }), event({ severity: 'error' }), noLabels));
  assert.ok(alertTakes(alert({ eventSeverity: 'info' }), event({ severity: 'error' }), noLabels));
});

test('inclusion and exclusion lists; suspend', () => {
  assert.ok(alertTakes(alert({ inclusionList: ['^Reconciliation'] }), event(), noLabels));
  assert.ok(!alertTakes(alert({ inclusionList: ['^Health'] }), event(), noLabels));
  assert.ok(!alertTakes(alert({ exclusionList: ['finished'] }), event(), noLabels));
  assert.ok(alertTakes(alert({ exclusionList: ['(?i)FAILED'] }), event(), noLabels));
  assert.ok(!alertTakes(alert({ exclusionList: ['(?i)FINISHED'] }), event(), noLabels));
  assert.ok(!alertTakes(alert({ suspend: true }), event(), noLabels));
  // A broken expression matches nothing; the valid one beside it still works.
  assert.ok(alertTakes(alert({ inclusionList: ['(', 'finished'] }), event(), noLabels));
});

test("an Alert's regular expressions that do not compile are named with their field", () => {
  const bad = invalidExpressions(alert({ inclusionList: ['ok', '(open'], exclusionList: ['[z-a]'] }));
  assert.equal(bad.length, 2);
  assert.match(bad[0]!, /^inclusionList: "\(open"/);
  assert.match(bad[1]!, /^exclusionList: "\[z-a\]"/);
});

test('metadata: annotations, eventMetadata, summary, then the controller\'s keys; the token never leaves', () => {
  const e = event({
    metadata: {
      'kustomize.toolkit.fluxcd.io/revision': 'main@sha1:abc',
      'kustomize.toolkit.fluxcd.io/token': 'secret',
      'event.toolkit.fluxcd.io/env': 'from-object',
      'event.toolkit.fluxcd.io/owner': 'team-a',
    },
  });
  const { event: out, conflicts } = eventForAlert(e, alert({ eventMetadata: { env: 'from-alert', cluster: 'prod' }, summary: 'hello' }));
  assert.deepEqual(out.metadata, { revision: 'main@sha1:abc', env: 'from-alert', owner: 'team-a', cluster: 'prod', summary: 'hello' });
  assert.deepEqual(conflicts, ['env']);
  assert.equal(eventForAlert(event(), alert({})).event.metadata, undefined);
});
