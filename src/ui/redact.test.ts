import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HIDDEN, redactObject } from './redact.ts';

const SECRET = 's3cr3t-planted-value';

test('substitution values, patch bodies and secret-looking keys are hidden; references and the rest are kept', () => {
  const o = redactObject({
    apiVersion: 'x/v1',
    kind: 'HelmRelease',
    metadata: { name: 'a', namespace: 'b', managedFields: [{ manager: 'm' }], annotations: { 'kubectl.kubernetes.io/last-applied-configuration': SECRET, keep: 'yes' } },
    spec: {
      postBuild: { substitute: { cluster: SECRET }, substituteFrom: [{ kind: 'Secret', name: 'vars' }] },
      patches: [{ patch: `stringData: {x: ${SECRET}}`, target: { kind: 'Secret' } }],
      values: { replicas: 2, db: { password: SECRET, host: 'db' }, apiKey: SECRET, auth: { token: SECRET } },
      valuesFrom: [{ kind: 'Secret', name: 'vals', valuesKey: 'values.yaml' }],
      kubeConfig: { secretRef: { name: 'kc' } },
    },
    status: { conditions: [] },
  });
  const text = JSON.stringify(o);
  assert.ok(!text.includes(SECRET), text);
  const spec = o.spec as Record<string, any>;
  assert.equal(spec.postBuild.substitute.cluster, HIDDEN);
  assert.deepEqual(spec.postBuild.substituteFrom, [{ kind: 'Secret', name: 'vars' }]);
  assert.equal(spec.values.replicas, 2);
  assert.equal(spec.values.db.host, 'db');
  assert.deepEqual(spec.valuesFrom, [{ kind: 'Secret', name: 'vals', valuesKey: 'values.yaml' }]);
  assert.deepEqual(spec.kubeConfig, { secretRef: { name: 'kc' } });
  assert.deepEqual(spec.patches, [{ patch: HIDDEN, target: { kind: 'Secret' } }]);
  assert.equal(o.metadata.managedFields, undefined);
  assert.deepEqual(o.metadata.annotations, { keep: 'yes' });
});
