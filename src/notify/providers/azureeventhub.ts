// azureeventhub: the event JSON sent to an Azure Event Hub through the Event
// Hubs REST API ("Send event": POST https://<namespace>/<hub>/messages).
// Flux sends over AMQP with Azure's Go SDK; the REST API takes the same event
// into the same hub, and needs no AMQP stack. Two ways to authenticate, as in
// Flux: spec.address (or the Secret's address) a connection string with a
// shared access key (Endpoint=sb://<ns>/;SharedAccessKeyName=..;SharedAccessKey=..;EntityPath=<hub>),
// from which a SAS token is signed per request; or spec.address the hub's
// name, spec.channel the namespace and the Secret's token a JWT (Bearer).
// Workload identity (no token, no key) is not available in Sluice.
import { createHmac } from 'node:crypto';
import { json, type Notifier, type ProviderSettings } from './types.ts';

interface Target {
  /** https://<namespace host>/<hub> */
  resource: string;
  auth: { sas: { keyName: string; key: string } } | { bearer: string };
}

function connectionString(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of s.split(';')) {
    const i = part.indexOf('=');
    if (i > 0) out[part.slice(0, i).trim().toLowerCase()] = part.slice(i + 1).trim();
  }
  return out;
}

function target(s: ProviderSettings): Target | string {
  if (s.address.includes('SharedAccessKey')) {
    if (s.token) return 'azureeventhub: a connection string with a shared access key and a JWT token cannot be set at the same time';
    const c = connectionString(s.address);
    if (!c.endpoint || !c.sharedaccesskeyname || !c.sharedaccesskey) return 'azureeventhub: the connection string needs Endpoint, SharedAccessKeyName and SharedAccessKey';
    if (!c.entitypath) return 'azureeventhub: the connection string needs EntityPath (the event hub)';
    let host: string;
    try {
      host = new URL(c.endpoint).host;
    } catch {
      return 'azureeventhub: the connection string\'s Endpoint is not a URL';
    }
    return { resource: `https://${host}/${encodeURIComponent(c.entitypath)}`, auth: { sas: { keyName: c.sharedaccesskeyname, key: c.sharedaccesskey } } };
  }
  if (!s.address) return 'azureeventhub needs spec.address: a connection string, or the event hub\'s name with a JWT token';
  if (!s.token) return 'azureeventhub needs a JWT in the token key of spec.secretRef, or a connection string with a shared access key (workload identity is not supported by Sluice)';
  if (!s.channel) return 'azureeventhub with a JWT needs the Event Hubs namespace in spec.channel';
  const host = s.channel.includes('.') ? s.channel : `${s.channel}.servicebus.windows.net`;
  return { resource: `https://${host}/${encodeURIComponent(s.address)}`, auth: { bearer: s.token } };
}

/** A shared access signature for the resource, valid for an hour (Azure's "Generate SAS token"). */
export function sasToken(resource: string, keyName: string, key: string, nowSeconds = Math.floor(Date.now() / 1000)): string {
  const expiry = nowSeconds + 3600;
  const encoded = encodeURIComponent(resource);
  const sig = createHmac('sha256', key).update(`${encoded}\n${expiry}`).digest('base64');
  return `SharedAccessSignature sr=${encoded}&sig=${encodeURIComponent(sig)}&se=${expiry}&skn=${encodeURIComponent(keyName)}`;
}

export const azureeventhub: Notifier = {
  check: (s) => {
    const t = target(s);
    return typeof t === 'string' ? t : undefined;
  },
  build(event, s) {
    if (event.metadata?.commit_status === 'update') return [];
    const t = target(s) as Target;
    const authorization = 'sas' in t.auth ? sasToken(t.resource, t.auth.sas.keyName, t.auth.sas.key) : `Bearer ${t.auth.bearer}`;
    return [
      {
        method: 'POST',
        url: `${t.resource}/messages?timeout=60&api-version=2014-01`,
        headers: { ...s.headers, authorization, 'content-type': 'application/atom+xml;type=entry;charset=utf-8' },
        body: json(event),
      },
    ];
  },
};
