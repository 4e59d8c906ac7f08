// gitea (and Forgejo): POST /api/v1/repos/{owner}/{repo}/statuses/{sha}
// ("Create a commit status"), Authorization: token <token>.
import { checkRepository, commitDescription, commitState, eventCommit, repositoryPath } from './commitstatus.ts';
import { jsonHeaders, json, type Notifier } from './types.ts';

export const gitea: Notifier = {
  check: (s) => checkRepository(s.address, 2) ?? (s.token ? undefined : 'gitea needs a token (key token in spec.secretRef)'),
  build(event, s) {
    const { origin, segments } = repositoryPath(s.address);
    const [owner, repo] = segments.slice(-2) as [string, string];
    return [
      {
        method: 'POST',
        url: `${origin}/api/v1/repos/${encodeURIComponent(owner)}/${encodeURIComponent(repo)}/statuses/${eventCommit(event)}`,
        headers: jsonHeaders(s, { authorization: `token ${s.token}` }),
        body: json({ state: commitState(event), context: s.commitStatusKey, description: commitDescription(event) }),
      },
    ];
  },
};
