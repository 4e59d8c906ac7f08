// Unit tests of Flux's Helm 4 defaults (helm4.ts): who waits and how,
// server-side apply per action, ownership, post-render strategy, namespace
// creation and the persistent client.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { HelmReleaseSpec } from '../../api/helmrelease.ts';
import { createNamespace, freshClient, installSsa, postRenderStrategy, ssaMode, takeOwnership, useHelm3Defaults, waitPlan } from './helm4.ts';

const spec = (s: Partial<HelmReleaseSpec> = {}) => ({ interval: '1m', ...s }) as HelmReleaseSpec;

describe('Helm 4 defaults', () => {
  test('wait: poller by default (the controller waits, Helm only for hooks); legacy is Helm waiting; disableWait waits for hooks only', () => {
    const cases: Array<[string, HelmReleaseSpec, { disableWait?: boolean; disableWaitForJobs?: boolean } | undefined, ReturnType<typeof waitPlan>]> = [
      ['default', spec(), undefined, { helm: { waitStrategy: 'hookOnly', waitForJobs: false }, controllerWaits: true, jobs: true }],
      ['poller named', spec({ waitStrategy: { name: 'poller' } }), {}, { helm: { waitStrategy: 'hookOnly', waitForJobs: false }, controllerWaits: true, jobs: true }],
      ['poller without jobs', spec(), { disableWaitForJobs: true }, { helm: { waitStrategy: 'hookOnly', waitForJobs: false }, controllerWaits: true, jobs: false }],
      ['legacy', spec({ waitStrategy: { name: 'legacy' } }), {}, { helm: { waitStrategy: 'legacy', waitForJobs: true }, controllerWaits: false, jobs: true }],
      ['legacy without jobs', spec({ waitStrategy: { name: 'legacy' } }), { disableWaitForJobs: true }, { helm: { waitStrategy: 'legacy', waitForJobs: false }, controllerWaits: false, jobs: false }],
      ['disableWait beats legacy', spec({ waitStrategy: { name: 'legacy' } }), { disableWait: true }, { helm: { waitStrategy: 'hookOnly', waitForJobs: false }, controllerWaits: false, jobs: true }],
    ];
    for (const [name, s, a, want] of cases) assert.deepEqual(waitPlan(s, a), want, name);
  });

  test('server-side apply: on for installs unless false; upgrades and rollbacks auto unless enabled or disabled', () => {
    assert.equal(installSsa(spec()), true);
    assert.equal(installSsa(spec({ install: { serverSideApply: false } })), false);
    assert.equal(installSsa(spec({ install: { serverSideApply: true } })), true);
    assert.equal(ssaMode(undefined), 'auto');
    assert.equal(ssaMode('auto'), 'auto');
    assert.equal(ssaMode('enabled'), 'true');
    assert.equal(ssaMode('disabled'), 'false');
  });

  test('ownership is taken unless disabled; post-renderers get hooks too unless told otherwise', () => {
    assert.equal(takeOwnership(undefined), true);
    assert.equal(takeOwnership({}), true);
    assert.equal(takeOwnership({ disableTakeOwnership: true }), false);
    assert.equal(postRenderStrategy(spec()), 'combined');
    assert.equal(postRenderStrategy(spec({ postRenderStrategy: 'nohooks' })), 'nohooks');
  });

  test('createNamespace counts only with a targetNamespace; persistentClient false means fresh clients', () => {
    assert.equal(createNamespace(spec({ install: { createNamespace: true } })), undefined);
    assert.equal(createNamespace(spec({ targetNamespace: 'apps', install: { createNamespace: true } })), true);
    assert.equal(freshClient(spec()), undefined);
    assert.equal(freshClient(spec({ persistentClient: true })), undefined);
    assert.equal(freshClient(spec({ persistentClient: false })), true);
  });
});

test("UseHelm3Defaults: unset fields take Helm 3's defaults; fields set still win", () => {
  try {
    useHelm3Defaults(true);
    assert.equal(installSsa(spec()), false);
    assert.equal(installSsa(spec({ install: { serverSideApply: true } } as Partial<HelmReleaseSpec>)), true);
    assert.equal(waitPlan(spec(), undefined).helm.waitStrategy, 'legacy');
    assert.equal(waitPlan(spec({ waitStrategy: { name: 'poller' } }), undefined).controllerWaits, true);
    assert.equal(postRenderStrategy(spec()), 'nohooks');
    assert.equal(postRenderStrategy(spec({ postRenderStrategy: 'combined' } as Partial<HelmReleaseSpec>)), 'combined');
  } finally {
    useHelm3Defaults(false);
  }
  assert.equal(installSsa(spec()), true);
  assert.equal(postRenderStrategy(spec()), 'combined');
});
