// webex: the Webex Messages API (address https://webexapis.com/v1/messages):
// a bot's access token as Bearer, the room ID as spec.channel, the event as
// Markdown.
import type { FluxEvent } from '../../runtime/eventsink.ts';
import { jsonHeaders, json, needAddress, type Notifier } from './types.ts';

export function webexMarkdown(e: FluxEvent): string {
  const o = e.involvedObject;
  const lines = [`${e.severity === 'error' ? '💣' : '✅'} **${o.kind.toLowerCase()}/${o.name}.${o.namespace ?? ''}**`, e.message];
  for (const [k, v] of Object.entries(e.metadata ?? {}).sort(([a], [b]) => a.localeCompare(b))) lines.push(`>**${k}**: ${v}`);
  return `${lines.join('\n')}\n`;
}

export const webex: Notifier = {
  check: (s) =>
    needAddress(s) ??
    (!s.channel ? 'webex needs spec.channel (the room ID)' : !s.token ? 'webex needs a bot access token (key token in spec.secretRef)' : undefined),
  build(event, s) {
    return [{ method: 'POST', url: s.address, headers: jsonHeaders(s, { authorization: `Bearer ${s.token}` }), body: json({ roomId: s.channel, markdown: webexMarkdown(event) }) }];
  },
};
