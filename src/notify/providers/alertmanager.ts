// alertmanager: POST an alert to Alertmanager's API v2 (/api/v2/alerts), labels from the event.
import { basicAuth, jsonHeaders, json, needAddress, type Notifier } from './types.ts';

export const alertmanager: Notifier = {
  check: needAddress,
  build(event, s) {
    const o = event.involvedObject;
    const { summary, ...rest } = event.metadata ?? {};
    const labels: Record<string, string> = {
      alertname: `Flux${o.kind}${event.reason.charAt(0).toUpperCase()}${event.reason.slice(1)}`,
      severity: event.severity,
      reason: event.reason,
      kind: o.kind,
      name: o.name,
      namespace: o.namespace ?? '',
      reportingController: event.reportingController,
      ...rest,
    };
    const alert = {
      status: 'firing',
      labels,
      annotations: { message: event.message, ...(summary ? { summary } : {}) },
      startsAt: event.timestamp,
    };
    const headers = s.token ? jsonHeaders(s, { authorization: `Bearer ${s.token}` }) : s.basic ? jsonHeaders(s, { authorization: basicAuth(s.basic.username, s.basic.password) }) : jsonHeaders(s);
    return [{ method: 'POST', url: s.address, headers, body: json([alert]) }];
  },
};
