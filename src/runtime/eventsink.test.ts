import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import test from 'node:test';
import { silentLogger, type Logger } from '../util/log.ts';
import { EventSink, fluxEvent, type FluxEvent } from './eventsink.ts';
import type { KubeObject } from '../kube/object.ts';

const ks: KubeObject = {
  apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
  kind: 'Kustomization',
  metadata: { name: 'app', namespace: 'flux-system', uid: 'u-1', resourceVersion: '7', annotations: { 'event.toolkit.fluxcd.io/token': 't', other: 'x' } },
};

test("fluxEvent: Flux's event fields, severity from the type, metadata from the event's and the object's event annotations", () => {
  const e = fluxEvent(ks, 'Warning', 'BuildFailed', 'kustomize build failed', { 'kustomize.toolkit.fluxcd.io/revision': 'main@sha1:abc' }, 'kustomize-controller', 'pod-1', new Date('2026-12-07T10:00:00.123Z'));
  assert.deepEqual(e, {
    involvedObject: { kind: 'Kustomization', namespace: 'flux-system', name: 'app', uid: 'u-1', apiVersion: 'kustomize.toolkit.fluxcd.io/v1', resourceVersion: '7' },
    severity: 'error',
    timestamp: '2026-12-07T10:00:00Z',
    message: 'kustomize build failed',
    reason: 'BuildFailed',
    metadata: { 'kustomize.toolkit.fluxcd.io/revision': 'main@sha1:abc', 'event.toolkit.fluxcd.io/token': 't' },
    reportingController: 'kustomize-controller',
    reportingInstance: 'pod-1',
  });
  const plain = { ...ks, metadata: { ...ks.metadata, annotations: {} } };
  const info = fluxEvent(plain, 'Normal', 'ReconciliationSucceeded', 'ok', undefined, 'kustomize-controller', 'pod-1', new Date());
  assert.equal(info.severity, 'info');
  assert.equal('metadata' in info, false, 'no empty metadata');
});

/** A receiver answering each request with the next status of `statuses` (then 202). */
async function receiver(statuses: number[]): Promise<{ url: string; got: FluxEvent[]; attempts: () => number; close: () => Promise<void> }> {
  const got: FluxEvent[] = [];
  let attempts = 0;
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (c: string) => (body += c));
    req.on('end', () => {
      attempts++;
      assert.equal(req.headers['content-type'], 'application/json');
      const status = statuses.shift() ?? 202;
      if (status < 300) got.push(JSON.parse(body) as FluxEvent);
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    got,
    attempts: () => attempts,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const event = (reason: string) => fluxEvent(ks, 'Normal', reason, reason, undefined, 'kustomize-controller', 'i', new Date());

test('EventSink: delivers in order, retries 5xx with backoff, gives up on 4xx, takes 429 as already received', async () => {
  const r = await receiver([503, 500, 202, 400, 429]);
  const errors: string[] = [];
  const log: Logger = { ...silentLogger, error: (m, f) => void errors.push(`${m} ${String(f?.error)}`) };
  const sink = new EventSink({ address: r.url, log, retryBaseMs: 10 });
  sink.send(event('first')); // 503, 500, then 202
  sink.send(event('second')); // 400: not retried
  sink.send(event('third')); // 429: a duplicate, not retried, not an error
  sink.send(event('fourth'));
  await sink.flush();
  assert.deepEqual(r.got.map((e) => e.reason), ['first', 'fourth']);
  assert.equal(r.attempts(), 6);
  assert.equal(sink.delivered, 2);
  assert.deepEqual(errors, ['could not send the event to the receiver HTTP 400']);
  await r.close();
});

test('EventSink: a receiver that is down is retried, then the event is logged as lost; a full queue drops and counts', async () => {
  const r = await receiver([]);
  const url = r.url;
  await r.close(); // nothing listens there now
  const errors: string[] = [];
  const sink = new EventSink({ address: url, log: { ...silentLogger, error: (m) => void errors.push(m) }, retries: 2, retryBaseMs: 5, maxPending: 2 });
  for (const reason of ['a', 'b', 'c', 'd']) sink.send(event(reason));
  await sink.flush();
  assert.equal(sink.delivered, 0);
  assert.ok(sink.dropped >= 1, `dropped ${sink.dropped}`);
  assert.ok(errors.includes('could not send the event to the receiver'));
  assert.ok(errors.includes('events to the receiver dropped: too many waiting'));
});
