// grafana: POST an annotation to Grafana's HTTP API (/api/annotations), a token or basic auth.
import { basicAuth, jsonHeaders, json, needAddress, objectTitle, type Notifier } from './types.ts';

export const grafana: Notifier = {
  check: needAddress,
  build(event, s) {
    const o = event.involvedObject;
    const tags = ['flux', event.reportingController, `kind: ${o.kind}`, `name: ${o.name}`, `namespace: ${o.namespace ?? ''}`, ...Object.entries(event.metadata ?? {}).map(([k, v]) => `${k}: ${v}`)];
    const auth: Record<string, string> = s.token ? { authorization: `Bearer ${s.token}` } : s.basic ? { authorization: basicAuth(s.basic.username, s.basic.password) } : {};
    return [{ method: 'POST', url: s.address, headers: jsonHeaders(s, auth), body: json({ time: Date.parse(event.timestamp), text: `${objectTitle(event)}: ${event.message}`, tags }) }];
  },
};
