import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FluxEvent } from '../runtime/eventsink.ts';
import { eventKey, RateLimiter } from './ratelimit.ts';

const e = (message: string, revision = 'main@sha1:1'): FluxEvent => ({
  involvedObject: { kind: 'Kustomization', namespace: 'a', name: 'b' },
  severity: 'info',
  timestamp: 't',
  message,
  reason: 'R',
  metadata: { revision },
  reportingController: 'c',
});

test('an identical event is let through once per interval, per Alert', () => {
  const l = new RateLimiter(5 * 60_000);
  const k = eventKey('ns/alert', e('m'));
  assert.ok(l.allow(k, 0));
  assert.ok(!l.allow(k, 60_000));
  assert.ok(!l.allow(k, 299_999));
  assert.ok(l.allow(k, 300_000));
  // Another Alert, message or revision is another key.
  assert.notEqual(eventKey('ns/other', e('m')), k);
  assert.notEqual(eventKey('ns/alert', e('n')), k);
  assert.notEqual(eventKey('ns/alert', e('m', 'main@sha1:2')), k);
  // The timestamp does not count.
  assert.equal(eventKey('ns/alert', { ...e('m'), timestamp: 'later' }), k);
});

test('a forgotten key (a failed delivery) may go again; the map stays bounded', () => {
  const l = new RateLimiter(1000, 10);
  assert.ok(l.allow('x', 0));
  l.forget('x');
  assert.ok(l.allow('x', 1));
  for (let i = 0; i < 50; i++) l.allow(`k${i}`, 2);
  assert.ok(l.size <= 10);
  assert.ok(new RateLimiter(0).allow('x', 0) && new RateLimiter(0).allow('x', 0));
});
