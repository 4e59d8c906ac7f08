import { spawn } from 'node:child_process';
import { timingSafeEqual } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

/** Server certificate and key (and the CA for client certificates), PEM. */
export interface TlsMaterial {
  serverKey: string | Buffer;
  serverCert: string | Buffer;
  caCert: string | Buffer;
}

// A smart-HTTP Git server (for tests and the demo): Node's HTTP(S) server in front of
// `git http-backend` (CGI), serving every bare repository under `root`,
// bound to 127.0.0.1 on a random port. Optional basic or bearer auth,
// optional TLS (with optional client certificates), and a log of every
// request with the bytes that went each way and the protocol-v2 command.

export interface GitHttpServerOptions {
  /** Directory holding the bare repositories (served as /<path>.git). */
  root: string;
  basicAuth?: { username: string; password: string };
  bearerToken?: string;
  /** Serve HTTPS with this material. */
  tls?: TlsMaterial;
  /** With tls: require a client certificate signed by the CA. */
  requireClientCert?: boolean;
  /** Delay every response by this much (to observe processes during a fetch). */
  delayMs?: number;
}

export interface RequestRecord {
  method: string;
  path: string;
  status: number;
  /** Protocol-v2 command in the request body (ls-refs, fetch), if any. */
  command?: string;
  bytesIn: number;
  bytesOut: number;
}

export interface GitHttpServer {
  /** http(s)://127.0.0.1:<port> */
  baseUrl: string;
  port: number;
  /** URL of a repository: baseUrl + '/' + name + '.git' */
  url(name: string): string;
  readonly requests: RequestRecord[];
  /** Sums over `requests`. */
  totals(): { requests: number; bytesIn: number; bytesOut: number; fetches: number; lsRefs: number };
  resetStats(): void;
  close(): Promise<void>;
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function v2Command(body: Buffer): string | undefined {
  const m = /^[0-9a-f]{4}command=([a-z-]+)/.exec(body.subarray(0, 64).toString('latin1'));
  return m?.[1];
}

export async function startGitHttpServer(opts: GitHttpServerOptions): Promise<GitHttpServer> {
  const requests: RequestRecord[] = [];

  const authorized = (req: IncomingMessage): boolean => {
    const header = req.headers.authorization ?? '';
    if (opts.bearerToken) return safeEqual(header, `Bearer ${opts.bearerToken}`);
    if (opts.basicAuth) {
      const expected = Buffer.from(`${opts.basicAuth.username}:${opts.basicAuth.password}`).toString('base64');
      return safeEqual(header, `Basic ${expected}`);
    }
    return true;
  };

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const url = new URL(req.url ?? '/', 'http://x');
      const record: RequestRecord = { method: req.method ?? 'GET', path: url.pathname, status: 0, bytesIn: body.length, bytesOut: 0 };
      requests.push(record);
      const respond = () => {
        if (!authorized(req)) {
          record.status = 401;
          res.writeHead(401, {
            'WWW-Authenticate': opts.bearerToken ? 'Bearer realm="git"' : 'Basic realm="git"',
            'Content-Type': 'text/plain',
          });
          res.end('authentication required\n');
          return;
        }
        let plain = body;
        if (req.headers['content-encoding'] === 'gzip' && body.length) {
          try {
            plain = gunzipSync(body);
          } catch {
            /* leave as is */
          }
        }
        record.command = v2Command(plain);
        runBackend(req, url, body, res, record);
      };
      if (opts.delayMs) setTimeout(respond, opts.delayMs);
      else respond();
    });
  };

  const runBackend = (req: IncomingMessage, url: URL, body: Buffer, res: ServerResponse, record: RequestRecord) => {
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      GIT_PROJECT_ROOT: opts.root,
      GIT_HTTP_EXPORT_ALL: '1',
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
      GATEWAY_INTERFACE: 'CGI/1.1',
      SERVER_PROTOCOL: 'HTTP/1.1',
      REQUEST_METHOD: req.method,
      PATH_INFO: decodeURIComponent(url.pathname),
      QUERY_STRING: url.search.replace(/^\?/, ''),
      CONTENT_TYPE: req.headers['content-type'] ?? '',
      CONTENT_LENGTH: String(body.length),
      REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
      REMOTE_USER: opts.basicAuth?.username ?? (opts.bearerToken ? 'token' : ''),
    };
    if (req.headers['git-protocol']) env.GIT_PROTOCOL = String(req.headers['git-protocol']);
    if (req.headers['content-encoding']) env.HTTP_CONTENT_ENCODING = String(req.headers['content-encoding']);
    const child = spawn('git', ['http-backend'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let headerBuf = Buffer.alloc(0);
    let headersDone = false;
    child.stdout.on('data', (chunk: Buffer) => {
      if (headersDone) {
        record.bytesOut += chunk.length;
        res.write(chunk);
        return;
      }
      headerBuf = Buffer.concat([headerBuf, chunk]);
      let end = headerBuf.indexOf('\r\n\r\n');
      let sepLen = 4;
      if (end < 0) {
        end = headerBuf.indexOf('\n\n');
        sepLen = 2;
      }
      if (end < 0) return;
      headersDone = true;
      const headerText = headerBuf.subarray(0, end).toString('latin1');
      const rest = headerBuf.subarray(end + sepLen);
      let status = 200;
      const headers: Record<string, string> = {};
      for (const line of headerText.split(/\r?\n/)) {
        const i = line.indexOf(':');
        if (i < 0) continue;
        const k = line.slice(0, i).trim();
        const v = line.slice(i + 1).trim();
        if (k.toLowerCase() === 'status') status = parseInt(v, 10);
        else headers[k] = v;
      }
      record.status = status;
      res.writeHead(status, headers);
      if (rest.length) {
        record.bytesOut += rest.length;
        res.write(rest);
      }
    });
    child.stderr.on('data', () => {});
    child.on('close', () => {
      if (!headersDone) {
        record.status = 500;
        res.writeHead(500);
      }
      res.end();
    });
    child.stdin.on('error', () => {});
    child.stdin.end(body);
  };

  let server: Server;
  if (opts.tls) {
    server = createHttpsServer(
      {
        key: opts.tls.serverKey,
        cert: opts.tls.serverCert,
        ca: opts.requireClientCert ? opts.tls.caCert : undefined,
        requestCert: !!opts.requireClientCert,
        rejectUnauthorized: !!opts.requireClientCert,
      },
      handler,
    );
  } else {
    server = createHttpServer(handler);
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const baseUrl = `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  return {
    baseUrl,
    port,
    url: (name) => `${baseUrl}/${name}.git`,
    requests,
    totals() {
      return {
        requests: requests.length,
        bytesIn: requests.reduce((a, r) => a + r.bytesIn, 0),
        bytesOut: requests.reduce((a, r) => a + r.bytesOut, 0),
        fetches: requests.filter((r) => r.command === 'fetch' || (r.path.endsWith('/git-upload-pack') && !r.command)).length,
        lsRefs: requests.filter((r) => r.command === 'ls-refs').length,
      };
    },
    resetStats() {
      requests.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
