// azuredevops: POST {org}/{project}/_apis/git/repositories/{repo}/commits/{sha}/statuses?api-version=6.0
// ("Statuses - Create"), the repository URL being https://dev.azure.com/{org}/{project}/_git/{repo};
// a personal access token by basic auth with an empty user.
import { checkRepository, commitDescription, commitState, eventCommit, repositoryPath } from './commitstatus.ts';
import { basicAuth, jsonHeaders, json, type Notifier } from './types.ts';

const STATE = { pending: 'pending', success: 'succeeded', failure: 'failed' } as const;

export const azuredevops: Notifier = {
  check(s) {
    const bad = checkRepository(s.address, 4);
    if (bad) return bad;
    if (!repositoryPath(s.address).segments.includes('_git')) return 'the azuredevops address must be https://dev.azure.com/<org>/<project>/_git/<repo>';
    return s.token ? undefined : 'azuredevops needs a personal access token (key token in spec.secretRef)';
  },
  build(event, s) {
    const { origin, segments } = repositoryPath(s.address);
    const g = segments.indexOf('_git');
    const [org, project, repo] = [segments.slice(0, g - 1), segments[g - 1]!, segments[g + 1]!];
    const base = [origin, ...org.map(encodeURIComponent), encodeURIComponent(project)].join('/');
    return [
      {
        method: 'POST',
        url: `${base}/_apis/git/repositories/${encodeURIComponent(repo)}/commits/${eventCommit(event)}/statuses?api-version=6.0`,
        headers: jsonHeaders(s, { authorization: basicAuth('', s.token!) }),
        body: json({ state: STATE[commitState(event)], description: commitDescription(event), context: { genre: 'fluxcd', name: s.commitStatusKey } }),
      },
    ];
  },
};
