// githubpullrequestcomment, gitlabmergerequestcomment, giteapullrequestcomment:
// one comment per Provider and object on the pull (merge) request that the
// event's `change_request` metadata names, kept up to date: the comment
// carries a hidden marker `<!-- <prefix>:<provider uid>/<kind>/<ns>/<name> -->`;
// the first 100 comments are read, the token's own one with the marker is
// edited, else a new one is posted. As Flux does, in the forge's REST API.
import type { FluxEvent } from '../../runtime/eventsink.ts';
import { checkRepository, repositoryPath } from './commitstatus.ts';
import { CHANGE_REQUEST_KEY, markdownPost } from './markdown.ts';
import { jsonHeaders, json, type DeliveryContext, type Notifier, type OutgoingRequest, type ProviderSettings } from './types.ts';

export function commentMarker(prefix: string, providerUid: string, e: FluxEvent): string {
  const o = e.involvedObject;
  return `<!-- ${prefix}:${providerUid}/${o.kind}/${o.namespace ?? ''}/${o.name} -->`;
}

export function commentBody(prefix: string, providerUid: string, e: FluxEvent): string {
  return `${commentMarker(prefix, providerUid, e)}\n\n${markdownPost(e)}`;
}

/** The pull request number in the event; throws naming the key when it is missing or not a number. */
export function changeRequestNumber(e: FluxEvent): number {
  const v = e.metadata?.[CHANGE_REQUEST_KEY];
  if (v === undefined) throw new Error(`missing "${CHANGE_REQUEST_KEY}" metadata key`);
  if (!/^[0-9]+$/.test(v.trim())) throw new Error(`invalid "${CHANGE_REQUEST_KEY}" metadata value ${JSON.stringify(v)}`);
  return Number(v.trim());
}

/** How one forge lists, edits and creates comments. */
interface Forge {
  prefix: string;
  /** The token's own user name, as the comments' author shows it. */
  self(s: ProviderSettings): OutgoingRequest;
  selfName(answer: unknown): string;
  list(s: ProviderSettings, n: number): OutgoingRequest;
  /** Author name, body and id of each comment. */
  comments(answer: unknown): Array<{ author: string; body: string; id: number }>;
  edit(s: ProviderSettings, n: number, id: number, body: string): OutgoingRequest;
  create(s: ProviderSettings, n: number, body: string): OutgoingRequest;
}

const get = (url: string, headers: Record<string, string>): OutgoingRequest => ({ method: 'GET', url, headers, body: '' });
const parse = (body: string): unknown => {
  try {
    return JSON.parse(body);
  } catch {
    throw new Error('the forge answered with something that is not JSON');
  }
};
const list = (v: unknown): Array<Record<string, any>> => (Array.isArray(v) ? v : []);

function ownerRepo(s: ProviderSettings): { api: string; path: string } {
  const { origin, host, segments } = repositoryPath(s.address);
  const [owner, repo] = segments.slice(-2) as [string, string];
  return { api: host === 'github.com' ? 'https://api.github.com' : `${origin}/api/v3`, path: `${encodeURIComponent(owner)}/${encodeURIComponent(repo)}` };
}

const githubHeaders = (s: ProviderSettings) => jsonHeaders(s, { authorization: `Bearer ${s.token}`, accept: 'application/vnd.github+json', 'x-github-api-version': '2022-11-28' });

const github: Forge = {
  prefix: 'flux-pr-comment-key',
  self: (s) => get(`${ownerRepo(s).api}/user`, githubHeaders(s)),
  selfName: (a) => String((a as { login?: unknown })?.login ?? ''),
  list: (s, n) => { const r = ownerRepo(s); return get(`${r.api}/repos/${r.path}/issues/${n}/comments?sort=created&direction=asc&per_page=100`, githubHeaders(s)); },
  comments: (a) => list(a).map((c) => ({ author: String(c.user?.login ?? ''), body: String(c.body ?? ''), id: Number(c.id) })),
  edit: (s, _n, id, body) => { const r = ownerRepo(s); return { method: 'PATCH', url: `${r.api}/repos/${r.path}/issues/comments/${id}`, headers: githubHeaders(s), body: json({ body }) }; },
  create: (s, n, body) => { const r = ownerRepo(s); return { method: 'POST', url: `${r.api}/repos/${r.path}/issues/${n}/comments`, headers: githubHeaders(s), body: json({ body }) }; },
};

function project(s: ProviderSettings): { api: string; id: string } {
  const { origin, segments } = repositoryPath(s.address);
  return { api: `${origin}/api/v4`, id: encodeURIComponent(segments.join('/')) };
}
const gitlabHeaders = (s: ProviderSettings) => jsonHeaders(s, { 'private-token': s.token! });

const gitlab: Forge = {
  prefix: 'flux-mr-comment-key',
  self: (s) => get(`${project(s).api}/user`, gitlabHeaders(s)),
  selfName: (a) => String((a as { username?: unknown })?.username ?? ''),
  list: (s, n) => { const p = project(s); return get(`${p.api}/projects/${p.id}/merge_requests/${n}/notes?sort=asc&order_by=created_at&per_page=100`, gitlabHeaders(s)); },
  comments: (a) => list(a).map((c) => ({ author: String(c.author?.username ?? ''), body: String(c.body ?? ''), id: Number(c.id) })),
  edit: (s, n, id, body) => { const p = project(s); return { method: 'PUT', url: `${p.api}/projects/${p.id}/merge_requests/${n}/notes/${id}`, headers: gitlabHeaders(s), body: json({ body }) }; },
  create: (s, n, body) => { const p = project(s); return { method: 'POST', url: `${p.api}/projects/${p.id}/merge_requests/${n}/notes`, headers: gitlabHeaders(s), body: json({ body }) }; },
};

function giteaRepo(s: ProviderSettings): { api: string; path: string } {
  const { origin, segments } = repositoryPath(s.address);
  const [owner, repo] = segments.slice(-2) as [string, string];
  return { api: `${origin}/api/v1`, path: `${encodeURIComponent(owner)}/${encodeURIComponent(repo)}` };
}
const giteaHeaders = (s: ProviderSettings) => jsonHeaders(s, { authorization: `token ${s.token}` });

const gitea: Forge = {
  prefix: 'flux-pr-comment-key',
  self: (s) => get(`${giteaRepo(s).api}/user`, giteaHeaders(s)),
  selfName: (a) => String((a as { login?: unknown })?.login ?? ''),
  list: (s, n) => { const r = giteaRepo(s); return get(`${r.api}/repos/${r.path}/issues/${n}/comments?page=1&limit=100`, giteaHeaders(s)); },
  comments: (a) => list(a).map((c) => ({ author: String(c.user?.login ?? ''), body: String(c.body ?? ''), id: Number(c.id) })),
  edit: (s, _n, id, body) => { const r = giteaRepo(s); return { method: 'PATCH', url: `${r.api}/repos/${r.path}/issues/comments/${id}`, headers: giteaHeaders(s), body: json({ body }) }; },
  create: (s, n, body) => { const r = giteaRepo(s); return { method: 'POST', url: `${r.api}/repos/${r.path}/issues/${n}/comments`, headers: giteaHeaders(s), body: json({ body }) }; },
};

function commentNotifier(name: string, forge: Forge): Notifier {
  return {
    check: (s) => checkRepository(s.address, 2) ?? (s.token ? undefined : `${name} needs a token (key token in spec.secretRef)`),
    async deliver(event: FluxEvent, s: ProviderSettings, { exchange }: DeliveryContext) {
      const n = changeRequestNumber(event);
      const uid = s.providerUid ?? '';
      const body = commentBody(forge.prefix, uid, event);
      const marker = commentMarker(forge.prefix, uid, event);
      const me = forge.selfName(parse((await exchange(forge.self(s))).body));
      const mine = forge.comments(parse((await exchange(forge.list(s, n))).body)).find((c) => c.author === me && c.body.includes(marker));
      await exchange(mine ? forge.edit(s, n, mine.id, body) : forge.create(s, n, body));
    },
  };
}

export const githubpullrequestcomment = commentNotifier('githubpullrequestcomment', github);
export const gitlabmergerequestcomment = commentNotifier('gitlabmergerequestcomment', gitlab);
export const giteapullrequestcomment = commentNotifier('giteapullrequestcomment', gitea);
