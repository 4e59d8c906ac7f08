import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Receiver } from '../../api/receiver.ts';
import type { KubeObject } from '../../kube/object.ts';
import { invalidFilters, isJsonContent, objectFilter, requestVariable } from './filter.ts';

const obj = (name: string, labels: Record<string, string> = {}): KubeObject => ({
  apiVersion: 'image.toolkit.fluxcd.io/v1',
  kind: 'ImageRepository',
  metadata: { name, namespace: 'apps', labels, annotations: { 'example.org/image': `ghcr.io/acme/${name}` } },
  spec: { secret: 'never seen' },
});

test('resourceFilter and filter: both must be true; res is the metadata, req the body', () => {
  const req = { image: 'ghcr.io/acme/web', tag: 'v2' };
  const f = objectFilter(["res.metadata.annotations['example.org/image'] == req.image", "res.metadata.?labels.tier.orValue('') != 'frozen'"], req)!;
  assert.equal(f(obj('web')), true);
  assert.equal(f(obj('api')), false);
  assert.equal(f(obj('web', { tier: 'frozen' })), false);
  // Only one set: that one decides.
  assert.equal(objectFilter([undefined, "req.tag.startsWith('v')"], req)!(obj('x')), true);
  assert.equal(objectFilter([undefined, undefined], req), undefined);
  // res has no spec, as Flux's PartialObjectMetadata.
  assert.equal(objectFilter(['!has(res.spec)'], req)!(obj('web')), true);
});

test('a filter that fails on the data throws; one that does not compile is reported per field', () => {
  assert.throws(() => objectFilter(['req.missing.deeper == 1'], {})!(obj('web')), /failed to evaluate/);
  const r = {
    apiVersion: 'notification.toolkit.fluxcd.io/v1',
    kind: 'Receiver',
    metadata: { name: 'r', namespace: 'apps' },
    spec: { type: 'generic', resourceFilter: "'text'", resources: [{ kind: 'GitRepository', name: 'a' }, { kind: 'GitRepository', name: 'b', filter: 'requrest.body == 1' }, { kind: 'GitRepository', name: 'c', filter: 'true' }] },
  } as unknown as Receiver;
  const bad = invalidFilters(r);
  assert.equal(bad.length, 2);
  assert.match(bad[0]!, /^spec\.resourceFilter: .*expected bool, got string/);
  assert.match(bad[1]!, /^spec\.resources\[1\]\.filter: .*requrest/);
});

test('req is the JSON body only when the Content-Type says JSON', () => {
  assert.ok(isJsonContent('application/json; charset=utf-8'));
  assert.ok(isJsonContent('text/plain, application/json'));
  assert.ok(!isJsonContent('application/x-www-form-urlencoded'));
  assert.deepEqual(requestVariable('application/json', Buffer.from('{"a":1}')), { a: 1 });
  assert.deepEqual(requestVariable('text/plain', Buffer.from('{"a":1}')), {});
  assert.equal(requestVariable('application/json', Buffer.from('[1]')), undefined);
  assert.equal(requestVariable('application/json', Buffer.from('{nope')), undefined);
});
