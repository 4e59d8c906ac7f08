import { constants as fsConstants } from 'node:fs';
import { chmod, copyFile, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { ensureSops } from '../tools/gotool.ts';
import { run } from '../util/exec.ts';
import type { Manifest } from './manifests.ts';
import { objectRef } from './manifests.ts';

/** Keys from a Kustomization's decryption Secret, by Flux's naming: `*.agekey` and `*.asc`. */
export interface DecryptionKeys {
  age: string[];
  pgp: string[];
  /** `sops.vault-token`: the token sops presents to the Vault transit engine each file's metadata names. */
  vaultToken?: string;
  /** Flux's cloud key entries the Secret holds (sops.aws-kms, ...), which Sluice cannot use. */
  unsupported?: string[];
}

/** Flux's decryption Secret entry for a HashiCorp Vault token (transit engine). */
export const VAULT_TOKEN_ENTRY = 'sops.vault-token';

/**
 * Flux's decryption Secret entries for cloud key services, and what each is.
 * Sluice refuses them by name: each needs the cloud's own service to be
 * reached and tested, which this project cannot do.
 */
export const CLOUD_KEY_ENTRIES: Record<string, string> = {
  'sops.aws-kms': 'AWS KMS',
  'sops.azure-kv': 'Azure Key Vault',
  'sops.gcp-kms': 'Google Cloud KMS',
};

export class DecryptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DecryptionError';
  }
}

export function keysFromSecret(data: Record<string, Buffer>): DecryptionKeys {
  const keys: DecryptionKeys = { age: [], pgp: [] };
  for (const [name, value] of Object.entries(data)) {
    if (name.endsWith('.agekey')) keys.age.push(value.toString('utf8').trim());
    else if (name.endsWith('.asc')) keys.pgp.push(value.toString('utf8'));
    else if (name === VAULT_TOKEN_ENTRY) keys.vaultToken = value.toString('utf8').trim();
    else if (name in CLOUD_KEY_ENTRIES) (keys.unsupported ??= []).push(name);
  }
  return keys;
}

/**
 * Keys that are only for key services Sluice cannot reach refuse the
 * decryption with a message that names them, rather than leave every file
 * to fail as "no key can open it". With age or OpenPGP keys beside them,
 * the files those open are decrypted as usual.
 */
export function checkUsableKeys(keys: DecryptionKeys, secret: string): void {
  if (!keys.unsupported?.length || keys.age.length || keys.pgp.length || keys.vaultToken) return;
  const what = keys.unsupported.map((n) => `${n} (${CLOUD_KEY_ENTRIES[n]})`).join(', ');
  throw new DecryptionError(`decryption Secret '${secret}' holds ${what}: Sluice decrypts with age (*.agekey) and OpenPGP (*.asc) keys and Vault tokens (sops.vault-token) only, not with cloud key services; add such a key to the Secret and to the files' recipients`);
}

/** A document sops encrypted carries top-level `sops` metadata with a MAC. */
export function isSopsEncrypted(obj: Record<string, unknown>): boolean {
  const meta = obj.sops as Record<string, unknown> | undefined;
  return !!meta && typeof meta === 'object' && typeof meta.mac === 'string';
}

/** Fails on objects still encrypted after the build: they would reach the API server as ciphertext. */
export function assertDecrypted(manifests: Manifest[], decryptionConfigured = false): void {
  const enc = manifests.find((m) => isSopsEncrypted(m.object));
  if (!enc) return;
  const where = `${objectRef(enc.object)} (${enc.origin.file})`;
  throw new DecryptionError(
    decryptionConfigured
      ? `${where} is SOPS-encrypted and no key of spec.decryption can open it`
      : `${where} is SOPS-encrypted but the Kustomization has no spec.decryption: set provider sops and a secretRef with the keys`,
  );
}

const MANIFEST_EXT = new Set(['.yaml', '.yml', '.json']);
const ENCRYPTED = /^sops:\s*$|"sops"\s*:\s*\{/m;

export interface DecryptedTree {
  dir: string;
  /** Files that were decrypted, relative to the root. */
  decrypted: string[];
  cleanup(): Promise<void>;
}

/**
 * A view of the source with every SOPS-encrypted manifest file decrypted, as
 * Flux decrypts files while kustomize reads them: whole files, before any
 * transformation, so sops can check the MAC over the file as committed.
 * Other files are copied as they are. Keys reach sops through
 * its environment and a private GNUPGHOME; plaintext lives only in a 0700
 * directory the caller removes with `cleanup`.
 */
export async function decryptTree(root: string, keys: DecryptionKeys, focus = '', opts: { serviceAccountName?: string } = {}): Promise<DecryptedTree> {
  const focusRel = focus.replace(/^\.?\/+/, '').replace(/\/+$/, '');
  const work = await mkdtemp(join(tmpdir(), 'sluice-decrypt-'));
  await chmod(work, 0o700);
  const dir = join(work, 'tree');
  const gnupg = join(work, 'gnupg');
  // sops reads the Vault token from VAULT_TOKEN (the address is in each file's
  // metadata); HOME is the private work directory, so no ~/.vault-token of
  // the controller's user is ever read instead.
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: work, GNUPGHOME: gnupg, SOPS_AGE_KEY: keys.age.join('\n'), ...(keys.vaultToken ? { VAULT_TOKEN: keys.vaultToken } : {}) };
  const decrypted: string[] = [];
  const cleanup = async () => {
    if (keys.pgp.length) await run('gpgconf', ['--kill', 'gpg-agent'], { env, check: false }).catch(() => undefined);
    await rm(work, { recursive: true, force: true });
  };
  try {
    await mkdir(gnupg, { mode: 0o700 });
    for (const k of keys.pgp) await run('gpg', ['--batch', '--quiet', '--import'], { env, input: k });
    const sops = await ensureSops();
    const walk = async (src: string, dst: string, rel: string): Promise<void> => {
      await mkdir(dst, { recursive: true });
      for (const e of await readdir(src, { withFileTypes: true })) {
        const s = join(src, e.name);
        const d = join(dst, e.name);
        const r = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) {
          if (e.name !== '.git') await walk(s, d, r);
          continue;
        }
        if (e.isSymbolicLink()) {
          await symlink(await readlink(s), d);
          continue;
        }
        if (!e.isFile()) continue;
        if (MANIFEST_EXT.has(extname(e.name)) && (await lstat(s)).size < 4 * 1024 * 1024 && ENCRYPTED.test(await readFile(s, 'utf8'))) {
          const type = extname(e.name) === '.json' ? 'json' : 'yaml';
          const res = await run(sops, ['--decrypt', '--input-type', type, '--output-type', type, s], { env, check: false });
          if (res.code === 0) {
            await writeFile(d, res.stdout, { mode: 0o600 });
            decrypted.push(r);
          } else if (!focusRel || r === focusRel || r.startsWith(`${focusRel}/`)) {
            const cloud = opts.serviceAccountName ? cloudKms(await readFile(s, 'utf8')) : [];
            if (cloud.length) {
              // Flux would authenticate to the KMS as this service account (workload identity); Sluice has no cloud identity to offer.
              throw new DecryptionError(
                `${r}: encrypted with ${cloud.join(', ')}, which spec.decryption.serviceAccountName '${opts.serviceAccountName}' would authenticate to through cloud workload identity; ` +
                  'Sluice cannot use workload identity, and no age or OpenPGP key in the decryption Secret opens the file',
              );
            }
            throw new DecryptionError(`${r}: sops could not decrypt it: ${sopsError(res.stderr)}`);
          } else {
            // Outside the built path: maybe another Kustomization's, with other keys.
            // Left encrypted; if the build uses it after all, assertDecrypted says so.
            await copyFile(s, d);
          }
        } else {
          // A copy, not a link: the builder refuses links that leave its root.
          await copyFile(s, d, fsConstants.COPYFILE_FICLONE);
        }
      }
    };
    await walk(root, dir, '');
    return { dir, decrypted, cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/** The cloud KMS services whose keys a SOPS file's metadata lists (YAML or JSON, non-empty lists only). */
export function cloudKms(text: string): string[] {
  const services: Array<[string, string]> = [
    ['kms', 'AWS KMS'],
    ['gcp_kms', 'GCP KMS'],
    ['azure_kv', 'Azure Key Vault'],
  ];
  // Linear: only one run of whitespace may hold line breaks. The earlier
  // `\s*:\s*(\n\s*-` tried every split of a run of newlines (1.4 s for
  // 20,000 of them after `kms:`, an hour for a megabyte).
  return services.filter(([key]) => new RegExp(`(^|[\\s"{,])${key}"?[ \\t]*:[ \\t]*(\\r?\\n\\s*-|\\[\\s*\\{)`, 'm').test(text)).map(([, name]) => name);
}

/** sops's own message, without its multi-line key dump. */
export function sopsError(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter(Boolean);
  const first = lines[0] ?? 'unknown error';
  if (!/^(Failed to get the data key|Error getting data key)/.test(first) && !first.endsWith(':')) return first;
  const vault = vaultRefusal(stderr);
  return vault
    ? `no key in the decryption Secret can open it; ${vault}`
    : 'no key in the decryption Secret can open it (wrong age or OpenPGP key?)';
}

/**
 * What Vault said when sops asked it to decrypt the data key, from sops's
 * report of its key groups: "Vault (URL) answered 403: permission denied".
 * The report has the address and Vault's errors, never the token.
 */
function vaultRefusal(stderr: string): string | undefined {
  const text = stderr.split('\n').map((l) => l.replace(/^\s*(\|\s?)?/, '').replace(/^-\s*\|\s?/, '')).join('\n');
  const code = /URL: [A-Z]+\s+(\S+)\s*\nCode: (\d+)\. Errors:\s*\n([\s\S]*?)(?:\n\s*\n|$)/.exec(text);
  if (!code) return undefined;
  const reasons = code[3]!
    .split('\n')
    .map((l) => l.replace(/^[\s*]+/, '').trim())
    .filter((l) => l && !/^\d+ errors? occurred:?$/.test(l));
  const url = code[1]!.replace(/\/v1\/.*$/, '');
  return `Vault at ${url} answered ${code[2]}${reasons.length ? `: ${reasons.join('; ')}` : ''}`;
}
