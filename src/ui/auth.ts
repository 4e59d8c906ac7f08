// Who is using the page, in the cluster: a bearer token is checked with a
// TokenReview, the user and groups it names are kept in a server-side
// session (an opaque cookie), a SubjectAccessReview tells before an action
// whether RBAC allows it, and the action itself is sent with impersonation,
// so the API server decides again with the person's rights.
import { randomBytes } from 'node:crypto';
import type { KubeClient } from '../kube/client.ts';
import { uiKind } from './kinds.ts';

export interface Identity {
  user: string;
  groups: string[];
}

const SESSION_MS = 8 * 3600_000;
export const SESSION_COOKIE = 'sluice_session';

/** Checks a token with the API server; undefined when it is not valid. */
export async function reviewToken(client: KubeClient, token: string): Promise<Identity | undefined> {
  const review = await client.request<{ status?: { authenticated?: boolean; user?: { username?: string; groups?: string[] } } }>({
    method: 'POST',
    path: '/apis/authentication.k8s.io/v1/tokenreviews',
    body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } },
  });
  const u = review.status?.user;
  if (!review.status?.authenticated || !u?.username) return undefined;
  return { user: u.username, groups: u.groups ?? [] };
}

/** Whether `who` may patch the object (the verb every action is). */
export async function mayPatch(client: KubeClient, who: Identity, kind: string, namespace: string, name: string): Promise<{ allowed: boolean; reason: string }> {
  const k = uiKind(kind);
  if (!k) return { allowed: false, reason: `unknown kind ${kind}` };
  const sar = await client.request<{ status?: { allowed?: boolean; reason?: string } }>({
    method: 'POST',
    path: '/apis/authorization.k8s.io/v1/subjectaccessreviews',
    body: {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec: { user: who.user, groups: who.groups, resourceAttributes: { group: k.group, resource: k.plural, verb: 'patch', namespace, name } },
    },
  });
  return { allowed: sar.status?.allowed === true, reason: sar.status?.reason ?? '' };
}

/** Logged-in identities by session id, forgotten after eight hours. */
export class Sessions {
  private readonly byId = new Map<string, Identity & { expires: number }>();

  create(who: Identity): string {
    this.sweep();
    const id = randomBytes(32).toString('base64url');
    this.byId.set(id, { ...who, expires: Date.now() + SESSION_MS });
    return id;
  }

  get(id: string | undefined): Identity | undefined {
    if (!id) return undefined;
    const s = this.byId.get(id);
    if (!s) return undefined;
    if (s.expires < Date.now()) {
      this.byId.delete(id);
      return undefined;
    }
    return { user: s.user, groups: s.groups };
  }

  delete(id: string | undefined): void {
    if (id) this.byId.delete(id);
  }

  private sweep(): void {
    const now = Date.now();
    for (const [id, s] of this.byId) if (s.expires < now) this.byId.delete(id);
  }
}

export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return v.join('=');
  }
  return undefined;
}
