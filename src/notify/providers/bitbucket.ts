// bitbucket (Cloud): POST /2.0/repositories/{workspace}/{repo}/commit/{sha}/statuses/build,
// basic auth from the token `<username>:<app password>`; the key is the
// sha1 of the status key (Bitbucket allows 40 characters), as Flux does.
// bitbucketserver (Data Center): POST /rest/api/latest/projects/{key}/repos/{slug}/commits/{sha}/builds,
// with a Bearer token or the Secret's username and password.
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

export const bitbucketserver: Notifier = {
  check(s) {
    const bad = checkRepository(s.address, 2);
    if (bad) return bad;
    if (!s.token && !s.basic) return 'bitbucketserver needs a token, or username and password, in spec.secretRef';
    return undefined;
  },
  build(event, s) {
    const { origin, segments } = repositoryPath(s.address);
    // https://host/scm/<project>/<repo>.git or https://host/projects/<project>/repos/<repo>
    const i = segments.indexOf('projects');
    const [project, repo] = i >= 0 && segments[i + 2] === 'repos' ? [segments[i + 1]!, segments[i + 3]!] : (segments.slice(-2) as [string, string]);
    const auth = s.token ? `Bearer ${s.token}` : basicAuth(s.basic!.username, s.basic!.password);
    return [
      {
        method: 'POST',
        url: `${origin}/rest/api/latest/projects/${encodeURIComponent(project)}/repos/${encodeURIComponent(repo)}/commits/${eventCommit(event)}/builds`,
        headers: jsonHeaders(s, { authorization: auth, 'x-atlassian-token': 'no-check' }),
        body: json({ state: STATE[commitState(event)], key: s.commitStatusKey, name: s.commitStatusKey, description: commitDescription(event), url: s.address }),
      },
    ];
  },
};
