// matrix: the client-server API's PUT /_matrix/client/v3/rooms/{room}/send/m.room.message/{txnId},
// the access token as a Bearer token; the room in spec.channel.
import { createHash } from 'node:crypto';
import { jsonHeaders, json, metadataLines, needAddress, objectTitle, type Notifier } from './types.ts';

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
