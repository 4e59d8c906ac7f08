// msteams: an Adaptive Card posted to a Teams Workflows (Power Automate) webhook.
import { jsonHeaders, json, needAddress, objectTitle, type Notifier } from './types.ts';

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
