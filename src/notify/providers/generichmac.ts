// generic-hmac: as generic, the body signed with the token: X-Signature: sha256=<hex HMAC>.
import { needAddress, type Notifier } from './types.ts';
import { generic, hmacSignature } from './generic.ts';

export const genericHmac: Notifier = {
  check: (s) => needAddress(s) ?? (s.token ? undefined : 'generic-hmac needs the key token in spec.secretRef to sign with'),
  build(event, s) {
    const [req] = generic.build(event, s);
    req!.headers['x-signature'] = hmacSignature(req!.body, s.token!);
    return [req!];
  },
};
