// Alerting and incident services: Prometheus Alertmanager (API v2 alerts),
// Grafana (annotations API), Opsgenie (Alert API v2) and PagerDuty (Events
// API v2: errors trigger, other events resolve).
import { basicAuth, jsonHeaders, json, needAddress, objectTitle, type Notifier } from './types.ts';

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

export const grafana: Notifier = {
  check: needAddress,
  build(event, s) {
    const o = event.involvedObject;
    const tags = ['flux', event.reportingController, `kind: ${o.kind}`, `name: ${o.name}`, `namespace: ${o.namespace ?? ''}`, ...Object.entries(event.metadata ?? {}).map(([k, v]) => `${k}: ${v}`)];
    const auth: Record<string, string> = s.token ? { authorization: `Bearer ${s.token}` } : s.basic ? { authorization: basicAuth(s.basic.username, s.basic.password) } : {};
    return [{ method: 'POST', url: s.address, headers: jsonHeaders(s, auth), body: json({ time: Date.parse(event.timestamp), text: `${objectTitle(event)}: ${event.message}`, tags }) }];
  },
};

export const opsgenie: Notifier = {
  check: (s) => needAddress(s) ?? (s.token ? undefined : 'opsgenie needs the API key (key token in spec.secretRef)'),
  build(event, s) {
    const o = event.involvedObject;
    const details: Record<string, string> = { kind: o.kind, name: o.name, namespace: o.namespace ?? '', severity: event.severity, reason: event.reason, ...event.metadata };
    const body = { message: `${objectTitle(event)}: ${event.message}`.slice(0, 130), description: event.message, details, tags: ['flux', event.severity] };
    return [{ method: 'POST', url: s.address, headers: jsonHeaders(s, { authorization: `GenieKey ${s.token}` }), body: json(body) }];
  },
};

export const pagerduty: Notifier = {
  check: (s) => needAddress(s) ?? (s.channel ? undefined : 'pagerduty needs spec.channel (the integration routing key)'),
  build(event, s) {
    const o = event.involvedObject;
    const dedup = `${o.kind}/${o.namespace ?? ''}/${o.name}`;
    const url = new URL(s.address);
    if (url.pathname === '/' || url.pathname === '') url.pathname = '/v2/enqueue';
    const body =
      event.severity === 'error'
        ? {
            routing_key: s.channel,
            event_action: 'trigger',
            dedup_key: dedup,
            payload: {
              summary: `${objectTitle(event)}: ${event.message}`.slice(0, 1024),
              source: event.reportingController,
              severity: 'error',
              timestamp: event.timestamp,
              component: o.name,
              group: o.kind,
              custom_details: { reason: event.reason, ...event.metadata },
            },
          }
        : { routing_key: s.channel, event_action: 'resolve', dedup_key: dedup };
    return [{ method: 'POST', url: url.toString(), headers: jsonHeaders(s), body: json(body) }];
  },
};
