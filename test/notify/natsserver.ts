// A stand-in NATS server on loopback that speaks the client protocol's text
// form (INFO, CONNECT, PUB, PING/PONG) and records what clients send: the
// place a NATS Provider's delivery is checked, since no nats-server binary is
// on the machine. It requires the user and password it is given and answers
// -ERR 'Authorization Violation' otherwise, as nats-server does.
import net from 'node:net';
import type { AddressInfo } from 'node:net';

export interface NatsStandIn {
  port: number;
  connects: Array<Record<string, unknown>>;
  published: Array<{ subject: string; payload: string }>;
  close(): Promise<void>;
}

export async function startNatsStandIn(auth: { user: string; pass: string }): Promise<NatsStandIn> {
  const s: NatsStandIn = { port: 0, connects: [], published: [], close: async () => undefined };
  const sockets = new Set<net.Socket>();
  const server = net.createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.write(`INFO ${JSON.stringify({ server_id: 'STANDIN', server_name: 'standin', version: '2.10.0', proto: 1, headers: true, max_payload: 1048576, auth_required: true, host: '127.0.0.1', port: s.port })}\r\n`);
    let buf = Buffer.alloc(0);
    let authed = false;
    sock.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        const eol = buf.indexOf('\r\n');
        if (eol < 0) return;
        const line = buf.subarray(0, eol).toString('utf8');
        const [op, ...args] = line.split(' ');
        if (op?.toUpperCase() === 'PUB') {
          // PUB <subject> [reply] <#bytes>\r\n<payload>\r\n
          const size = Number(args.at(-1));
          if (buf.length < eol + 2 + size + 2) return;
          const payload = buf.subarray(eol + 2, eol + 2 + size).toString('utf8');
          buf = buf.subarray(eol + 2 + size + 2);
          if (authed) s.published.push({ subject: args[0]!, payload });
          continue;
        }
        buf = buf.subarray(eol + 2);
        if (op?.toUpperCase() === 'CONNECT') {
          const c = JSON.parse(line.slice('CONNECT '.length)) as Record<string, unknown>;
          s.connects.push({ ...c, pass: c.pass ? '(set)' : undefined });
          if (c.user !== auth.user || c.pass !== auth.pass) {
            sock.end("-ERR 'Authorization Violation'\r\n");
            return;
          }
          authed = true;
        } else if (op?.toUpperCase() === 'PING') {
          if (authed) sock.write('PONG\r\n');
        }
      }
    });
    sock.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  s.port = (server.address() as AddressInfo).port;
  s.close = () =>
    new Promise<void>((r) => {
      for (const sock of sockets) sock.destroy();
      server.close(() => r());
    });
  return s;
}
