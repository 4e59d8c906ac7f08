// Charts from OCIRepository artifacts, as helm-controller installs them: the
// chart version stamped with the manifest digest, on a private copy of the chart.
import { cp, mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseLooseVersion } from '../semver.ts';
import { tagToVersion } from './ociref.ts';
import { parseDocument } from 'yaml';
import type { ChartMetadata } from './chart.ts';

/** How many digest-stamped chart copies are kept (each HelmRelease needs only its current one). */
const KEEP = 64;

/**
 * The chart version helm-controller installs from an OCIRepository
 * artifact: the chart's version with the first 12 hex digits of the
 * manifest digest as build metadata, so a tag pushed again with new content
 * is a new chart version (an upgrade). For a `<tag>@<digest>` revision the
 * tag must be the chart's version. Returns the version and the digest.
 */
export function ociChartVersion(chartVersion: string, revision: string): { version: string; digest: string } {
  const v = parseLooseVersion(chartVersion);
  if (!v) throw new Error(`chart version '${chartVersion}' is not SemVer`);
  let digest = revision;
  const at = revision.lastIndexOf('@');
  if (at >= 0) {
    const tag = revision.slice(0, at);
    digest = revision.slice(at + 1);
    const t = parseLooseVersion(tagToVersion(tag));
    if (!t) throw new Error(`failed parsing artifact revision ${tag}`);
    if (t.compare(v) !== 0) throw new Error(`artifact revision ${tag} does not match chart version ${chartVersion}`);
  }
  const hex = /^[a-z0-9]+:([a-f0-9]{12,})$/.exec(digest)?.[1];
  if (!hex) throw new Error(`invalid artifact revision ${revision}`);
  const base = `${v.major}.${v.minor}.${v.patch}${v.prerelease.length ? `-${v.prerelease.join('.')}` : ''}`;
  return { version: `${base}+${hex.slice(0, 12)}`, digest };
}

/**
 * A copy of the chart directory whose Chart.yaml carries the digest-stamped
 * version (the artifact's own tree is shared and stays untouched). Copies
 * live under `workDir`, one per artifact digest and version, made once and
 * reused; the least recently used beyond KEEP are removed.
 */
export async function chartWithOciVersion(
  chartDir: string,
  chart: ChartMetadata,
  revision: string,
  workDir: string,
): Promise<{ chartDir: string; chart: ChartMetadata; ociDigest: string }> {
  const { version, digest } = ociChartVersion(chart.version, revision);
  const root = join(workDir, 'oci-charts');
  const dest = join(root, `${chart.name}-${version}`.replace(/[^A-Za-z0-9_.+-]/g, '_'));
  const ready = await stat(join(dest, 'Chart.yaml')).then(() => true, () => false);
  if (ready) {
    const t = new Date();
    await utimes(dest, t, t).catch(() => {});
  } else {
    await mkdir(root, { recursive: true });
    const tmp = `${dest}.tmp-${process.pid}-${Date.now()}`;
    try {
      await cp(chartDir, tmp, { recursive: true, verbatimSymlinks: true });
      const doc = parseDocument(await readFile(join(tmp, 'Chart.yaml'), 'utf8'));
      doc.set('version', version);
      await writeFile(join(tmp, 'Chart.yaml'), String(doc));
      await rename(tmp, dest).catch(async (err: NodeJS.ErrnoException) => {
        // Another reconcile made the same copy first: theirs is as good.
        if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err;
      });
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
    await prune(root);
  }
  return { chartDir: dest, chart: { ...chart, version }, ociDigest: digest };
}

async function prune(root: string): Promise<void> {
  const entries = await readdir(root, { withFileTypes: true });
  const dirs = await Promise.all(
    entries.filter((e) => e.isDirectory() && !e.name.includes('.tmp-')).map(async (e) => ({ p: join(root, e.name), t: (await stat(join(root, e.name))).mtimeMs })),
  );
  dirs.sort((a, b) => b.t - a.t);
  for (const d of dirs.slice(KEEP)) await rm(d.p, { recursive: true, force: true });
}
