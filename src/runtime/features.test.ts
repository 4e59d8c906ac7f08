import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseFeatureGates } from './features.ts';

test('feature gates: Flux 2.9 defaults, overrides, and refusals', () => {
  assert.deepEqual(parseFeatureGates(undefined), { StrictPostBuildSubstitutions: true });
  assert.deepEqual(parseFeatureGates(''), { StrictPostBuildSubstitutions: true });
  assert.deepEqual(parseFeatureGates('StrictPostBuildSubstitutions=false'), { StrictPostBuildSubstitutions: false });
  assert.deepEqual(parseFeatureGates(' StrictPostBuildSubstitutions=TRUE , '), { StrictPostBuildSubstitutions: true });
  assert.throws(() => parseFeatureGates('NoSuchGate=true'), /unknown feature gate "NoSuchGate" \(known: StrictPostBuildSubstitutions\)/);
  assert.throws(() => parseFeatureGates('StrictPostBuildSubstitutions=yes'), /"StrictPostBuildSubstitutions=yes" is not Name=true or Name=false/);
});
