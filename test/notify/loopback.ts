// A loopback HTTP server that records every request (method, path, headers,
// body) and answers what the test tells it to: the stand-in for Slack, a
// forge or an incident service.
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';

export interface Recorded {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  json?: unknown;
}

export interface Loopback {
  url: string;
  requests: Recorded[];
  /** Status to answer with (default 200 / 201 for POST to statuses). */
  answer: (r: Recorded) => number;
  /** When set and it gives an answer, that status and body are sent instead (a forge's JSON, a token). */
  respond?: (r: Recorded) => { status: number; body: string } | undefined;
  close(): Promise<void>;
}

export async function startLoopback(tls?: { key: string | Buffer; cert: string | Buffer }): Promise<Loopback> {
  const lb: Loopback = { url: '', requests: [], answer: () => 200, close: async () => undefined };
  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let json: unknown;
      try {
        json = JSON.parse(body);
      } catch {
        json = undefined;
      }
      const r: Recorded = { method: req.method!, path: req.url!, headers: req.headers, body, json };
      lb.requests.push(r);
      const custom = lb.respond?.(r);
      const status = custom?.status ?? lb.answer(r);
      res.writeHead(status, { 'content-type': 'application/json' }).end(custom?.body ?? '{}');
    });
  };
  const server = tls ? https.createServer(tls, handler) : http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  lb.url = `${tls ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}`;
  lb.close = () => new Promise<void>((r) => {
    server.close(() => r());
    server.closeAllConnections();
  });
  return lb;
}
