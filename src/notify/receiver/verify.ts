// Whether a webhook call is genuine, per Receiver type: pure functions of the
// request's headers and body and the Receiver's Secret. Each answers
// accepted, or refused with the status to answer (401: not authenticated,
// 400: malformed) and a reason for the log only: callers answer with a bare
// status, so a caller learns nothing about why.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { ReceiverType } from '../../api/receiver.ts';

export type Headers = Record<string, string | string[] | undefined>;

export type Verdict =
  | { ok: true; event?: string; /** Answered 200 without a reconcile (a GitHub ping). */ pingOnly?: boolean }
  | { ok: false; status: 400 | 401 | 501; reason: string };

const header = (h: Headers, name: string): string => {
  const v = h[name.toLowerCase()];
  return Array.isArray(v) ? (v[0] ?? '') : (v ?? '');
};

/** Compares two strings in time that does not depend on where they differ. */
export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  // Lengths differ: still compare something of the same length, so timing says nothing about the content.
  if (x.length !== y.length) {
    timingSafeEqual(x, x);
    return false;
  }
  return timingSafeEqual(x, y);
}

/** Checks `<algo>=<hex hmac of body>` with sha256 or sha1 (GitHub-style). */
export function validHmac(signature: string, body: Buffer, key: string, allowSha1 = true): boolean {
  const i = signature.indexOf('=');
  if (i < 0) return false;
  const algo = signature.slice(0, i).toLowerCase();
  if (algo !== 'sha256' && algo !== 'sha512' && !(allowSha1 && algo === 'sha1')) return false;
  const expected = createHmac(algo, key).update(body).digest('hex');
  return safeEqual(signature.slice(i + 1).toLowerCase(), expected);
}

function eventAllowed(event: string, events: string[] | undefined): boolean {
  return !events?.length || events.some((e) => e.toLowerCase() === event.toLowerCase());
}

function jsonBody(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

/** A CDEvent type: dev.cdevents.<subject>.<predicate>.<semver>. */
const CDEVENT_TYPE = /^dev\.cdevents\.[a-z]+\.[a-z]+\.[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$/;

/** What is wrong with the body as a CDEvent (context and subject as the spec requires them), or undefined. */
export function cdeventProblem(p: unknown): string | undefined {
  if (!isObject(p)) return 'the body is not a JSON object';
  const c = p.context;
  if (!isObject(c)) return 'no context';
  for (const k of ['version', 'id', 'source', 'type', 'timestamp']) if (typeof c[k] !== 'string' || !c[k]) return `context.${k} is missing`;
  if (!CDEVENT_TYPE.test(c.type as string)) return `context.type ${JSON.stringify(c.type)} is not dev.cdevents.<subject>.<predicate>.<version>`;
  if (Number.isNaN(Date.parse(c.timestamp as string))) return 'context.timestamp is not a time';
  const s = p.subject;
  if (!isObject(s)) return 'no subject';
  if (typeof s.id !== 'string' || !s.id) return 'subject.id is missing';
  if (!isObject(s.content)) return 'subject.content is not an object';
  return undefined;
}

export interface VerifyInput {
  type: ReceiverType;
  headers: Headers;
  body: Buffer;
  /** The Secret's token. */
  token: string;
  /** Receiver spec.events. */
  events?: string[];
}

export function verify({ type, headers, body, token, events }: VerifyInput): Verdict {
  const refuse = (status: 400 | 401, reason: string): Verdict => ({ ok: false, status, reason });
  switch (type) {
    case 'generic':
      // The path is the secret: anyone who knows it may call.
      return { ok: true };
    case 'generic-hmac': {
      const sig = header(headers, 'x-signature');
      if (!sig) return refuse(401, 'no X-Signature header');
      return validHmac(sig, body, token) ? { ok: true } : refuse(401, 'X-Signature does not match the body');
    }
    case 'github': {
      const sig256 = header(headers, 'x-hub-signature-256');
      const sig = sig256 || header(headers, 'x-hub-signature');
      if (!sig) return refuse(401, 'no X-Hub-Signature-256 header');
      if (!validHmac(sig, body, token)) return refuse(401, 'X-Hub-Signature-256 does not match the body');
      const event = header(headers, 'x-github-event');
      if (!event) return refuse(400, 'no X-GitHub-Event header');
      if (!isObject(jsonBody(body)) && !/^payload=/.test(body.toString('utf8'))) return refuse(400, 'the body is not JSON');
      // A ping proves the hook works; it asks for no reconcile.
      if (event === 'ping') return { ok: true, event, pingOnly: true };
      if (!eventAllowed(event, events)) return refuse(400, `GitHub event ${event} is not in spec.events`);
      return { ok: true, event };
    }
    case 'gitlab': {
      if (!safeEqual(header(headers, 'x-gitlab-token'), token)) return refuse(401, 'X-Gitlab-Token does not match the token');
      const event = header(headers, 'x-gitlab-event');
      if (!eventAllowed(event, events)) return refuse(400, `GitLab event ${event} is not in spec.events`);
      return { ok: true, event };
    }
    case 'bitbucket': {
      // Bitbucket Server / Data Center signs like GitHub (X-Hub-Signature: sha256=...).
      const sig = header(headers, 'x-hub-signature');
      if (!sig) return refuse(401, 'no X-Hub-Signature header');
      if (!validHmac(sig, body, token)) return refuse(401, 'X-Hub-Signature does not match the body');
      const event = header(headers, 'x-event-key');
      if (event === 'diagnostics:ping') return { ok: true, event, pingOnly: true };
      if (!eventAllowed(event, events)) return refuse(400, `Bitbucket event ${event} is not in spec.events`);
      return { ok: true, event };
    }
    case 'harbor':
      return safeEqual(header(headers, 'authorization'), token) ? { ok: true } : refuse(401, 'Authorization does not match the token');
    case 'nexus': {
      // Nexus signs with HMAC-SHA1, hex, no prefix.
      const sig = header(headers, 'x-nexus-webhook-signature');
      if (!sig) return refuse(401, 'no X-Nexus-Webhook-Signature header');
      if (!safeEqual(sig.toLowerCase(), createHmac('sha1', token).update(body).digest('hex'))) return refuse(401, 'X-Nexus-Webhook-Signature does not match the body');
      const p = jsonBody(body);
      if (!isObject(p)) return refuse(400, 'the body is not a Nexus payload');
      return { ok: true, event: String(p.action ?? '') };
    }
    case 'dockerhub': {
      // Docker Hub does not sign: the path is the secret; the body must be its push payload.
      const p = jsonBody(body);
      if (!isObject(p) || !isObject(p.push_data) || !isObject(p.repository)) return refuse(400, 'the body is not a Docker Hub payload');
      return { ok: true, event: 'push' };
    }
    case 'quay': {
      const p = jsonBody(body);
      if (!isObject(p) || typeof p.docker_url !== 'string') return refuse(400, 'the body is not a Quay payload');
      return { ok: true, event: 'push' };
    }
    case 'acr': {
      const p = jsonBody(body);
      if (!isObject(p) || !isObject(p.target) || typeof p.action !== 'string') return refuse(400, 'the body is not an ACR payload');
      return { ok: true, event: p.action };
    }
    case 'cdevents': {
      // Not signed: the path is the secret. The body must be a CDEvent: the
      // shape every CDEvents v0.4 event has (Flux also checks each event type's
      // JSON schema with the CDEvents Go SDK, which npm has no counterpart of).
      const p = jsonBody(body);
      const problem = cdeventProblem(p);
      if (problem) return refuse(400, `not a CDEvent: ${problem}`);
      const event = header(headers, 'ce-type');
      if (!eventAllowed(event, events)) return refuse(400, `CDEvent ${event} is not in spec.events`);
      return { ok: true, event };
    }
    default:
      // gcr and generic-oidc are checked in gcr.ts and oidc.ts (their tokens need keys fetched).
      return { ok: false, status: 501, reason: `receiver type ${type} is not supported by Sluice yet` };
  }
}
