// How the appliers (Kustomization, HelmRelease) get a source's artifact as a
// directory: in process from the storage, or downloaded from its URL.
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat, readdir } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { join } from 'node:path';
import { DEFAULT_UNTAR_LIMITS, untarLimited, type UntarLimits } from '../util/untar.ts';

export interface ArtifactRef {
  url: string;
  path: string;
  revision: string;
  digest?: string;
  /** The source's metadata of the artifact (an OCI manifest's annotations). */
  metadata?: Record<string, string>;
}

/**
 * Turns a source's `status.artifact` into a directory of files. Inside one
 * Sluice process the GitRepository controller's own unpacked tree is used
 * directly; otherwise (Flux's source-controller, another Sluice) the tarball
 * is downloaded from `url`, its digest checked, and unpacked once per digest.
 */
export class ArtifactResolver {
  private readonly inflight = new Map<string, Promise<string>>();

  constructor(
    private readonly cacheDir: string,
    /** The in-process tree of an artifact, when this process stored it. */
    private readonly local?: (artifact: ArtifactRef) => Promise<string | undefined>,
    private readonly keep = 64,
    /** What an unpacked artifact may hold: a small .tar.gz can expand to gigabytes (a gzip bomb). */
    private readonly limits: UntarLimits = DEFAULT_UNTAR_LIMITS,
  ) {}

  async resolve(artifact: ArtifactRef): Promise<string> {
    const localDir = await this.local?.(artifact);
    if (localDir) return localDir;
    const key = (artifact.digest ?? createHash('sha256').update(artifact.url).digest('hex')).replace(/[^a-zA-Z0-9]/g, '_');
    const dir = join(this.cacheDir, key);
    if (await stat(dir).then(() => true, () => false)) return dir;
    let p = this.inflight.get(key);
    if (!p) {
      p = this.download(artifact, dir).finally(() => this.inflight.delete(key));
      this.inflight.set(key, p);
    }
    return p;
  }

  private async download(artifact: ArtifactRef, dir: string): Promise<string> {
    await mkdir(this.cacheDir, { recursive: true });
    const tmp = join(this.cacheDir, `.tmp-${randomBytes(6).toString('hex')}`);
    const file = `${tmp}.tar.gz`;
    try {
      const digest = await fetchTo(artifact.url, file, this.limits.maxTotalSize);
      if (artifact.digest && artifact.digest !== `sha256:${digest}`) {
        throw new Error(`artifact ${artifact.url} has digest sha256:${digest}, expected ${artifact.digest}`);
      }
      await mkdir(tmp);
      // Bounded: absolute paths and `..` refused, sizes and entries limited.
      await untarLimited({ file, cwd: tmp, limits: this.limits }).catch((err: Error) => {
        throw new Error(`artifact ${artifact.url}: ${err.message}`);
      });
      await rename(tmp, dir).catch(async (err) => {
        if ((err as NodeJS.ErrnoException).code !== 'ENOTEMPTY' && (err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      });
      await this.collect();
      return dir;
    } finally {
      await rm(file, { force: true });
      await rm(tmp, { recursive: true, force: true });
    }
  }

  /** Keeps the most recently made directories only. */
  private async collect(): Promise<void> {
    const entries = await readdir(this.cacheDir, { withFileTypes: true });
    const dirs = await Promise.all(
      entries
        .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
        .map(async (e) => ({ path: join(this.cacheDir, e.name), mtime: (await stat(join(this.cacheDir, e.name))).mtimeMs })),
    );
    dirs.sort((a, b) => b.mtime - a.mtime);
    for (const d of dirs.slice(this.keep)) await rm(d.path, { recursive: true, force: true });
  }
}

function fetchTo(url: string, file: string, maxBytes: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const mod = url.startsWith('https:') ? https : http;
    const req = mod.get(url, { timeout: 60_000 }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        reject(new Error(`downloading artifact ${url}: HTTP ${res.statusCode}`));
        return;
      }
      const hash = createHash('sha256');
      const out = createWriteStream(file);
      let bytes = 0;
      res.on('data', (c: Buffer) => {
        hash.update(c);
        bytes += c.length;
        if (bytes > maxBytes) res.destroy(new Error(`downloading artifact ${url}: over ${maxBytes} bytes`));
      });
      res.pipe(out);
      out.on('finish', () => resolve(hash.digest('hex')));
      out.on('error', reject);
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`downloading artifact ${url}: timed out`)));
    req.on('error', reject);
  });
}
