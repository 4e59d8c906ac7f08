// pagerduty: the Events API v2 (POST /v2/enqueue): an error triggers an incident keyed by the object,
// any other event resolves it; the integration's routing key in spec.channel.
import { jsonHeaders, json, needAddress, objectTitle, type Notifier } from './types.ts';

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
