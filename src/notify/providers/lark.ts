// lark: a Lark (Feishu) custom bot webhook: an interactive card whose header
// names the object (turquoise for info, red for errors) and whose body is the
// message and the metadata in lark_md.
import { jsonHeaders, json, needAddress, type Notifier } from './types.ts';

export const lark: Notifier = {
  check: needAddress,
  build(event, s) {
    const o = event.involvedObject;
    const error = event.severity === 'error';
    const meta = Object.entries(event.metadata ?? {})
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${k}: ${v}\n`)
      .join('');
    const card = {
      config: { wide_screen_mode: true },
      header: { title: { tag: 'plain_text', content: `${error ? '🚨' : '💫'} ${o.kind.toLowerCase()}/${o.name}.${o.namespace ?? ''}` }, template: error ? 'red' : 'turquoise' },
      elements: [{ tag: 'div', text: { tag: 'lark_md', content: `**${event.message}**\n\n${meta}` } }],
    };
    return [{ method: 'POST', url: s.address, headers: jsonHeaders(s), body: json({ msg_type: 'interactive', card }) }];
  },
};
