// bitbucket (Cloud): POST /2.0/repositories/{workspace}/{repo}/commit/{sha}/statuses/build,
// basic auth from the token `<username>:<app password>`; the key is the
// sha1 of the status key (Bitbucket allows 40 characters), as Flux does.
import { createHash } from 'node:crypto';
import { checkRepository, commitDescription, commitState, eventCommit, repositoryPath } from './commitstatus.ts';
import { basicAuth, jsonHeaders, json, type Notifier } from './types.ts';

const STATE = { pending: 'INPROGRESS', success: 'SUCCESSFUL', failure: 'FAILED' } as const;

export const bitbucket: Notifier = {
  check(s) {
    const bad = checkRepository(s.address, 2);
    if (bad) return bad;
    if (!s.token || !s.token.includes(':')) return 'bitbucket needs the token <username>:<app password> (key token in spec.secretRef)';
    return undefined;
  },
  build(event, s) {
    const { origin, host, segments } = repositoryPath(s.address);
    const [owner, repo] = segments.slice(-2) as [string, string];
    const api = host === 'bitbucket.org' ? 'https://api.bitbucket.org' : origin;
    const i = s.token!.indexOf(':');
    return [
      {
        method: 'POST',
        url: `${api}/2.0/repositories/${encodeURIComponent(owner)}/${encodeURIComponent(repo)}/commit/${eventCommit(event)}/statuses/build`,
        headers: jsonHeaders(s, { authorization: basicAuth(s.token!.slice(0, i), s.token!.slice(i + 1)) }),
        body: json({
          state: STATE[commitState(event)],
          key: createHash('sha1').update(s.commitStatusKey).digest('hex'),
          name: s.commitStatusKey,
          description: commitDescription(event),
          url: s.address,
        }),
      },
    ];
  },
};
