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

// The dispatcher with a type whose delivery is several requests (a pull
// request comment: who am I, list, create): events that name no pull request
// are skipped, and a delivery that meets a brief outage is retried as a whole.

const cache = (objs: KubeObject[]) =>
  ({ list: (ns?: string) => objs.filter((o) => ns === undefined || o.metadata.namespace === ns), get: (ns: string, name: string) => objs.find((o) => o.metadata.namespace === ns && o.metadata.name === name) }) as unknown as Informer;

const event = (metadata: Record<string, string>): FluxEvent => ({
  involvedObject: { kind: 'HelmRelease', namespace: 'preview', name: 'app-pr-9', apiVersion: 'helm.toolkit.fluxcd.io/v2' },
  severity: 'info',
  timestamp: '2026-12-07T22:00:00Z',
  message: 'Helm install succeeded',
  reason: 'InstallSucceeded',
  reportingController: 'helm-controller',
  metadata,
});

test('githubpullrequestcomment through the dispatcher: skipped without change_request, retried as a whole through a 503', async () => {
  const seen: string[] = [];
  let outage = 1;
  const forge = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      seen.push(`${req.method} ${req.url}`);
      if (req.url === '/api/v3/user' && outage-- > 0) return void res.writeHead(503).end();
      if (req.url === '/api/v3/user') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"login":"flux-bot"}');
      if (req.method === 'GET') return void res.writeHead(200, { 'content-type': 'application/json' }).end('[]');
      res.writeHead(201, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => forge.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(forge.address() as AddressInfo).port}`;
  const registry = new Registry();
  const log = { debug: () => undefined, info: () => undefined, error: () => undefined } as unknown as Logger;
  const alert = { apiVersion: 'notification.toolkit.fluxcd.io/v1beta3', kind: 'Alert', metadata: { name: 'pr', namespace: 'preview', uid: 'a-1' }, spec: { providerRef: { name: 'gh' }, eventSources: [{ kind: 'HelmRelease', name: '*' }] } };
  const provider = { apiVersion: 'notification.toolkit.fluxcd.io/v1beta3', kind: 'Provider', metadata: { name: 'gh', namespace: 'preview', uid: 'p-1' }, spec: { type: 'githubpullrequestcomment', address: `${url}/acme/app`, secretRef: { name: 's' } } };
  const d = new Dispatcher({
    alerts: cache([alert as KubeObject]),
    providers: cache([provider as KubeObject]),
    readSecret: async () => ({ token: Buffer.from('ghp_comment') }),
    labelsOf: () => undefined,
    log,
    registry,
    retries: 3,
    retryBaseMs: 20,
  });
  try {
    // As the controller records them: its own keys under its group, the object's event annotations under event.toolkit.fluxcd.io.
    d.send(event({ 'helm.toolkit.fluxcd.io/revision': '1.0.0' }));
    d.send(event({ 'helm.toolkit.fluxcd.io/revision': '1.0.0', 'event.toolkit.fluxcd.io/change_request': '9' }));
    await d.flush();
    assert.deepEqual(seen, [
      'GET /api/v3/user',
      'GET /api/v3/user',
      'GET /api/v3/repos/acme/app/issues/9/comments?sort=created&direction=asc&per_page=100',
      'POST /api/v3/repos/acme/app/issues/9/comments',
    ]);
    const metric = await d.deliveries.get();
    const value = (result: string) => metric.values.find((v) => v.labels.result === result && v.labels.type === 'githubpullrequestcomment')?.value;
    assert.equal(value('skipped'), 1);
    assert.equal(value('sent'), 1);
  } finally {
    await d.stop();
    forge.close();
    forge.closeAllConnections();
  }
});
