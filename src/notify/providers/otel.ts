// otel: the event as one OpenTelemetry span, exported with OTLP over HTTP
// (JSON encoding, which every OTLP/HTTP receiver takes) to spec.address, the
// collector's traces URL (http://collector:4318/v1/traces). As Flux makes it:
// the service is the Alert (`<namespace>/<name>`), the trace ID the first 16
// bytes of sha256("<alert uid>:<revision>"), the span ID the first 8 bytes of
// sha256("<object uid>:<revision>"), so every object of one revision lands in
// one trace; status OK for info and ERROR for errors; the object and the
// metadata as attributes. Auth: the Secret's headers, else basic auth from
// username/password, else the token as Bearer.
// Not done: Flux also looks up the object's Kustomization (its labels) to
// make the Kustomization's span the parent and take the root's revision; Sluice
// keeps each span at the top of its trace.
import { createHash } from 'node:crypto';
import type { FluxEvent } from '../../runtime/eventsink.ts';
import { basicAuth, jsonHeaders, json, needAddress, type Notifier } from './types.ts';

const id = (input: string, bytes: number) => createHash('sha256').update(input).digest('hex').slice(0, bytes * 2);
const attr = (key: string, value: string) => ({ key, value: { stringValue: value } });

/** The revision an event is about, as Flux's tracer takes it. */
export function traceRevision(e: FluxEvent): string {
  const m = e.metadata ?? {};
  if (m['source-revision']) return m['source-revision'];
  const rev = m.revision ?? m.originRevision;
  if (!rev) return 'unknown';
  if (m['oci-digest'] && m['app-version']) return `${m['app-version']}@${m['oci-digest']}`;
  return rev;
}

export const otel: Notifier = {
  check: needAddress,
  build(event, s) {
    const o = event.involvedObject;
    // HelmRepository is not a source of a trace in Flux: skipped.
    if (o.kind === 'HelmRepository') return [];
    const alert = s.alert ?? { name: '', namespace: '', uid: '' };
    const revision = traceRevision(event);
    const nanos = `${BigInt(Date.parse(event.timestamp)) * 1_000_000n}`;
    const span = {
      traceId: id(`${alert.uid}:${revision}`, 16),
      spanId: id(`${o.uid ?? ''}:${revision}`, 8),
      name: `${o.kind}: ${o.namespace ?? ''}/${o.name}`,
      kind: 1,
      startTimeUnixNano: nanos,
      endTimeUnixNano: nanos,
      attributes: [
        attr('object.uid', o.uid ?? ''),
        attr('object.kind', o.kind),
        attr('object.name', o.name),
        attr('object.namespace', o.namespace ?? ''),
        ...Object.entries(event.metadata ?? {}).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => attr(k, v)),
      ],
      status: { code: event.severity === 'error' ? 2 : 1, message: event.message },
    };
    const body = {
      resourceSpans: [
        {
          resource: { attributes: [attr('service.name', `${alert.namespace}/${alert.name}`), attr('service.namespace', alert.namespace), attr('service.instance.id', alert.uid)] },
          scopeSpans: [{ scope: { name: 'flux:notification-controller' }, spans: [span] }],
        },
      ],
    };
    const auth: Record<string, string> = s.headers.authorization ? {} : s.basic ? { authorization: basicAuth(s.basic.username, s.basic.password) } : s.token ? { authorization: `Bearer ${s.token}` } : {};
    return [{ method: 'POST', url: s.address, headers: jsonHeaders(s, auth), body: json(body) }];
  },
};
