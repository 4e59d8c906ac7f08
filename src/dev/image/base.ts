// The image's base layer: a minimal Debian root filesystem made by
// mmdebstrap, with only what the controllers run (git, ssh, gpg, CA
// certificates) and an init that reaps child processes (tini).
//
// Why the base layer is reproducible: mmdebstrap, given SOURCE_DATE_EPOCH,
// clamps every mtime to it, sorts the tarball, writes numeric owners and
// resets what dpkg and maintainer scripts would stamp with the current time
// or a random value (logs, machine-id, caches), so the same package versions
// give the same tarball byte for byte. Debian's mirror moves on (point
// releases and security updates change versions), so a rebuild weeks later
// is a different, newer base. The layer is therefore cached under
// ~/.cache/sluice/image keyed by every input we control (suite, mirrors,
// packages, exclusions, hooks, the epoch, the mmdebstrap version); the
// package list beside it names the exact versions, and `--refresh-base`
// rebuilds it on purpose to take Debian's updates.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../../util/exec.ts';
import { withLock } from '../../util/lock.ts';
import { cacheHome } from '../../util/paths.ts';
import { gzipDeterministic } from './tar.ts';
import { sha256, type Layer } from './oci.ts';

/** The non-root user the controller runs as (distroless' "nonroot" number). */
export const IMAGE_UID = 65532;

/**
 * The file times of the layers whose content does not come from Sluice's
 * sources (base, Node, tools): fixed, so a commit does not change them and
 * registries and nodes keep them; only the app layer takes SOURCE_DATE_EPOCH.
 */
export const PINNED_EPOCH = 1764547200; // 2025-12-01T00:00:00Z
const BASE_EPOCH = PINNED_EPOCH;

export const BASE = {
  suite: 'bookworm',
  mirrors: [
    'deb http://deb.debian.org/debian bookworm main',
    'deb http://deb.debian.org/debian bookworm-updates main',
    'deb http://deb.debian.org/debian-security bookworm-security main',
  ],
  // essential: dpkg, coreutils, bash and the like, without apt (nothing
  // installs packages in the running image).
  variant: 'essential',
  // libstdc++6: the Node binary links it.
  packages: ['ca-certificates', 'git', 'openssh-client', 'gpg', 'libstdc++6', 'tini'],
  // Documentation, manuals and translations (copyright files kept), and
  // git's server-side and mail programs, which a client never runs.
  excludes: [
    '/usr/share/doc/*',
    '/usr/share/man/*',
    '/usr/share/info/*',
    '/usr/share/locale/*',
    '/usr/share/lintian/*',
    '/usr/share/gitweb/*',
    '/usr/share/bash-completion/*',
    '/usr/lib/git-core/git-daemon',
    '/usr/lib/git-core/git-http-backend',
    '/usr/lib/git-core/git-http-push',
    '/usr/lib/git-core/git-imap-send',
    '/usr/lib/git-core/git-shell',
    '/usr/lib/git-core/scalar',
    '/usr/bin/git-shell',
    '/usr/bin/scalar',
  ],
  includes: ['/usr/share/doc/*/copyright'],
  // git depends on perl for a few porcelain scripts (add -i, send-email, svn)
  // the controllers never call; dropping it halves the base layer.
  purge: ['git-man', 'liberror-perl', 'perl', 'perl-modules-5.36', 'libperl5.36'],
};

export interface BaseLayer extends Layer {
  /** `package<TAB>version<TAB>architecture` lines of every installed Debian package. */
  packages: string;
  /** Whether it came from the cache. */
  cached: boolean;
}

function hooks(packagesFile: string): string[] {
  const u = IMAGE_UID;
  return [
    `chroot "$1" dpkg --purge --force-depends ${BASE.purge.join(' ')}`,
    `echo 'sluice:x:${u}:${u}:sluice:/tmp:/usr/sbin/nologin' >> "$1/etc/passwd"`,
    `echo 'sluice:x:${u}:' >> "$1/etc/group"`,
    // Mount points of the Deployment's volumes, writable by the user when a runtime mounts nothing there.
    `mkdir -p "$1/data" && chown ${u}:${u} "$1/data" && chmod 0755 "$1/data"`,
    `chroot "$1" dpkg-query -W -f='\${Package}\\t\${Version}\\t\${Architecture}\\n' > '${packagesFile}'`,
  ];
}

function mmdebstrapArgs(out: string, packagesFile: string): string[] {
  return [
    `--variant=${BASE.variant}`,
    '--mode=auto',
    `--include=${BASE.packages.join(',')}`,
    ...BASE.excludes.map((p) => `--dpkgopt=path-exclude=${p}`),
    ...BASE.includes.map((p) => `--dpkgopt=path-include=${p}`),
    ...hooks(packagesFile).map((h) => `--customize-hook=${h}`),
    BASE.suite,
    out,
    ...BASE.mirrors,
  ];
}

/** The cache key: a hash of every input of the mmdebstrap run. */
export async function baseKey(): Promise<string> {
  const version = (await run('mmdebstrap', ['--version'])).stdout.trim();
  return createHash('sha256')
    .update(JSON.stringify({ BASE, BASE_EPOCH, version, hooks: hooks('PACKAGES'), uid: IMAGE_UID }))
    .digest('hex')
    .slice(0, 16);
}

/** The base layer, from the cache or built by mmdebstrap (about half a minute, plus downloads). */
export async function baseLayer(opts: { refresh?: boolean; log?: (m: string) => void } = {}): Promise<BaseLayer> {
  const log = opts.log ?? (() => {});
  const key = await baseKey();
  const root = join(cacheHome(), 'image');
  const dir = join(root, `base-${key}`);
  await mkdir(root, { recursive: true });
  return withLock(join(root, `base-${key}.lock`), async () => {
    if (opts.refresh) await rm(dir, { recursive: true, force: true });
    let cached = true;
    if (!existsSync(join(dir, 'diffid'))) {
      cached = false;
      const tmp = `${dir}.tmp-${process.pid}`;
      await rm(tmp, { recursive: true, force: true });
      await mkdir(tmp, { recursive: true });
      const started = Date.now();
      log(`building the Debian base with mmdebstrap (${BASE.suite}, ${BASE.packages.join(' ')})`);
      await run('mmdebstrap', mmdebstrapArgs(join(tmp, 'layer.tar'), join(tmp, 'packages.tsv')), {
        env: { ...process.env, SOURCE_DATE_EPOCH: String(BASE_EPOCH), LC_ALL: 'C.UTF-8' },
      });
      const tar = await readFile(join(tmp, 'layer.tar'));
      await writeFile(join(tmp, 'layer.tar.gz'), gzipDeterministic(tar));
      await writeFile(join(tmp, 'diffid'), sha256(tar));
      await rm(join(tmp, 'layer.tar'));
      await rm(dir, { recursive: true, force: true });
      await rename(tmp, dir);
      log(`built the base layer in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    }
    return {
      name: `debian ${BASE.suite} (${BASE.packages.join(', ')})`,
      diffId: (await readFile(join(dir, 'diffid'), 'utf8')).trim(),
      blob: await readFile(join(dir, 'layer.tar.gz')),
      packages: await readFile(join(dir, 'packages.tsv'), 'utf8'),
      cached,
    };
  });
}
