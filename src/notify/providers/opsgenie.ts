// opsgenie: the Alert API v2 (POST /v2/alerts), Authorization: GenieKey <token>.
import { jsonHeaders, json, needAddress, objectTitle, type Notifier } from './types.ts';

export const opsgenie: Notifier = {
  check: (s) => needAddress(s) ?? (s.token ? undefined : 'opsgenie needs the API key (key token in spec.secretRef)'),
  build(event, s) {
    const o = event.involvedObject;
    const details: Record<string, string> = { kind: o.kind, name: o.name, namespace: o.namespace ?? '', severity: event.severity, reason: event.reason, ...event.metadata };
    const body = { message: `${objectTitle(event)}: ${event.message}`.slice(0, 130), description: event.message, details, tags: ['flux', event.severity] };
    return [{ method: 'POST', url: s.address, headers: jsonHeaders(s, { authorization: `GenieKey ${s.token}` }), body: json(body) }];
  },
};
