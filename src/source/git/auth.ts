// Git credentials from a Secret (HTTP basic or bearer, TLS, SSH keys and
// known_hosts, proxy), turned into the environment and files the git CLI reads.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GitError } from './errors.ts';
import type { GitUrl } from './url.ts';

/** Secret data, decoded (one definition, in runtime/secrets.ts). */
export type { SecretData } from '../../runtime/secrets.ts';
import type { SecretData } from '../../runtime/secrets.ts';

/**
 * Credentials prepared for git calls against one URL. Everything travels in
 * `env`: an http.<origin>.extraHeader through GIT_CONFIG_COUNT/KEY/VALUE,
 * GIT_SSL_CAINFO, GIT_SSH_COMMAND naming key files in a private directory.
 * Nothing lands on a command line or in a repository's config.
 */
export interface GitAuth {
  env: NodeJS.ProcessEnv;
  /** Every value that must never appear in output (for scrubbing). */
  secrets: string[];
  /** What is offered to the server ('basic auth', 'bearer token', 'SSH key'), if anything. */
  credentials?: string;
  /** Removes the private directory holding key and certificate files. */
  dispose(): Promise<void>;
}

export interface ProxySettings {
  address: string;
  username?: string;
  password?: string;
}

const SYSTEM_CA_BUNDLES = ['/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt', '/etc/ssl/cert.pem'];

function str(data: SecretData | undefined, key: string): string | undefined {
  const v = data?.[key];
  if (v === undefined) return undefined;
  const s = v.toString('utf8');
  return s.length ? s : undefined;
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Collects every secret-looking string (values and their trimmed forms). */
function secretStrings(data: SecretData | undefined): string[] {
  const out: string[] = [];
  for (const v of Object.values(data ?? {})) {
    const s = v.toString('utf8');
    out.push(s, s.trim());
    // Multi-line values (keys): each long line on its own, in case a tool
    // prints part of it.
    for (const line of s.split('\n')) if (line.trim().length >= 16) out.push(line.trim());
  }
  return out;
}

/** Reads proxy settings from a proxySecretRef Secret (address, username, password). */
export function proxyFromSecret(data: SecretData): ProxySettings {
  const address = str(data, 'address');
  if (!address) throw new GitError('invalid', `invalid proxy secret: 'address' is required`);
  return { address: address.trim(), username: str(data, 'username'), password: str(data, 'password') };
}

/**
 * Builds the per-call environment for `url` from a GitRepository Secret,
 * following Flux's keys: username/password or bearerToken, ca.crt (or caFile),
 * tls.crt/tls.key for HTTPS; identity, known_hosts and password for SSH.
 */
export async function prepareGitAuth(
  url: GitUrl,
  data: SecretData | undefined,
  opts: { proxy?: ProxySettings; tmpRoot?: string } = {},
): Promise<GitAuth> {
  const secrets = secretStrings(data);
  if (url.password) secrets.push(url.password);
  let dir: string | undefined;
  const ensureDir = async () => (dir ??= await mkdtemp(join(opts.tmpRoot ?? tmpdir(), 'sluice-git-auth-')));
  const writePrivate = async (name: string, content: string | Buffer) => {
    const p = join(await ensureDir(), name);
    await writeFile(p, content, { mode: 0o600 });
    return p;
  };
  const config: [string, string][] = [];
  const env: NodeJS.ProcessEnv = {};
  let credentials: string | undefined;
  const dispose = async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  };

  try {
    if (url.transport === 'ssh') {
      const identity = str(data, 'identity');
      const knownHosts = str(data, 'known_hosts');
      if (!identity) {
        throw new GitError('invalid', `invalid 'ssh' auth option: 'identity' is required in the Secret`);
      }
      if (!knownHosts) {
        throw new GitError('invalid', `invalid 'ssh' auth option: 'known_hosts' is required in the Secret`);
      }
      const keyFile = await writePrivate('identity', identity.endsWith('\n') ? identity : `${identity}\n`);
      const khFile = await writePrivate('known_hosts', knownHosts.endsWith('\n') ? knownHosts : `${knownHosts}\n`);
      const passphrase = str(data, 'password');
      const sshArgs = [
        'ssh',
        '-F', '/dev/null',
        '-i', shellQuote(keyFile),
        '-o', 'IdentitiesOnly=yes',
        '-o', 'IdentityAgent=none',
        '-o', `UserKnownHostsFile=${shellQuote(khFile)}`,
        '-o', 'GlobalKnownHostsFile=/dev/null',
        '-o', 'StrictHostKeyChecking=yes',
        '-o', 'CheckHostIP=no',
        '-o', 'UpdateHostKeys=no',
        '-o', 'PasswordAuthentication=no',
        '-o', 'KbdInteractiveAuthentication=no',
        '-o', 'PreferredAuthentications=publickey',
        '-o', 'ConnectTimeout=30',
      ];
      if (passphrase) {
        // ssh reads the key's passphrase from an askpass program; the
        // program reads it from a 0600 file, so it is never an argument.
        const passFile = await writePrivate('passphrase', passphrase);
        const askpass = join(await ensureDir(), 'askpass');
        await writeFile(askpass, `#!/bin/sh\nexec cat ${shellQuote(passFile)}\n`, { mode: 0o700 });
        env.SSH_ASKPASS = askpass;
        env.SSH_ASKPASS_REQUIRE = 'force';
        env.DISPLAY = env.DISPLAY ?? ':0';
      } else {
        sshArgs.push('-o', 'BatchMode=yes');
      }
      env.GIT_SSH_COMMAND = sshArgs.join(' ');
      credentials = 'SSH key from the Secret';
      env.GIT_SSH_VARIANT = 'ssh';
    } else {
      const scope = url.origin;
      const bearer = str(data, 'bearerToken');
      const username = str(data, 'username');
      const password = str(data, 'password');
      if (bearer) {
        secrets.push(`Bearer ${bearer}`);
        config.push([`http.${scope}.extraHeader`, `Authorization: Bearer ${bearer.trim()}`]);
        credentials = 'bearer token from the Secret';
      } else if (username !== undefined || password !== undefined) {
        if (username === undefined) throw new GitError('invalid', `invalid '${url.transport}' auth option: 'username' is required when 'password' is set`);
        if (password === undefined) throw new GitError('invalid', `invalid '${url.transport}' auth option: 'password' is required when 'username' is set`);
        const basic = Buffer.from(`${username}:${password}`).toString('base64');
        secrets.push(basic);
        config.push([`http.${scope}.extraHeader`, `Authorization: Basic ${basic}`]);
        credentials = 'basic auth credentials from the Secret';
      } else if (url.password !== undefined) {
        // Credentials written into the URL: moved into a header so they are
        // not on git's command line.
        const basic = Buffer.from(`${url.username ?? ''}:${url.password}`).toString('base64');
        secrets.push(basic);
        config.push([`http.${scope}.extraHeader`, `Authorization: Basic ${basic}`]);
        credentials = 'basic auth credentials from the URL';
      }
      const ca = str(data, 'ca.crt') ?? str(data, 'caFile');
      if (ca) {
        // Like Flux (go-git), the CA adds to the system's trust store.
        let bundle = '';
        for (const p of SYSTEM_CA_BUNDLES) {
          try {
            bundle = await readFile(p, 'utf8');
            break;
          } catch {
            /* next */
          }
        }
        env.GIT_SSL_CAINFO = await writePrivate('ca.crt', `${bundle}\n${ca}\n`);
      }
      const tlsCrt = str(data, 'tls.crt');
      const tlsKey = str(data, 'tls.key');
      if ((tlsCrt === undefined) !== (tlsKey === undefined)) {
        throw new GitError('invalid', `invalid '${url.transport}' auth option: 'tls.crt' and 'tls.key' must be set together`);
      }
      if (tlsCrt && tlsKey) {
        config.push([`http.${scope}.sslCert`, await writePrivate('tls.crt', tlsCrt)]);
        config.push([`http.${scope}.sslKey`, await writePrivate('tls.key', tlsKey)]);
        credentials ??= 'client certificate from the Secret';
      }
      if (opts.proxy) {
        const p = new URL(opts.proxy.address);
        if (opts.proxy.username) p.username = encodeURIComponent(opts.proxy.username);
        if (opts.proxy.password) {
          p.password = encodeURIComponent(opts.proxy.password);
          secrets.push(opts.proxy.password);
        }
        config.push([`http.${scope}.proxy`, p.toString()]);
      }
    }
  } catch (err) {
    await dispose();
    throw err;
  }

  if (config.length) {
    env.GIT_CONFIG_COUNT = String(config.length);
    config.forEach(([k, v], i) => {
      env[`GIT_CONFIG_KEY_${i}`] = k;
      env[`GIT_CONFIG_VALUE_${i}`] = v;
    });
  }
  return { env, secrets, credentials, dispose };
}

/** Auth for a public repository: no credentials, nothing to clean up. */
export function anonymousAuth(): GitAuth {
  return { env: {}, secrets: [], dispose: async () => {} };
}
