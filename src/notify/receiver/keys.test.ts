import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair, jwtVerify } from 'jose';
import { proxyFor, remoteKeySet } from './keys.ts';

test('proxyFor: HTTPS_PROXY for https, HTTP_PROXY for http, NO_PROXY by host and domain', () => {
  const env = { HTTPS_PROXY: 'http://proxy:3128', HTTP_PROXY: 'http://plain:8080', NO_PROXY: 'localhost,.internal,example.org' };
  assert.equal(proxyFor('https://www.googleapis.com/oauth2/v3/certs', env), 'http://proxy:3128');
  assert.equal(proxyFor('http://issuer.test/keys', env), 'http://plain:8080');
  assert.equal(proxyFor('https://idp.corp.internal/keys', env), undefined);
  assert.equal(proxyFor('https://sub.example.org/keys', env), undefined);
  assert.equal(proxyFor('https://example.org/keys', env), undefined);
  assert.equal(proxyFor('https://notexample.org/keys', env), 'http://proxy:3128');
  assert.equal(proxyFor('https://www.googleapis.com/', {}), undefined);
  assert.equal(proxyFor('http://127.0.0.1:8080/keys', env), undefined, 'loopback never through the proxy');
  assert.equal(proxyFor('http://localhost/keys', env), undefined);
});

test('a key set fetched through the proxy; a rotated-in key is found by fetching again', async () => {
  const first = await generateKeyPair('RS256', { extractable: true });
  const second = await generateKeyPair('RS256', { extractable: true });
  const jwk = async (k: CryptoKey, kid: string) => ({ ...(await exportJWK(k)), kid, alg: 'RS256' });
  let keys = [await jwk(first.publicKey, 'one')];
  let served = 0;
  const issuer = http.createServer((_q, res) => {
    served++;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys }));
  });
  const proxied: string[] = [];
  // An HTTP proxy: requests in absolute form, forwarded; it alone knows where issuer.test is (loopback).
  const proxy = http.createServer((req, res) => {
    proxied.push(`${req.method} ${req.url}`);
    const u = new URL(req.url!);
    http.get({ host: u.hostname === 'issuer.test' ? '127.0.0.1' : u.hostname, port: u.port, path: u.pathname }, (up) => {
      res.writeHead(up.statusCode!, up.headers);
      up.pipe(res);
    });
  });
  await new Promise<void>((r) => issuer.listen(0, '127.0.0.1', () => r()));
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
  const saved = { HTTP_PROXY: process.env.HTTP_PROXY, NO_PROXY: process.env.NO_PROXY };
  process.env.HTTP_PROXY = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  process.env.NO_PROXY = '';
  try {
    const url = `http://issuer.test:${(issuer.address() as AddressInfo).port}/certs-${Date.now()}`;
    const sign = (k: CryptoKey, kid: string) => new SignJWT({}).setProtectedHeader({ alg: 'RS256', kid }).setIssuer('i').setExpirationTime('5m').sign(k);
    const ks = remoteKeySet(url);
    await jwtVerify(await sign(first.privateKey, 'one'), ks);
    assert.deepEqual(proxied, [`GET ${url}`]);
    await jwtVerify(await sign(first.privateKey, 'one'), ks);
    assert.equal(served, 1, 'kept, not fetched per token');
    // A second set with no cool-down, fetched before the rotation.
    const fresh = remoteKeySet(`${url}-b`, 0);
    await jwtVerify(await sign(first.privateKey, 'one'), fresh);
    assert.equal(served, 2);
    // A new key appears; a token naming it is refused within the cool-down (no fetch per bad token)...
    keys = [...keys, await jwk(second.publicKey, 'two')];
    await assert.rejects(jwtVerify(await sign(second.privateKey, 'two'), ks), /no applicable key|matching/i);
    assert.equal(served, 2);
    // ...and accepted once the set may be fetched again (the set with no cool-down).
    const before = served;
    await jwtVerify(await sign(second.privateKey, 'two'), fresh);
    assert.equal(served, before + 1, 'fetched again for the unknown key');
  } finally {
    process.env.HTTP_PROXY = saved.HTTP_PROXY ?? '';
    if (saved.HTTP_PROXY === undefined) delete process.env.HTTP_PROXY;
    if (saved.NO_PROXY === undefined) delete process.env.NO_PROXY;
    else process.env.NO_PROXY = saved.NO_PROXY;
    issuer.close();
    proxy.close();
    issuer.closeAllConnections();
    proxy.closeAllConnections();
  }
});
