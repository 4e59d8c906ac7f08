// generic and generic-hmac: the event, as Flux's event JSON, POSTed to the
// address; generic-hmac signs the body with the token (X-Signature: sha256=<hex>).
import { createHmac } from 'node:crypto';
import { json, needAddress, type Notifier } from './types.ts';

/** The header naming the controller that reported the event, as Flux's forwarder sets it. */
export const COMPONENT_HEADER = 'gotk-component';

export function hmacSignature(body: string, key: string): string {
  return `sha256=${createHmac('sha256', key).update(body).digest('hex')}`;
}

export const generic: Notifier & Required<Pick<Notifier, 'build'>> = {
  check: needAddress,
  build(event, s) {
    const body = json(event);
    const headers: Record<string, string> = { 'content-type': 'application/json', ...s.headers, [COMPONENT_HEADER]: event.reportingController };
    if (s.basic) headers.authorization = `Basic ${Buffer.from(`${s.basic.username}:${s.basic.password}`).toString('base64')}`;
    return [{ method: 'POST', url: s.address, headers, body }];
  },
};
