// otel: the event as one OpenTelemetry span, exported with OTLP over HTTP
// (JSON encoding, which every OTLP/HTTP receiver takes) to spec.address, the
// collector's traces URL (http://collector:4318/v1/traces). As Flux makes it:
// the service is the Alert (`<namespace>/<name>`), the trace ID the first 16
// bytes of sha256("<alert uid>:<revision>"), the span ID the first 8 bytes of
// sha256("<object uid>:<revision>"), so every object of one revision lands in
// one trace; status OK for info and ERROR for errors; the object and the
// metadata as attributes. Auth: the Secret's headers, else basic auth from
// username/password, else the token as Bearer.
// The hierarchy, as Flux walks it (from the operator's caches): an object
// applied by a Kustomization (its kustomize.toolkit.fluxcd.io/name and
// namespace labels) belongs to the trace of the root Kustomization's
// revision; a source's parent span is the Kustomization right above it, any
// other object's the root's (same revision) or its own source's (sourceRef,
// chartRef); an object no Kustomization applied hangs under its source.
import { createHash } from 'node:crypto';
import type { FluxEvent } from '../../runtime/eventsink.ts';
import type { KubeObject } from '../../kube/object.ts';
import { basicAuth, jsonHeaders, json, needAddress, type Notifier, type ObjectLookup } from './types.ts';

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

const SOURCES = new Set(['GitRepository', 'HelmChart', 'OCIRepository', 'Bucket', 'ExternalArtifact']);
const KS_NAME = 'kustomize.toolkit.fluxcd.io/name';
const KS_NAMESPACE = 'kustomize.toolkit.fluxcd.io/namespace';

/** A Kustomization's revision as Flux's tracer reads it. */
function appliedRevision(o: KubeObject): string {
  const st = (o.status ?? {}) as { lastAppliedRevision?: string; artifact?: { revision?: string } };
  return st.lastAppliedRevision ?? st.artifact?.revision ?? 'unknown';
}

/** The Kustomizations above an object, nearest first, with their UIDs and revisions. */
function kustomizationsAbove(lookup: ObjectLookup, kind: string, ns: string, name: string): Array<{ uid: string; revision: string }> {
  const out: Array<{ uid: string; revision: string }> = [];
  const seen = new Set<string>();
  let labels = lookup(kind, ns, name)?.metadata.labels;
  while (labels?.[KS_NAME] && labels[KS_NAMESPACE]) {
    const key = `${labels[KS_NAMESPACE]}/${labels[KS_NAME]}`;
    if (seen.has(key)) break;
    seen.add(key);
    const ks = lookup('Kustomization', labels[KS_NAMESPACE], labels[KS_NAME]);
    if (!ks) break;
    out.push({ uid: ks.metadata.uid ?? '', revision: appliedRevision(ks) });
    labels = ks.metadata.labels;
  }
  return out;
}

/** The UID of the object's source (chartRef, else sourceRef; a HelmRepository's chart as Flux names it). */
function sourceUid(lookup: ObjectLookup, e: FluxEvent): string {
  const o = e.involvedObject;
  const obj = lookup(o.kind, o.namespace ?? '', o.name);
  const spec = (obj?.spec ?? {}) as { chartRef?: { kind?: string; name?: string; namespace?: string }; sourceRef?: { kind?: string; name?: string; namespace?: string } };
  let ref = spec.chartRef;
  if (spec.sourceRef) ref = { ...spec.sourceRef, kind: spec.sourceRef.kind === 'HelmRepository' ? 'HelmChart' : spec.sourceRef.kind };
  if (!ref?.name || !ref.kind) return '';
  return lookup(ref.kind, ref.namespace ?? o.namespace ?? '', ref.name)?.metadata.uid ?? '';
}

/** The trace's revision and the parent span's object and revision, as Flux's tracer decides them. */
export function traceShape(e: FluxEvent, lookup: ObjectLookup | undefined): { revision: string; parentUid: string; parentRevision: string } {
  const o = e.involvedObject;
  let parentRevision = traceRevision(e);
  let revision = parentRevision;
  let parentUid = '';
  if (!lookup) return { revision, parentUid, parentRevision };
  const above = kustomizationsAbove(lookup, o.kind, o.namespace ?? '', o.name);
  if (above.length) {
    const root = above.at(-1)!;
    revision = root.revision;
    if (SOURCES.has(o.kind)) {
      parentUid = above[0]!.uid;
      parentRevision = above[0]!.revision;
    } else if (parentRevision === revision) parentUid = root.uid;
    else parentUid = sourceUid(lookup, e);
  } else if (!SOURCES.has(o.kind)) parentUid = sourceUid(lookup, e);
  return { revision, parentUid, parentRevision };
}

export const otel: Notifier = {
  check: needAddress,
  build(event, s) {
    const o = event.involvedObject;
    // HelmRepository is not a source of a trace in Flux: skipped.
    if (o.kind === 'HelmRepository') return [];
    const alert = s.alert ?? { name: '', namespace: '', uid: '' };
    const shape = traceShape(event, s.lookup);
    const nanos = `${BigInt(Date.parse(event.timestamp)) * 1_000_000n}`;
    const span = {
      traceId: id(`${alert.uid}:${shape.revision}`, 16),
      spanId: id(`${o.uid ?? ''}:${traceRevision(event)}`, 8),
      ...(shape.parentUid ? { parentSpanId: id(`${shape.parentUid}:${shape.parentRevision}`, 8) } : {}),
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
