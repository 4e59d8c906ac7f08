// slack: an incoming webhook (the address is the hook URL) or the Web API
// with a bot token (chat.postMessage, Authorization: Bearer, channel required).
import { jsonHeaders, json, needAddress, objectTitle, type Notifier, type ProviderSettings } from './types.ts';
import type { FluxEvent } from '../../runtime/eventsink.ts';

export function slackMessage(event: FluxEvent, s: ProviderSettings): Record<string, unknown> {
  const fields = Object.entries(event.metadata ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([title, value]) => ({ title, value, short: false }));
  return {
    ...(s.channel ? { channel: s.channel } : {}),
    ...(s.username ? { username: s.username } : {}),
    icon_url: 'https://avatars.githubusercontent.com/u/52158677',
    attachments: [
      {
        color: event.severity === 'error' ? 'danger' : 'good',
        author_name: objectTitle(event),
        text: event.message,
        mrkdwn_in: ['text'],
        ...(fields.length ? { fields } : {}),
      },
    ],
  };
}

export const slack: Notifier = {
  check(s) {
    const bad = needAddress(s);
    if (bad) return bad;
    if (s.token && !s.channel) return 'a Slack bot token needs spec.channel';
    return undefined;
  },
  build(event, s) {
    const headers = s.token ? jsonHeaders(s, { authorization: `Bearer ${s.token}` }) : jsonHeaders(s);
    return [{ method: 'POST', url: s.address, headers, body: json(slackMessage(event, s)) }];
  },
};
