// nats: the event JSON published on the subject spec.channel of the NATS
// server at spec.address (nats://host:4222, tls://... with certSecretRef's
// CA), with the Secret's username and password when both are set, through
// the NATS project's client. One connection per delivery, flushed and closed,
// as Flux does; a publish the server refuses (permissions) fails it.
import { connect, type ConnectionOptions } from '@nats-io/transport-node';
import { DeliveryError, safeUrl } from '../send.ts';
import type { DeliveryContext, Notifier, ProviderSettings } from './types.ts';

function checkServer(address: string): string | undefined {
  if (!address) return 'nats needs the server URL in spec.address (nats://host:4222)';
  try {
    const u = new URL(address);
    if (!['nats:', 'tls:'].includes(u.protocol)) return `the nats address must be a nats:// or tls:// URL, not ${u.protocol}`;
  } catch {
    return 'the nats address is not a valid URL';
  }
  return undefined;
}

export const nats: Notifier = {
  check: (s) => checkServer(s.address) ?? (s.channel ? undefined : 'nats needs the subject in spec.channel'),
  async deliver(event, s: ProviderSettings, { transport }: DeliveryContext) {
    const u = new URL(s.address);
    const options: ConnectionOptions = {
      servers: `${u.hostname.includes(':') ? `[${u.hostname}]` : u.hostname}:${u.port || 4222}`,
      name: 'NATS Provider Publisher',
      timeout: transport.timeoutMs,
      reconnect: false,
      maxReconnectAttempts: 0,
      ...(s.basic?.username && s.basic.password ? { user: s.basic.username, pass: s.basic.password } : {}),
      ...(u.protocol === 'tls:' || transport.ca ? { tls: { ...(transport.ca ? { ca: transport.ca.toString('utf8') } : {}), ...(transport.cert && transport.key ? { cert: transport.cert.toString('utf8'), key: transport.key.toString('utf8') } : {}) } } : {}),
    };
    let nc;
    try {
      nc = await connect(options);
    } catch (err) {
      // Refused credentials will not get better; a server that is away may come back.
      const auth = /authoriz|authentic/i.test(String((err as Error).message));
      throw new DeliveryError(`${safeUrl(s.address.replace(/^(nats|tls):/, 'http:'))}: ${(err as Error).message}`, !auth);
    }
    try {
      nc.publish(s.channel!, JSON.stringify(event));
      await nc.flush();
    } catch (err) {
      throw new DeliveryError(`publishing to subject ${s.channel}: ${(err as Error).message}`, true);
    } finally {
      await nc.close().catch(() => undefined);
    }
  },
};
