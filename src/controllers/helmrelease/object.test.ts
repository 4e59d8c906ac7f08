// Unit tests of the names derived from a HelmRelease (object.ts), beside the
// code they test; they were in src/helm/helm.test.ts.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { releaseNameOf, type HelmReleaseObject } from './object.ts';

describe('names', () => {
  const hr = (name: string, spec: Record<string, unknown> = {}) => ({ metadata: { name, namespace: 'ns' }, spec }) as unknown as HelmReleaseObject;

  test('release names as Flux composes them, hashed down to 53 characters', () => {
    assert.equal(releaseNameOf(hr('web')), 'web');
    assert.equal(releaseNameOf(hr('web', { targetNamespace: 'prod' })), 'prod-web');
    assert.equal(releaseNameOf(hr('web', { releaseName: 'custom', targetNamespace: 'prod' })), 'custom');
    const long = releaseNameOf(hr('with-a-nice-object-name', { targetNamespace: 'a-very-lengthy-target-namespace' }));
    // Flux's docs show 42 characters before the hash; its code (and this) keeps 40, so the name is 53 long.
    assert.equal(long, 'a-very-lengthy-target-namespace-with-a-n-97af5d7f41f3');
    assert.equal(long.length, 53);
  });
});
