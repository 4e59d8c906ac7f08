// github: POST /repos/{owner}/{repo}/statuses/{sha} (REST API "Create a
// commit status"); api.github.com for github.com, <host>/api/v3 for GitHub
// Enterprise Server. The token as a Bearer token.
import { checkRepository, commitDescription, commitState, eventCommit, repositoryPath } from './commitstatus.ts';
import { jsonHeaders, json, type Notifier } from './types.ts';

export const github: Notifier = {
  check: (s) => checkRepository(s.address, 2) ?? (s.token ? undefined : 'github needs a token (key token in spec.secretRef)'),
  build(event, s) {
    const { origin, host, segments } = repositoryPath(s.address);
    const [owner, repo] = segments.slice(-2) as [string, string];
    const api = host === 'github.com' ? 'https://api.github.com' : `${origin}/api/v3`;
    return [
      {
        method: 'POST',
        url: `${api}/repos/${encodeURIComponent(owner)}/${encodeURIComponent(repo)}/statuses/${eventCommit(event)}`,
        headers: jsonHeaders(s, { authorization: `Bearer ${s.token}`, accept: 'application/vnd.github+json', 'x-github-api-version': '2022-11-28' }),
        body: json({ state: commitState(event), context: s.commitStatusKey, description: commitDescription(event) }),
      },
    ];
  },
};
