// bitbucketserver (Data Center): POST /rest/api/latest/projects/{key}/repos/{slug}/commits/{sha}/builds,
// with a Bearer token or the Secret's username and password.
import { checkRepository, commitDescription, commitState, eventCommit, repositoryPath } from './commitstatus.ts';
import { basicAuth, jsonHeaders, json, type Notifier } from './types.ts';

const STATE = { pending: 'INPROGRESS', success: 'SUCCESSFUL', failure: 'FAILED' } as const;

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
