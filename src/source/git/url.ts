// Parsing and checking GitRepository URLs (HTTP(S) and SSH).
import { GitError } from './errors.ts';

export type GitTransport = 'http' | 'https' | 'ssh';

export interface GitUrl {
  transport: GitTransport;
  /** The URL git is given: without any password in the userinfo. */
  url: string;
  host: string;
  /** Port as written in the URL, or the scheme's default. */
  port: number;
  /** Userinfo name (ssh user, or http user given in the URL). */
  username?: string;
  /** A password given in the URL's userinfo; moved out of the URL. */
  password?: string;
  /** scheme://host[:port]/ : what http.<url>.* configuration is scoped to. */
  origin: string;
  /** host or [host]:port, as ssh writes it in known_hosts and messages. */
  sshHostPattern: string;
}

const DEFAULT_PORTS: Record<GitTransport, number> = { http: 80, https: 443, ssh: 22 };

/**
 * Parses a GitRepository URL. Like Flux, only http://, https:// and ssh:// URLs
 * are accepted (no scp-like 'user@host:path').
 */
export function parseGitUrl(raw: string): GitUrl {
  if (/^[\w.-]+@[\w.-]+:(?!\/\/)/.test(raw)) {
    throw new GitError(
      'invalid',
      `failed to parse url '${raw}': the scp-like syntax is not supported, use ssh://user@host/path (e.g. ssh://git@example.com/org/repo.git)`,
    );
  }
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new GitError('invalid', `failed to parse url '${safeForMessage(raw)}': not a valid URL`);
  }
  const scheme = u.protocol.replace(/:$/, '');
  if (scheme !== 'http' && scheme !== 'https' && scheme !== 'ssh') {
    throw new GitError(
      'invalid',
      `failed to parse url '${safeForMessage(raw)}': unsupported scheme '${scheme}' (expected http, https or ssh)`,
    );
  }
  if (!u.hostname) throw new GitError('invalid', `failed to parse url '${safeForMessage(raw)}': no host`);
  const transport = scheme as GitTransport;
  const username = u.username ? decodeURIComponent(u.username) : undefined;
  const password = u.password ? decodeURIComponent(u.password) : undefined;
  u.password = '';
  const port = u.port ? Number(u.port) : DEFAULT_PORTS[transport];
  const host = u.hostname;
  const bareHost = host.replace(/^\[|\]$/g, '');
  const sshHostPattern = port === 22 ? bareHost : `[${bareHost}]:${port}`;
  const origin = `${scheme}://${u.host}/`;
  return { transport, url: u.toString(), host: bareHost, port, username, password, origin, sshHostPattern };
}

function safeForMessage(raw: string): string {
  return raw.replace(/\/\/([^/@]*)@/, (_m, ui: string) => `//${ui.split(':')[0]}${ui.includes(':') ? ':***' : ''}@`);
}
