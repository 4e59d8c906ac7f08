// Signatures of Git commits and tags: the trusted keys from a Secret, the
// signed payload split from the object, and verification with gpg or ssh-keygen.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../util/exec.ts';
import type { SecretData } from './auth.ts';

// Signature verification of commit and tag objects. The trusted keys come
// from a Secret: every value that is an armored OpenPGP public key goes into a
// throw-away GnuPG keyring, every line that is an SSH public key (plain or in
// allowed_signers form) goes into a throw-away allowed_signers file. gpg and
// ssh-keygen check the detached signature over the object's payload; git's own
// verify-commit is not used because it accepts a good SSH signature from an
// unknown key unless gpg.minTrustLevel is raised, and would need a trust
// database for OpenPGP.

export class SignatureError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SignatureError';
  }
}

export interface TrustedKeys {
  pgp: string[];
  ssh: string[];
}

const SSH_KEY_TYPE = /^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com)$/;

/** Sorts the values of a verification Secret into OpenPGP and SSH public keys. */
export function trustedKeysFromSecret(data: SecretData): TrustedKeys {
  const pgp: string[] = [];
  const ssh: string[] = [];
  for (const key of Object.keys(data).sort()) {
    const text = data[key]!.toString('utf8');
    if (text.includes('-----BEGIN PGP PUBLIC KEY BLOCK-----')) {
      pgp.push(text);
      continue;
    }
    for (const raw of text.split('\n')) {
      const line = raw.trim();
      if (!line || line.startsWith('#')) continue;
      // Either "type base64 [comment]" or allowed_signers "principals [options] type base64".
      const fields = line.split(/\s+/);
      const i = fields.findIndex((f) => SSH_KEY_TYPE.test(f));
      if (i >= 0 && fields[i + 1]) ssh.push(`${fields[i]} ${fields[i + 1]}`);
    }
  }
  return { pgp, ssh };
}

export interface SignedPayload {
  payload: Buffer;
  signature: string;
}

/** Splits a raw commit object into the signed payload and its gpgsig header. */
export function splitCommitSignature(raw: Buffer): SignedPayload | undefined {
  const text = raw.toString('latin1'); // byte-preserving
  const headerEnd = text.indexOf('\n\n');
  const headers = headerEnd >= 0 ? text.slice(0, headerEnd + 1) : text;
  const lines = headers.split('\n');
  const kept: string[] = [];
  const sig: string[] = [];
  let inSig = false;
  for (const line of lines) {
    if (line.startsWith('gpgsig ') || line.startsWith('gpgsig-sha256 ')) {
      inSig = true;
      sig.push(line.slice(line.indexOf(' ') + 1));
      continue;
    }
    if (inSig && line.startsWith(' ')) {
      sig.push(line.slice(1));
      continue;
    }
    inSig = false;
    kept.push(line);
  }
  if (!sig.length) return undefined;
  const payload = kept.join('\n') + (headerEnd >= 0 ? text.slice(headerEnd + 1) : '');
  return { payload: Buffer.from(payload, 'latin1'), signature: Buffer.from(sig.join('\n') + '\n', 'latin1').toString('utf8') };
}

/** Splits a raw tag object into the signed payload and the trailing signature. */
export function splitTagSignature(raw: Buffer): SignedPayload | undefined {
  const text = raw.toString('latin1');
  const markers = ['-----BEGIN PGP SIGNATURE-----', '-----BEGIN SSH SIGNATURE-----', '-----BEGIN SIGNED MESSAGE-----'];
  let at = -1;
  for (const m of markers) {
    const i = text.lastIndexOf(`\n${m}`);
    if (i > at) at = i;
  }
  if (at < 0) {
    // A tag may also carry the signature in a gpgsig header (sha256 interop).
    return splitCommitSignature(raw);
  }
  return { payload: Buffer.from(text.slice(0, at + 1), 'latin1'), signature: text.slice(at + 1) };
}

export function signatureFormat(signature: string): 'openpgp' | 'ssh' | 'x509' | 'unknown' {
  if (signature.includes('-----BEGIN PGP SIGNATURE-----')) return 'openpgp';
  if (signature.includes('-----BEGIN SSH SIGNATURE-----')) return 'ssh';
  if (signature.includes('-----BEGIN SIGNED MESSAGE-----')) return 'x509';
  return 'unknown';
}

/**
 * Checks `signed` against the trusted keys; resolves to the key that made the
 * signature (OpenPGP key ID or SSH key fingerprint), or throws SignatureError.
 */
export async function verifySignature(signed: SignedPayload, keys: TrustedKeys): Promise<string> {
  const format = signatureFormat(signed.signature);
  const dir = await mkdtemp(join(tmpdir(), 'sluice-verify-'));
  try {
    if (format === 'openpgp') {
      if (!keys.pgp.length) throw new SignatureError('the signature is OpenPGP but the Secret holds no OpenPGP public key');
      return await verifyOpenPGP(dir, signed, keys.pgp);
    }
    if (format === 'ssh') {
      if (!keys.ssh.length) throw new SignatureError('the signature is SSH but the Secret holds no SSH public key');
      return await verifySSH(dir, signed, keys.ssh);
    }
    throw new SignatureError(`unsupported signature format '${format}'`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function verifyOpenPGP(dir: string, signed: SignedPayload, armoredKeys: string[]): Promise<string> {
  const home = join(dir, 'g');
  await run('mkdir', ['-m', '700', home]);
  const env = { ...process.env, GNUPGHOME: home, LC_ALL: 'C' };
  const base = ['--batch', '--no-tty', '--no-autostart', '--homedir', home];
  for (const [i, key] of armoredKeys.entries()) {
    const f = join(dir, `key${i}.asc`);
    await writeFile(f, key);
    const r = await run('gpg', [...base, '--import', f], { env, check: false });
    if (r.code !== 0 && !/imported|unchanged/.test(r.stderr)) {
      throw new SignatureError('unable to read the OpenPGP public key(s) from the Secret');
    }
  }
  const sigFile = join(dir, 'sig.asc');
  const dataFile = join(dir, 'payload');
  await writeFile(sigFile, signed.signature);
  await writeFile(dataFile, signed.payload);
  const r = await run('gpg', [...base, '--status-fd', '1', '--verify', sigFile, dataFile], { env, check: false });
  const status = r.stdout;
  if (/^\[GNUPG:\] (BADSIG)/m.test(status)) throw new SignatureError('bad signature: the object was modified after signing');
  if (/^\[GNUPG:\] (EXPKEYSIG)/m.test(status)) throw new SignatureError('signature made by an expired key');
  if (/^\[GNUPG:\] (REVKEYSIG)/m.test(status)) throw new SignatureError('signature made by a revoked key');
  if (/^\[GNUPG:\] ERRSIG .* 9 /m.test(status) || /^\[GNUPG:\] NO_PUBKEY/m.test(status)) {
    throw new SignatureError('signature made by a key that is not in the Secret (no public key)');
  }
  const good = /^\[GNUPG:\] GOODSIG ([0-9A-F]+)/m.exec(status);
  const valid = /^\[GNUPG:\] VALIDSIG ([0-9A-F]+)(?: \S+){8} ([0-9A-F]+)/m.exec(status);
  if (r.code !== 0 || !good) throw new SignatureError('the OpenPGP signature could not be verified');
  const primary = valid?.[2] ?? good[1]!;
  return primary.slice(-16);
}

async function verifySSH(dir: string, signed: SignedPayload, sshKeys: string[]): Promise<string> {
  const principal = 'sluice-trusted';
  const allowed = join(dir, 'allowed_signers');
  await writeFile(allowed, sshKeys.map((k) => `${principal} namespaces="git" ${k}\n`).join(''));
  const sigFile = join(dir, 'sig');
  await writeFile(sigFile, signed.signature);
  const r = await run('ssh-keygen', ['-Y', 'verify', '-f', allowed, '-I', principal, '-n', 'git', '-s', sigFile], {
    input: signed.payload,
    check: false,
    env: { ...process.env, LC_ALL: 'C' },
  });
  const out = `${r.stdout}\n${r.stderr}`;
  const good = /Good "git" signature for \S+ with \S+ key (SHA256:[A-Za-z0-9+/=]+)/.exec(out);
  if (r.code === 0 && good) return good[1]!;
  if (/Could not verify signature|incorrect signature/i.test(out)) throw new SignatureError('bad signature: the object was modified after signing');
  throw new SignatureError('signature made by a key that is not in the Secret');
}
