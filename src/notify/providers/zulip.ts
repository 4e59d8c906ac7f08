// zulip: Zulip's "send a message" API (POST /api/v1/messages on the server
// at spec.address), a form with type=stream, the channel and topic from
// spec.channel written `<channel>/<topic>`, and the bot's email and API key
// as basic auth (username and password in spec.secretRef).
import { basicAuth, needAddress, type Notifier } from './types.ts';
import { markdownPost } from './markdown.ts';

function channelAndTopic(channel: string | undefined): [string, string] | undefined {
  const i = (channel ?? '').indexOf('/');
  if (i <= 0 || i === channel!.length - 1) return undefined;
  return [channel!.slice(0, i), channel!.slice(i + 1)];
}

export const zulip: Notifier = {
  check: (s) =>
    needAddress(s) ??
    (!channelAndTopic(s.channel) ? `zulip needs spec.channel as <channel>/<topic>, not ${JSON.stringify(s.channel ?? '')}` : !s.basic ? 'zulip needs the bot\'s email and API key (keys username and password in spec.secretRef)' : undefined),
  build(event, s) {
    const [to, topic] = channelAndTopic(s.channel)!;
    const u = new URL(s.address);
    u.pathname = '/api/v1/messages';
    const body = new URLSearchParams({ type: 'stream', to, topic, content: markdownPost(event) }).toString();
    return [{ method: 'POST', url: u.toString(), headers: { ...s.headers, 'content-type': 'application/x-www-form-urlencoded', authorization: basicAuth(s.basic!.username, s.basic!.password) }, body }];
  },
};
