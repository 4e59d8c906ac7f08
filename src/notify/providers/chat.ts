// Chat services with a message format of their own: Microsoft Teams
// (an Adaptive Card through a Workflows webhook), Google Chat (a card
// message), Telegram (Bot API sendMessage), Matrix (client-server API,
// m.room.message).
import { createHash } from 'node:crypto';
import { jsonHeaders, json, metadataLines, needAddress, objectTitle, type Notifier } from './types.ts';

export const msteams: Notifier = {
  check: needAddress,
  build(event, s) {
    const facts = Object.entries(event.metadata ?? {})
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([title, value]) => ({ title, value }));
    const card = {
      type: 'message',
      attachments: [
        {
          contentType: 'application/vnd.microsoft.card.adaptive',
          content: {
            $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
            type: 'AdaptiveCard',
            version: '1.4',
            body: [
              { type: 'TextBlock', text: objectTitle(event), weight: 'bolder', size: 'medium', color: event.severity === 'error' ? 'attention' : 'good' },
              { type: 'TextBlock', text: event.message, wrap: true },
              ...(facts.length ? [{ type: 'FactSet', facts }] : []),
            ],
          },
        },
      ],
    };
    return [{ method: 'POST', url: s.address, headers: jsonHeaders(s), body: json(card) }];
  },
};

export const googlechat: Notifier = {
  check: needAddress,
  build(event, s) {
    const widgets = [{ textParagraph: { text: event.message } }, ...metadataLines(event).map((text) => ({ textParagraph: { text } }))];
    const message = {
      cards: [{ header: { title: objectTitle(event), subtitle: event.severity === 'error' ? 'error' : 'info' }, sections: [{ widgets }] }],
    };
    return [{ method: 'POST', url: s.address, headers: jsonHeaders(s), body: json(message) }];
  },
};

/** Telegram's MarkdownV2 wants these escaped. */
function escapeMarkdownV2(text: string): string {
  return text.replace(/[_*[\]()~`>#+\-=|{}.!\\]/g, (c) => `\\${c}`);
}

export const telegram: Notifier = {
  check(s) {
    if (!s.token) return 'telegram needs the bot token (key token in spec.secretRef)';
    if (!s.channel) return 'telegram needs spec.channel (the chat id)';
    return undefined;
  },
  build(event, s) {
    const base = (s.address || 'https://api.telegram.org').replace(/\/$/, '');
    const lines = [`*${escapeMarkdownV2(`${event.severity === 'error' ? '💔' : '💫'} ${objectTitle(event)}`)}*`, escapeMarkdownV2(event.message), ...metadataLines(event).map((l) => `• ${escapeMarkdownV2(l)}`)];
    return [
      {
        method: 'POST',
        url: `${base}/bot${s.token}/sendMessage`,
        headers: jsonHeaders(s),
        body: json({ chat_id: s.channel, text: lines.join('\n'), parse_mode: 'MarkdownV2' }),
      },
    ];
  },
};

export const matrix: Notifier = {
  check(s) {
    if (!s.token) return 'matrix needs an access token (key token in spec.secretRef)';
    if (!s.channel) return 'matrix needs spec.channel (the room id)';
    return needAddress(s);
  },
  build(event, s) {
    const text = [`${event.severity === 'error' ? '💔' : '💫'} ${objectTitle(event)}`, event.message, ...metadataLines(event)].join('\n');
    // The transaction id makes a retried send idempotent on the homeserver.
    const txn = createHash('sha256').update(json(event)).digest('hex').slice(0, 32);
    return [
      {
        method: 'PUT',
        url: `${s.address.replace(/\/$/, '')}/_matrix/client/v3/rooms/${encodeURIComponent(s.channel!)}/send/m.room.message/${txn}`,
        headers: jsonHeaders(s, { authorization: `Bearer ${s.token}` }),
        body: json({ msgtype: 'm.text', body: text }),
      },
    ];
  },
};
