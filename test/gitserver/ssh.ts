import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect, createServer, type AddressInfo } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { run } from '../../src/util/exec.ts';
import { requireProgram } from '../../scripts/programs.ts';

// An SSH Git server for tests: Debian's sshd (openssh-server) on 127.0.0.1
// and a free high port, running as the current user with its own config,
// a generated host key and key-only authentication for generated user keys.
// Repositories are addressed by absolute path under `root`.

export interface SshKeyPair {
  privateKey: string;
  publicKey: string;
}

export interface GitSshServer {
  port: number;
  user: string;
  /** ssh://<user>@127.0.0.1:<port><root>/<name>.git */
  url(name: string): string;
  /** A known_hosts line for this server's host key. */
  knownHosts: string;
  /** A user key the server accepts. */
  clientKey: SshKeyPair;
  /** A passphrase-protected user key the server accepts, and its passphrase. */
  protectedClientKey: SshKeyPair & { passphrase: string };
  /** A known_hosts line naming this server with some other host key. */
  wrongKnownHosts: string;
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

async function keygen(dir: string, name: string, passphrase = ''): Promise<SshKeyPair> {
  const f = join(dir, name);
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', passphrase, '-C', name, '-f', f]);
  return { privateKey: await readFile(f, 'utf8'), publicKey: (await readFile(`${f}.pub`, 'utf8')).trim() };
}

function waitForBanner(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const sock = connect(port, '127.0.0.1');
      sock.once('data', (d) => {
        sock.destroy();
        if (d.toString().startsWith('SSH-')) resolve();
        else retry();
      });
      sock.once('error', retry);
    };
    const retry = () => {
      if (Date.now() > deadline) reject(new Error(`sshd did not start on port ${port}`));
      else setTimeout(attempt, 50);
    };
    attempt();
  });
}

export async function startGitSshServer(opts: { root: string }): Promise<GitSshServer> {
  // Fail at once, with the command that installs them, when sshd or ssh-keygen is missing.
  // sshd wants an absolute path (it re-executes itself).
  const sshd = requireProgram('sshd');
  requireProgram('ssh-keygen');
  const dir = await mkdtemp(join(tmpdir(), 'sluice-sshd-'));
  try {
    return await startIn(dir, sshd, opts.root);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

async function startIn(dir: string, sshd: string, root: string): Promise<GitSshServer> {
  const host = await keygen(dir, 'host_key');
  const other = await keygen(dir, 'other_host_key');
  const client = await keygen(dir, 'client_key');
  const passphrase = 'correct horse battery staple';
  const protectedKey = await keygen(dir, 'protected_key', passphrase);
  await writeFile(join(dir, 'authorized_keys'), `${client.publicKey}\n${protectedKey.publicKey}\n`, { mode: 0o600 });
  const user = userInfo().username;
  if (process.getuid?.() === 0) await mkdir('/run/sshd', { recursive: true, mode: 0o755 });

  let lastErr: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const config = [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${join(dir, 'host_key')}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no',
      'PermitRootLogin prohibit-password',
      `AllowUsers ${user}`,
      'AllowTcpForwarding no',
      'AllowAgentForwarding no',
      'X11Forwarding no',
      'PermitTTY no',
      'PrintMotd no',
      'LogLevel ERROR',
      '',
    ].join('\n');
    const configFile = join(dir, 'sshd_config');
    await writeFile(configFile, config, { mode: 0o600 });
    const child: ChildProcess = spawn(sshd, ['-D', '-e', '-f', configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    // 'close' comes after 'exit', and also after a spawn error (which has no 'exit').
    const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
    child.once('error', (e) => (stderr += `cannot run ${sshd}: ${e.message}`));
    try {
      await Promise.race([
        waitForBanner(port, 5000),
        exited.then(() => {
          throw new Error(`sshd exited: ${stderr.trim()}`);
        }),
      ]);
    } catch (err) {
      lastErr = err;
      child.kill('SIGTERM');
      await exited;
      continue;
    }
    const hostPattern = `[127.0.0.1]:${port}`;
    return {
      port,
      user,
      url: (name) => `ssh://${user}@127.0.0.1:${port}${join(root, `${name}.git`)}`,
      knownHosts: `${hostPattern} ${host.publicKey.split(' ').slice(0, 2).join(' ')}\n`,
      wrongKnownHosts: `${hostPattern} ${other.publicKey.split(' ').slice(0, 2).join(' ')}\n`,
      clientKey: client,
      protectedClientKey: { ...protectedKey, passphrase },
      async close() {
        child.kill('SIGTERM');
        await exited;
        await rm(dir, { recursive: true, force: true });
      },
    };
  }
  throw new Error(`cannot start sshd: ${String(lastErr)}`);
}
