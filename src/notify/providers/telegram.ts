// telegram: the Bot API's sendMessage (POST /bot<token>/sendMessage) to the chat in spec.channel, MarkdownV2.
import { jsonHeaders, json, metadataLines, objectTitle, type Notifier } from './types.ts';

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
