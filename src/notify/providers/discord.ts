// discord: the Slack-format message at the webhook's Slack-compatible endpoint (<webhook>/slack).
import { jsonHeaders, json, needAddress, type Notifier } from './types.ts';
import { slackMessage } from './slack.ts';

export const discord: Notifier = {
  check: needAddress,
  build(event, s) {
    const u = new URL(s.address);
    if (!u.pathname.endsWith('/slack')) u.pathname = `${u.pathname.replace(/\/$/, '')}/slack`;
    return [{ method: 'POST', url: u.toString(), headers: jsonHeaders(s), body: json(slackMessage(event, s)) }];
  },
};
