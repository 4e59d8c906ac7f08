// datadog: Datadog's "post an event" API (POST /api/v1/events on the site at
// spec.address, e.g. https://api.datadoghq.eu), the API key in DD-API-KEY.
// Tags as Flux sets them (kube_kind, kube_name, ..., the metadata), in lower
// case as Datadog stores them.
import { jsonHeaders, json, needAddress, type Notifier } from './types.ts';

export const datadog: Notifier = {
  check: (s) => needAddress(s) ?? (s.token ? undefined : 'datadog needs the API key (key token in spec.secretRef)'),
  build(event, s) {
    const o = event.involvedObject;
    const tags = [
      `flux_reporting_controller:${event.reportingController}`,
      `flux_reason:${event.reason}`,
      `kube_kind:${o.kind}`,
      `kube_name:${o.name}`,
      `kube_namespace:${o.namespace ?? ''}`,
      ...Object.entries(event.metadata ?? {}).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}:${v}`),
    ].map((t) => t.toLowerCase());
    const body = {
      title: `Events from the ${o.kind} ${o.name}/${o.namespace ?? ''}`,
      text: event.message,
      tags,
      source_type_name: 'fluxcd',
      date_happened: Math.floor(Date.parse(event.timestamp) / 1000),
      alert_type: event.severity === 'error' ? 'error' : 'info',
    };
    return [{ method: 'POST', url: `${new URL(s.address).origin}/api/v1/events`, headers: jsonHeaders(s, { 'dd-api-key': s.token!, accept: 'application/json' }), body: json(body) }];
  },
};
