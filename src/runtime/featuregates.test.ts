import assert from 'node:assert/strict';
import test from 'node:test';
import { FEATURE_GATES, inertGates, parseFeatureGates } from './featuregates.ts';

test("every Flux 2.9 gate is known, with Flux's default", () => {
  const gates = parseFeatureGates([]);
  for (const name of ['StrictPostBuildSubstitutions', 'CancelHealthCheckOnNewRevision', 'AdditiveCELDependencyCheck', 'DisableConfigWatchers', 'DisableFailFastBehavior', 'UseHelm3Defaults', 'DefaultToRetryOnFailure', 'CacheSecretsAndConfigMaps', 'ExternalArtifact']) {
    assert.ok(name in FEATURE_GATES, name);
  }
  assert.equal(gates.StrictPostBuildSubstitutions, true, 'opt-out since kustomize-controller v1.9');
  assert.equal(gates.DisableStatusPollerCache, true);
  assert.equal(gates.DisableFailFastBehavior, false);
});

test('parseFeatureGates: later values win; spaces and empty parts tolerated; errors name the gate', () => {
  const g = parseFeatureGates(['DisableFailFastBehavior=true, GroupChangeLog=True', 'DisableFailFastBehavior=false,']);
  assert.equal(g.DisableFailFastBehavior, false);
  assert.equal(g.GroupChangeLog, true);
  assert.throws(() => parseFeatureGates(['Nope=true']), /unknown feature gate "Nope"/);
  assert.throws(() => parseFeatureGates(['GroupChangeLog']), /GroupChangeLog needs =true or =false/);
});

test('inertGates: only gates moved off their default that change nothing in Sluice', () => {
  assert.deepEqual(inertGates(parseFeatureGates([])), []);
  const moved = inertGates(parseFeatureGates(['GroupChangeLog=true,DisableFailFastBehavior=true,DisableStatusPollerCache=true']));
  assert.deepEqual(moved.map((m) => m.gate), ['GroupChangeLog']);
});
