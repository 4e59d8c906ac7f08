import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { KubeClient } from './client.ts';

/**
 * A loopback server that answers the first request of each connection and
 * drops the connection on the next one without a word: what a client sees
 * when the server closes an idle kept-alive connection just as it is reused.
 */
async function droppingServer(): Promise<{ server: Server; url: string; requests: string[]; dropAll: () => void }> {
  const requests: string[] = [];
  let dropEvery = false;
  const served = new WeakMap<Socket, number>();
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    const n = (served.get(req.socket) ?? 0) + 1;
    served.set(req.socket, n);
    if (n > 1 || dropEvery) {
      req.socket.destroy();
      return;
    }
    req.resume();
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ ok: requests.length }));
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return { server, url: `http://127.0.0.1:${port}`, requests, dropAll: () => (dropEvery = true) };
}

function clientFor(url: string): KubeClient {
  return KubeClient.fromResolved({ server: url, options: {}, contextName: 'test', source: { kind: 'string', text: '' } }, { maxSockets: 1 });
}

test('a request whose kept-alive connection was closed under it is sent again on a new one', async () => {
  const { server, url, requests } = await droppingServer();
  const client = clientFor(url);
  try {
    assert.deepEqual(await client.request({ path: '/api' }), { ok: 1 });
    // The same (only) socket is reused and dropped; the retry opens a new one.
    assert.deepEqual(await client.request({ method: 'PATCH', path: '/api/v1/namespaces/a/configmaps/b', body: { data: {} } }), { ok: 3 });
    assert.deepEqual(requests, ['GET /api', 'PATCH /api/v1/namespaces/a/configmaps/b', 'PATCH /api/v1/namespaces/a/configmaps/b']);
  } finally {
    client.close();
    server.close();
  }
});

test('a POST on a dropped connection is not sent twice: the error reaches the caller', async () => {
  const { server, url, requests } = await droppingServer();
  const client = clientFor(url);
  try {
    await client.request({ path: '/api' });
    await assert.rejects(client.request({ method: 'POST', path: '/api/v1/namespaces/a/events', body: {} }), /ECONNRESET|socket hang up/);
    assert.deepEqual(requests, ['GET /api', 'POST /api/v1/namespaces/a/events']);
  } finally {
    client.close();
    server.close();
  }
});

test('when the new connection is dropped too, the error reaches the caller: one retry, no loop', async () => {
  const { server, url, requests, dropAll } = await droppingServer();
  const client = clientFor(url);
  try {
    await client.request({ path: '/api' });
    dropAll();
    await assert.rejects(client.request({ path: '/apis' }), /ECONNRESET|socket hang up/);
    assert.deepEqual(requests, ['GET /api', 'GET /apis', 'GET /apis']);
  } finally {
    client.close();
    server.close();
  }
});
