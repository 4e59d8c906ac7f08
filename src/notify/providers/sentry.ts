// sentry: the event sent to the Sentry project of the DSN (spec.address,
// `https://<public key>@<host>/<project>`) as its SDKs send: an envelope POSTed
// to /api/<project>/envelope/ with X-Sentry-Auth naming the key. As in Flux,
// errors are error events (level error, the reporting controller as server,
// the metadata as extra) and info events are transactions with one span, so
// they chart how often Flux acts without raising alerts. spec.channel is the
// environment.
import { randomBytes } from 'node:crypto';
import type { FluxEvent } from '../../runtime/eventsink.ts';
import type { Notifier, ProviderSettings } from './types.ts';

interface Dsn {
  key: string;
  /** Where the envelope goes. */
  envelopeUrl: string;
}

function parseDsn(address: string): Dsn | undefined {
  try {
    const u = new URL(address);
    const parts = u.pathname.split('/').filter(Boolean);
    const project = parts.pop();
    if (!u.username || !project || (u.protocol !== 'https:' && u.protocol !== 'http:')) return undefined;
    const prefix = parts.length ? `/${parts.join('/')}` : '';
    return { key: decodeURIComponent(u.username), envelopeUrl: `${u.protocol}//${u.host}${prefix}/api/${project}/envelope/` };
  } catch {
    return undefined;
  }
}

const hex = (bytes: number) => randomBytes(bytes).toString('hex');

function summary(e: FluxEvent): string {
  const o = e.involvedObject;
  return `${o.kind}: ${o.namespace ?? ''}/${o.name}`;
}

function sentryItem(e: FluxEvent, s: ProviderSettings, eventId: string): { type: string; payload: Record<string, unknown> } {
  const seconds = Date.parse(e.timestamp) / 1000;
  const base = { event_id: eventId, platform: 'other', timestamp: seconds, transaction: summary(e), message: e.message, ...(s.channel ? { environment: s.channel } : {}) };
  if (e.severity === 'error') {
    return { type: 'event', payload: { ...base, level: 'error', server_name: e.reportingController, extra: { ...(e.metadata ?? {}) } } };
  }
  const o = e.involvedObject;
  const tags: Record<string, string> = {
    flux_involved_object_kind: o.kind,
    flux_involved_object_namespace: o.namespace ?? '',
    flux_involved_object_name: o.name,
    flux_reporting_controller: e.reportingController,
    flux_reporting_instance: e.reportingInstance ?? '',
    flux_reason: e.reason,
    ...(e.metadata ?? {}),
  };
  const trace = { trace_id: hex(16), span_id: hex(8), op: 'event' };
  const span = { ...trace, start_timestamp: seconds, timestamp: seconds, tags };
  return { type: 'transaction', payload: { ...base, type: 'transaction', start_timestamp: seconds, tags, contexts: { trace }, spans: [span] } };
}

export const sentry: Notifier = {
  check: (s) => (parseDsn(s.address) ? undefined : 'sentry needs the project\'s DSN in spec.address (https://<public key>@<host>/<project id>)'),
  build(event, s) {
    const dsn = parseDsn(s.address)!;
    const eventId = hex(16);
    const item = sentryItem(event, s, eventId);
    const payload = JSON.stringify(item.payload);
    const envelope = [
      JSON.stringify({ event_id: eventId, sent_at: new Date().toISOString(), dsn: s.address }),
      JSON.stringify({ type: item.type, length: Buffer.byteLength(payload), content_type: 'application/json' }),
      payload,
    ].join('\n');
    return [
      {
        method: 'POST',
        url: dsn.envelopeUrl,
        headers: { ...s.headers, 'content-type': 'application/x-sentry-envelope', 'x-sentry-auth': `Sentry sentry_version=7, sentry_client=sluice/1, sentry_key=${dsn.key}` },
        body: `${envelope}\n`,
      },
    ];
  },
};
