/** What went wrong in a Git operation, as far as git's output tells. */
export type GitErrorKind =
  | 'auth' // the server refused the credentials (or asked for some)
  | 'hostkey-unknown' // SSH host key not in the Secret's known_hosts
  | 'hostkey-changed' // SSH host key differs from the one in known_hosts
  | 'tls' // the server's certificate could not be verified
  | 'unreachable' // DNS, connection refused, timeout
  | 'repo-not-found'
  | 'ref-not-found'
  | 'timeout'
  | 'invalid' // bad input (URL, ref, secret) before anything was run
  | 'other';

export class GitError extends Error {
  readonly kind: GitErrorKind;
  constructor(kind: GitErrorKind, message: string) {
    super(message);
    this.name = 'GitError';
    this.kind = kind;
  }
}

export function isGitError(err: unknown): err is GitError {
  return err instanceof GitError;
}

/**
 * Removes every occurrence of the given secret strings from a text. Used on
 * anything that may end up in a status, an event or a log. Strings shorter
 * than 4 characters are left alone: replacing them would garble messages and
 * such short values cannot be recognised reliably anyway.
 */
export function scrubSecrets(text: string, secrets: Iterable<string>): string {
  let out = text;
  const sorted = [...new Set(secrets)].filter((s) => s.length >= 4).sort((a, b) => b.length - a.length);
  for (const s of sorted) {
    if (out.includes(s)) out = out.split(s).join('***');
  }
  return out;
}

/** Drops the password (or token) from the userinfo of a URL, for messages. */
export function redactUrl(text: string): string {
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)([^/@\s:]*):([^/@\s]*)@/gi, '$1$2:***@');
}

interface Rule {
  kind: GitErrorKind;
  re: RegExp;
  message: (ctx: ClassifyContext, line: string) => string;
}

export interface ClassifyContext {
  url: string;
  host?: string;
  /** What credentials were offered ('basic auth', 'bearer token', 'SSH key'), if any. */
  credentials?: string;
}

const RULES: Rule[] = [
  {
    kind: 'hostkey-changed',
    re: /REMOTE HOST IDENTIFICATION HAS CHANGED|Host key for .* has changed/i,
    message: (c) =>
      `host key verification failed: the SSH host key of '${c.host ?? c.url}' does not match the one in known_hosts (possible man-in-the-middle, or the server's key was changed)`,
  },
  {
    kind: 'hostkey-unknown',
    re: /No [A-Z0-9-]+ host key is known for|Host key verification failed/i,
    message: (c) => `host key verification failed: no matching SSH host key for '${c.host ?? c.url}' in known_hosts`,
  },
  {
    kind: 'auth',
    re: /could not read (Username|Password)|returned error: 40[13]|HTTP Basic: Access denied|Authentication failed|Invalid username or password/i,
    message: (c) =>
      `authentication failed for '${c.url}': ${
        c.credentials ? `the server rejected the ${c.credentials}` : 'the server requires credentials and none were given'
      }`,
  },
  {
    kind: 'auth',
    re: /Permission denied \(|Load key .*: (incorrect passphrase|invalid format|error in libcrypto)/i,
    message: (c, line) => `authentication failed for '${c.url}': ${line}`,
  },
  {
    kind: 'tls',
    re: /SSL certificate problem|server certificate verification failed|unable to get local issuer certificate|self[- ]signed certificate|certificate verify failed|SSL_ERROR|alert (bad|unknown) certificate|certificate required|gnutls_handshake|OpenSSL SSL_/i,
    message: (c, line) => `TLS certificate verification failed for '${c.url}': ${line}`,
  },
  {
    kind: 'unreachable',
    re: /Could not resolve host|Could not resolve hostname|Connection refused|Failed to connect|Connection timed out|Couldn't connect to server|Network is unreachable|No route to host|Connection reset by peer|Connection closed by|kex_exchange_identification|ssh: connect to host|Empty reply from server|Operation timed out|Name or service not known/i,
    message: (c, line) => `server unreachable for '${c.url}': ${line}`,
  },
  {
    kind: 'repo-not-found',
    re: /repository .* not found|Repository not found|does not appear to be a git repository|returned error: 404|not found: did you run git update-server-info|No such file or directory/i,
    message: (c) => `repository '${c.url}' not found`,
  },
  {
    kind: 'ref-not-found',
    re: /couldn't find remote ref|not our ref|no such remote ref|unadvertised object/i,
    message: (c, line) => `reference not found in '${c.url}': ${line}`,
  },
];

/**
 * Turns git's (and ssh's, and curl's) stderr into a short, precise message.
 * The stderr must already be scrubbed of secrets by the caller.
 */
export function classifyGitFailure(stderr: string, ctx: ClassifyContext): GitError {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim().replace(/^(fatal|error): /, ''))
    .filter(Boolean);
  for (const rule of RULES) {
    const line = lines.find((l) => rule.re.test(l));
    if (line !== undefined) return new GitError(rule.kind, rule.message(ctx, line.slice(0, 300)));
  }
  const tail = lastLines(stderr);
  return new GitError('other', `git operation on '${ctx.url}' failed${tail ? `: ${tail}` : ''}`);
}

function lastLines(s: string): string {
  const lines = s
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^(hint:|remote: Counting|remote: Compressing|remote: Total|Receiving objects|Resolving deltas|From )/.test(l));
  return lines.slice(-3).join('; ').slice(0, 600);
}
