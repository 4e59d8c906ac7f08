import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createObject, startHelmFixture, untilHR, cond, type HelmFixture } from '../helm/helpers.ts';
import { sluice } from './sluice.ts';

// The verbs on a HelmRelease the operator (in this process) installed from a
// loopback chart repository: wait for a chart version, diff against the
// release Helm stored, trace an object to its chart and repository, events.

let f: HelmFixture;
let ns: string;

before(async () => {
  f = await startHelmFixture('cli-helm');
  ns = f.ns.name;
  await createObject(f.client, `/apis/helm.toolkit.fluxcd.io/v2/namespaces/${ns}/helmreleases`, {
    apiVersion: 'helm.toolkit.fluxcd.io/v2',
    kind: 'HelmRelease',
    metadata: { name: 'web' },
    spec: { interval: '1h', chart: { spec: { chart: 'web', version: '1.0.0', sourceRef: { kind: 'HelmRepository', name: 'charts' } } }, values: { replicas: 0 } },
  });
});
after(async () => {
  await f?.close();
});

test('wait hr for a chart version, then diff, trace and events on what it installed', async () => {
  const w = await sluice(['wait', 'hr', 'web', '-n', ns, '--for-revision', '1.0.0', '--timeout', '120s']);
  assert.equal(w.code, 0, `${w.stdout}\n${w.stderr}`);
  assert.match(w.stdout, new RegExp(`^✔ HelmRelease ${ns}/web applied revision 1.0.0 and is healthy`));
  await untilHR(f.client, ns, 'web', 'Ready', (s) => cond(s, 'Ready')?.status === 'True');

  const d = await sluice(['diff', 'hr', 'web', '-n', ns]);
  assert.equal(d.code, 0, `${d.stdout}\n${d.stderr}`);

  const t = await sluice(['trace', 'deployment', 'web', '-n', ns]);
  assert.equal(t.code, 0, t.stderr);
  const masked = t.stdout.replace(/at \d{4}-\d\d-\d\dT[\d:]+Z/g, 'at TIME').replace(/http:\/\/127\.0\.0\.1:\d+\S*/, 'URL');
  assert.match(masked, new RegExp(`^Object:          Deployment/web\\nNamespace:       ${ns}\\nStatus:          Managed by Flux\\n---\\nHelmRelease:     web\\nNamespace:       ${ns}\\nRevision:        1.0.0\\nStatus:          Last reconciled at TIME\\n`));
  assert.match(masked, new RegExp(`---\\nHelmChart:       ${ns}-web\\nNamespace:       ${ns}\\nChart:           web\\nVersion:         1.0.0\\nRevision:        1.0.0\\n[^]*---\\nHelmRepository:  charts\\nNamespace:       ${ns}\\nURL:             URL\\n`));

  const e = await sluice(['events', '--for', 'hr/web', '-n', ns]);
  assert.equal(e.code, 0, e.stderr);
  const objects = new Set(e.stdout.trimEnd().split('\n').slice(1).map((l) => l.split(/\s{2,}/)[3]));
  assert.ok(objects.has('HelmRelease/web'), e.stdout);
  assert.ok(objects.has(`HelmChart/${ns}-web`), e.stdout);

  const failed = await sluice(['wait', 'hr', 'web', '-n', ns, '--for-revision', '9.9.9', '--timeout', '1s']);
  assert.equal(failed.code, 2);
});
