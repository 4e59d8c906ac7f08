// googlechat: a card message posted to a Google Chat space's incoming webhook.
import { jsonHeaders, json, metadataLines, needAddress, objectTitle, type Notifier } from './types.ts';

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
