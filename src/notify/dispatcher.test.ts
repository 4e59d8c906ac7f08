import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import type { Informer } from '../kube/informer.ts';
import type { KubeObject } from '../kube/object.ts';
import type { FluxEvent } from '../runtime/eventsink.ts';
import type { Logger } from '../util/log.ts';
import { Dispatcher } from './dispatcher.ts';

// The dispatcher with in-memory caches and a loopback service: retries
// through a brief outage, rate limiting, the bounded queue, and no secret in
// any log line or warning.

const cache = (objs: KubeObject[]) =>
  ({ list: (ns?: string) => objs.filter((o) => ns === undefined || o.metadata.namespace === ns), get: (ns: string, name: string) => objs.find((o) => o.metadata.namespace === ns && o.metadata.name === name) }) as unknown as Informer;

const event = (message = 'applied', o: Partial<FluxEvent> = {}): FluxEvent => ({
  involvedObject: { kind: 'Kustomization', namespace: 'apps', name: 'web', apiVersion: 'kustomize.toolkit.fluxcd.io/v1' },
  severity: 'info',
  timestamp: '2026-12-07T22:00:00Z',
  message,
  reason: 'ReconciliationSucceeded',
  reportingController: 'kustomize-controller',
  ...o,
});

async function service(answers: number[]) {
  const got: string[] = [];
  const server = http.createServer((req, res) => {
    let b = '';
    req.on('data', (c) => (b += c));
    req.on('end', () => {
      got.push(b);
      res.writeHead(answers.shift() ?? 200).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { got, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook/SECRETPATH`, close: () => new Promise<void>((r) => server.close(() => r())) };
}

function setup(url: string, o: { maxPending?: number; token?: string } = {}) {
  const lines: string[] = [];
  const warnings: string[] = [];
  const push = (m: string, f?: Record<string, unknown>) => void lines.push(`${m} ${JSON.stringify(f)}`);
  const log = { debug: () => undefined, info: push, error: push } as unknown as Logger;
  const alert = { apiVersion: 'notification.toolkit.fluxcd.io/v1beta3', kind: 'Alert', metadata: { name: 'a', namespace: 'apps' }, spec: { providerRef: { name: 'p' }, eventSources: [{ kind: 'Kustomization', name: '*' }] } };
  const provider = { apiVersion: 'notification.toolkit.fluxcd.io/v1beta3', kind: 'Provider', metadata: { name: 'p', namespace: 'apps', uid: 'u-1' }, spec: { type: 'generic-hmac', secretRef: { name: 's' } } };
  const d = new Dispatcher({
    alerts: cache([alert as KubeObject]),
    providers: cache([provider as KubeObject]),
    readSecret: async () => ({ address: Buffer.from(url), token: Buffer.from(o.token ?? 'hmac-key-secret') }),
    labelsOf: () => undefined,
    log,
    registry: new Registry(),
    warn: (_a, reason, message) => warnings.push(`${reason}: ${message}`),
    retries: 3,
    retryBaseMs: 20,
    maxPending: o.maxPending,
  });
  return { d, lines, warnings };
}

test('a provider briefly down: retried with backoff, delivered once', async () => {
  const s = await service([503, 502]);
  const { d } = setup(s.url);
  d.send(event());
  await d.flush();
  assert.equal(s.got.length, 3);
  assert.equal((await d.deliveries.get()).values.find((v) => v.labels.result === 'sent')?.value, 1);
  await s.close();
});

test('identical events are sent once per interval; a new message goes', async () => {
  const s = await service([]);
  const { d } = setup(s.url);
  d.send(event());
  d.send(event());
  d.send(event('other'));
  await d.flush();
  assert.equal(s.got.length, 2);
  assert.equal((await d.deliveries.get()).values.find((v) => v.labels.result === 'rate_limited')?.value, 1);
  await s.close();
});

test('a full queue drops, counts and logs; a 4xx is not retried; no secret in logs or warnings', async () => {
  const s = await service([400]);
  const { d, lines, warnings } = setup(s.url, { maxPending: 2 });
  for (let i = 0; i < 5; i++) d.send(event(`m${i}`));
  await d.flush();
  const dropped = (await d.dropped.get()).values;
  assert.equal(dropped.find((v) => v.labels.reason === 'queue_full')?.value, 3);
  assert.equal(dropped.find((v) => v.labels.reason === 'failed')?.value, 1);
  assert.equal(s.got.length, 2);
  assert.ok(lines.some((l) => l.includes('too many waiting')));
  assert.ok(warnings.some((w) => w.startsWith('NotificationDispatchFailed: failed to send notification for Kustomization/apps/web: http://127.0.0.1')));
  for (const l of [...lines, ...warnings]) {
    assert.ok(!l.includes('SECRETPATH') && !l.includes('hmac-key-secret'), l);
  }
  await s.close();
});

test('a missing Provider is a warning on the Alert, and other Alerts go on', async () => {
  const { d, warnings } = setup('http://127.0.0.1:1/x');
  (d as unknown as { o: { alerts: Informer } }).o.alerts = cache([
    { apiVersion: 'v', kind: 'Alert', metadata: { name: 'orphan', namespace: 'apps' }, spec: { providerRef: { name: 'gone' }, eventSources: [{ kind: 'Kustomization', name: '*' }] } } as KubeObject,
  ]);
  d.send(event());
  await d.flush();
  assert.match(warnings[0]!, /^ProviderNotFound: Provider apps\/gone not found/);
});
