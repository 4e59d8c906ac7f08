// The HTTP server of the artifact storage: serves the stored tarballs.
import { createReadStream } from 'node:fs';
import { lstat, realpath } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sep } from 'node:path';
import type { Storage } from './storage.ts';

export interface StorageServerOptions {
  /** Address to bind (default 127.0.0.1: only this machine). */
  host?: string;
  /** Port (default 0: any free port). */
  port?: number;
  /** Set storage.baseUrl to this server's URL when it has none (default true). */
  setBaseUrl?: boolean;
}

export interface StorageServer {
  /** e.g. http://127.0.0.1:40123 */
  url: string;
  port: number;
  server: Server;
  close(): Promise<void>;
}

/**
 * Serves stored artifacts over HTTP by their storage path, so that
 * `status.artifact.url` can be fetched by other processes. Read-only (GET and
 * HEAD), regular files only, nothing outside the storage root, no dot-files
 * (the scratch area lives in .tmp).
 */
export async function startStorageServer(storage: Storage, opts: StorageServerOptions = {}): Promise<StorageServer> {
  const host = opts.host ?? '127.0.0.1';
  const server = createServer((req, res) => {
    handle(storage, req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  if (opts.setBaseUrl !== false && !storage.baseUrl) storage.baseUrl = url;
  return {
    url,
    port,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function handle(storage: Storage, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { Allow: 'GET, HEAD' });
    res.end();
    return;
  }
  const notFound = () => {
    res.writeHead(404, { 'Content-Type': 'text/plain' });
    res.end('not found\n');
  };
  let path: string;
  try {
    path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
  } catch {
    return notFound();
  }
  const parts = path.split('/').filter(Boolean);
  if (!parts.length || parts.some((p) => p.startsWith('.') || p.includes('\\') || p.includes('\0'))) return notFound();
  let abs: string;
  try {
    abs = storage.localPath(parts.join('/'));
    const st = await lstat(abs);
    if (!st.isFile()) return notFound();
    const real = await realpath(abs);
    const root = await realpath(storage.root);
    if (!real.startsWith(root + sep)) return notFound();
    res.writeHead(200, {
      'Content-Type': abs.endsWith('.tar.gz') ? 'application/gzip' : 'application/octet-stream',
      'Content-Length': String(st.size),
      'Last-Modified': st.mtime.toUTCString(),
    });
  } catch {
    return notFound();
  }
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  const stream = createReadStream(abs);
  stream.on('error', () => res.destroy());
  stream.pipe(res);
}
