// Sends one built request: TLS with the Provider's CA and client certificate,
// an HTTP(S) proxy (CONNECT for https targets), a timeout. Answers are read
// and dropped; a non-2xx answer is an error that says whether it is worth
// retrying. Error messages never carry the URL's secret parts (a token in the
// path, as Telegram's) or the body.
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import { isIP } from 'node:net';
import type { OutgoingRequest, Transport } from './providers/types.ts';

export type { Transport } from './providers/types.ts';

export class DeliveryError extends Error {
  constructor(message: string, readonly retryable: boolean, readonly status?: number) {
    super(message);
  }
}

/** The URL as it may be logged: scheme, host and port only. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return '(invalid URL)';
  }
}

/** What the service answered: the status and the body (at most 4 MiB kept), for types that read before they write. */
export interface Answer {
  status: number;
  body: string;
}

const MAX_ANSWER_BYTES = 4 * 1024 * 1024;

export async function send(req: OutgoingRequest, t: Transport): Promise<number> {
  return (await exchange(req, t)).status;
}

/** Sends one request and reads the answer; a non-2xx answer is a DeliveryError. */
export async function exchange(req: OutgoingRequest, t: Transport): Promise<Answer> {
  const url = new URL(req.url);
  const isHttps = url.protocol === 'https:';
  const body = Buffer.from(req.body);
  const headers: Record<string, string | number> = { ...req.headers, 'content-length': body.length, 'user-agent': 'sluice-notification' };
  // SNI names a host, never an address (RFC 6066).
  const tlsOptions = { ca: t.ca, cert: t.cert, key: t.key, ...(isIP(url.hostname.replace(/^\[|\]$/g, '')) ? {} : { servername: url.hostname }) };
  const where = safeUrl(req.url);
  let options: https.RequestOptions;
  let mod: typeof http | typeof https = isHttps ? https : http;
  if (t.proxy) {
    const proxy = new URL(t.proxy);
    const proxyAuth = proxy.username ? `Basic ${Buffer.from(`${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`).toString('base64')}` : undefined;
    if (isHttps) {
      const tunnel = await connectTunnel(proxy, url, proxyAuth, t.timeoutMs);
      // TLS to the service inside the tunnel: the proxy sees only bytes.
      const socket = tls.connect({ ...tlsOptions, socket: tunnel });
      options = { method: req.method, host: url.hostname, port: url.port || 443, path: url.pathname + url.search, headers, createConnection: () => socket } as https.RequestOptions;
    } else {
      mod = http;
      options = { method: req.method, host: proxy.hostname, port: proxy.port || 80, path: url.toString(), headers: { ...headers, ...(proxyAuth ? { 'proxy-authorization': proxyAuth } : {}) } };
    }
  } else {
    options = { ...(isHttps ? tlsOptions : {}), method: req.method, host: url.hostname, port: url.port || (isHttps ? 443 : 80), path: url.pathname + url.search, headers };
  }
  return new Promise<Answer>((resolve, reject) => {
    const r = mod.request(options, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size <= MAX_ANSWER_BYTES) chunks.push(c);
      });
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) return resolve({ status, body: Buffer.concat(chunks).toString('utf8') });
        // 408, 429 and 5xx: the service may take it later; other 4xx will not change.
        const retryable = status === 408 || status === 429 || status >= 500;
        reject(new DeliveryError(`${where} answered HTTP ${status}`, retryable, status));
      });
      res.on('error', (err) => reject(new DeliveryError(`${where}: ${err.message}`, true)));
    });
    r.setTimeout(t.timeoutMs, () => r.destroy(new Error(`no answer within ${t.timeoutMs} ms`)));
    r.on('error', (err) => {
      const code = (err as NodeJS.ErrnoException).code ?? '';
      // A certificate the CA does not vouch for will not get better by retrying.
      const tlsError = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|HOSTNAME/.test(code) || /certificate/i.test(err.message);
      reject(new DeliveryError(`${where}: ${err.message}`, !tlsError));
    });
    r.end(body);
  });
}

function connectTunnel(proxy: URL, target: URL, auth: string | undefined, timeoutMs: number): Promise<import('node:net').Socket> {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: proxy.hostname,
      port: proxy.port || 80,
      method: 'CONNECT',
      path: `${target.hostname}:${target.port || 443}`,
      headers: { host: `${target.hostname}:${target.port || 443}`, ...(auth ? { 'proxy-authorization': auth } : {}) },
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error('proxy did not answer')));
    req.on('connect', (res, socket) => {
      if (res.statusCode !== 200) {
        socket.destroy();
        return reject(new DeliveryError(`proxy ${safeUrl(proxy.toString())} refused the tunnel: HTTP ${res.statusCode}`, res.statusCode! >= 500));
      }
      resolve(socket);
    });
    req.on('error', (err) => reject(new DeliveryError(`proxy ${safeUrl(proxy.toString())}: ${err.message}`, true)));
    req.end();
  });
}
