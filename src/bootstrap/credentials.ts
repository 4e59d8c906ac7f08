// The source Secret of a bootstrap, from the command's flags: for SSH the
// private key, its public half and the server's host keys (given, or fetched
// and shown by fingerprint to be confirmed); for HTTPS a username and a
// password or token, and a CA. Keys as Flux's GitRepository reads them.
import { readFile } from 'node:fs/promises';
import { run } from '../util/exec.ts';
import { parseGitUrl } from '../source/git/url.ts';
import type { SecretData } from '../source/git/auth.ts';

export interface CredentialFlags {
  url: string;
  privateKeyFile?: string;
  /** The key file's passphrase, if it has one. */
  keyPassword?: string;
  username?: string;
  password?: string;
  caFile?: string;
  /** known_hosts lines for the server. */
  knownHosts?: string;
}

export class CredentialError extends Error {}

/** The Secret data for the URL's transport; errors name the flag, never a value. */
export async function sourceSecretData(f: CredentialFlags): Promise<SecretData> {
  const url = parseGitUrl(f.url);
  const data: SecretData = {};
  const file = async (flag: string, path: string) => {
    try {
      return await readFile(path);
    } catch (err) {
      throw new CredentialError(`${flag} ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (err as Error).message}`);
    }
  };
  if (url.transport === 'ssh') {
    if (!f.privateKeyFile) throw new CredentialError('an SSH URL needs --private-key-file (Sluice does not make deploy keys)');
    if (!f.knownHosts) throw new CredentialError('an SSH URL needs the server host keys: --ssh-hostkey, --known-hosts-file, or confirm the fetched ones');
    data.identity = await file('--private-key-file', f.privateKeyFile);
    const pub = await run('ssh-keygen', ['-y', '-P', f.keyPassword ?? '', '-f', f.privateKeyFile], { check: false });
    if (pub.code !== 0) throw new CredentialError(`--private-key-file ${f.privateKeyFile}: not a private key ssh-keygen can read${f.keyPassword ? ' with the given password' : ''}`);
    data['identity.pub'] = Buffer.from(pub.stdout);
    data.known_hosts = Buffer.from(f.knownHosts.endsWith('\n') ? f.knownHosts : `${f.knownHosts}\n`);
    if (f.keyPassword) data.password = Buffer.from(f.keyPassword);
  } else {
    if (f.privateKeyFile) throw new CredentialError(`--private-key-file is for ssh:// URLs; ${url.transport} URLs use --username and --password-stdin`);
    if (f.password !== undefined) {
      data.username = Buffer.from(f.username ?? 'git');
      data.password = Buffer.from(f.password);
    } else if (f.username) {
      throw new CredentialError('--username needs a password or token: --password-stdin or --password-file');
    }
    if (f.caFile) data['ca.crt'] = await file('--ca-file', f.caFile);
  }
  return data;
}

/** Fetches the server's host keys (as ssh-keyscan does) with their SHA256 fingerprints, to be shown and confirmed. */
export async function scanHostKeys(rawUrl: string): Promise<{ knownHosts: string; fingerprints: string[] }> {
  const url = parseGitUrl(rawUrl);
  const args = ['-T', '10', '-p', String(url.port), url.host];
  const res = await run('ssh-keyscan', args, { check: false });
  const knownHosts = res.stdout.split('\n').filter((l) => l.trim() && !l.startsWith('#')).join('\n');
  if (!knownHosts) throw new CredentialError(`could not fetch the host keys of ${url.sshHostPattern}: ${res.stderr.trim().split('\n').pop() ?? 'no answer'}`);
  const fp = await run('ssh-keygen', ['-l', '-E', 'sha256', '-f', '-'], { input: `${knownHosts}\n`, check: false });
  return { knownHosts: `${knownHosts}\n`, fingerprints: fp.stdout.trim().split('\n').filter(Boolean) };
}
