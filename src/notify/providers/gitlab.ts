// gitlab: POST /api/v4/projects/{id}/statuses/{sha} (Commits API "Set the
// pipeline status of a commit"), the project id being the URL-encoded path
// (groups and subgroups); the token in PRIVATE-TOKEN.
import { checkRepository, commitDescription, commitState, eventCommit, repositoryPath } from './commitstatus.ts';
import { jsonHeaders, json, type Notifier } from './types.ts';

const STATE = { pending: 'running', success: 'success', failure: 'failed' } as const;

export const gitlab: Notifier = {
  check: (s) => checkRepository(s.address, 2) ?? (s.token ? undefined : 'gitlab needs a token (key token in spec.secretRef)'),
  build(event, s) {
    const { origin, segments } = repositoryPath(s.address);
    const project = encodeURIComponent(segments.join('/'));
    return [
      {
        method: 'POST',
        url: `${origin}/api/v4/projects/${project}/statuses/${eventCommit(event)}`,
        headers: jsonHeaders(s, { 'private-token': s.token! }),
        body: json({ state: STATE[commitState(event)], name: s.commitStatusKey, description: commitDescription(event) }),
      },
    ];
  },
};
