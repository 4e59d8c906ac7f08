// rocket: a Rocket.Chat incoming webhook (the address), which takes Slack's
// attachment format; Flux colours it blue for info and red for errors and
// names the object with its kind in lower case.
import { jsonHeaders, json, needAddress, type Notifier } from './types.ts';

export const rocket: Notifier = {
  check: needAddress,
  build(event, s) {
    const o = event.involvedObject;
    const fields = Object.entries(event.metadata ?? {})
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([title, value]) => ({ title, value, short: false }));
    const body = {
      ...(s.channel ? { channel: s.channel } : {}),
      ...(s.username ? { username: s.username } : {}),
      attachments: [
        {
          color: event.severity === 'error' ? '#FF0000' : '#0076D7',
          author_name: `${o.kind.toLowerCase()}/${o.name}.${o.namespace ?? ''}`,
          text: event.message,
          mrkdwn_in: ['text'],
          fields,
        },
      ],
    };
    return [{ method: 'POST', url: s.address, headers: jsonHeaders(s), body: json(body) }];
  },
};
