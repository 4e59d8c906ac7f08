// githubdispatch: GitHub's "create a repository dispatch event" (POST
// /repos/{owner}/{repo}/dispatches), so a workflow `on: repository_dispatch`
// runs on the event: event_type `<Kind>/<name>.<namespace>`, the whole event
// as client_payload. A commit-status update event is skipped, as in Flux.
import { checkRepository, repositoryPath } from './commitstatus.ts';
import { jsonHeaders, json, type Notifier } from './types.ts';

export const githubdispatch: Notifier = {
  check: (s) => checkRepository(s.address, 2) ?? (s.token ? undefined : 'githubdispatch needs a token (key token in spec.secretRef)'),
  build(event, s) {
    if (event.metadata?.commit_status === 'update') return [];
    const { origin, host, segments } = repositoryPath(s.address);
    const [owner, repo] = segments.slice(-2) as [string, string];
    const api = host === 'github.com' ? 'https://api.github.com' : `${origin}/api/v3`;
    const o = event.involvedObject;
    return [
      {
        method: 'POST',
        url: `${api}/repos/${encodeURIComponent(owner)}/${encodeURIComponent(repo)}/dispatches`,
        headers: jsonHeaders(s, { authorization: `Bearer ${s.token}`, accept: 'application/vnd.github+json', 'x-github-api-version': '2022-11-28' }),
        body: json({ event_type: `${o.kind}/${o.name}.${o.namespace ?? ''}`, client_payload: event }),
      },
    ];
  },
};
