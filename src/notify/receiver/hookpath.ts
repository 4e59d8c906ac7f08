// The path a Receiver's webhook is served at, as Flux computes it.
import { createHash } from 'node:crypto';
import { WEBHOOK_PATH_PREFIX } from '../../api/receiver.ts';

/** `/hook/` and the hex sha256 of token + name + namespace. */
export function webhookPath(token: string, name: string, namespace: string): string {
  return `${WEBHOOK_PATH_PREFIX}${createHash('sha256').update(token + name + namespace).digest('hex')}`;
}
