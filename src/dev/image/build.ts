// `sluice image build`: Sluice's OCI image without a container engine. Four
// layers, least changing first: Debian base (mmdebstrap, cached), Node
// runtime, Go-built tools, the Sluice bundle. Every layer is a deterministic
// tar (tar.ts), so the same inputs give the same image digest.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../../util/exec.ts';
import { projectRoot } from '../../util/paths.ts';
import { BASE, IMAGE_UID, PINNED_EPOCH, baseLayer } from './base.ts';
import { NODE, PATHS, appLayer, nodeLayer, toolsLayer } from './layers.ts';
import { writeLayout, type BuiltImage, type ImageConfig, type Layer } from './oci.ts';

export interface BuildOptions {
  /** Directory of the OCI layout (emptied first). */
  out: string;
  /** Tag in index.json (default: the package version). */
  tag?: string;
  /** Seconds since the epoch for `created` and every mtime (default SOURCE_DATE_EPOCH, else the commit's time). */
  sourceDateEpoch?: number;
  /** Rebuild the Debian base even when it is cached. */
  refreshBase?: boolean;
  log?: (m: string) => void;
}

export interface BuildResult extends BuiltImage {
  out: string;
  tag: string;
  version: string;
  revision: string;
  /** Each layer's name, diff_id and compressed size, base first. */
  layerInfo: Array<{ name: string; diffId: string; size: number }>;
  baseCached: boolean;
  seconds: number;
}

/** The environment every process in the image starts with. */
export function imageEnv(): string[] {
  return [
    'PATH=/usr/local/bin:/usr/bin:/bin',
    // The root filesystem is read-only in the Deployment: HOME and the
    // temporary files go to the /tmp emptyDir, state to the /data one.
    'HOME=/tmp',
    'SLUICE_HOME=/data',
    `SLUICE_HELM=${PATHS.tools}/helm`,
    `SLUICE_HELM_DRIVER=${PATHS.tools}/helm-driver`,
    `SLUICE_KUSTOMIZE=${PATHS.tools}/kustomize`,
    `SLUICE_SOPS=${PATHS.tools}/sops`,
  ];
}

/** What the image runs: tini as PID 1 (it reaps git's and ssh's orphans and forwards signals), then node and the bundle. */
export const ENTRYPOINT = ['/usr/bin/tini', '--', PATHS.node, `${PATHS.app}/sluice.mjs`];

async function gitInfo(): Promise<{ revision: string; time: number; source?: string }> {
  const git = (args: string[]) => run('git', args, { cwd: projectRoot, check: false });
  const rev = (await git(['rev-parse', 'HEAD'])).stdout.trim();
  const dirty = (await git(['status', '--porcelain', '--untracked-files=no'])).stdout.trim() !== '';
  const time = Number((await git(['log', '-1', '--format=%ct'])).stdout.trim());
  const remote = (await git(['config', '--get', 'remote.origin.url'])).stdout.trim();
  return { revision: rev ? `${rev}${dirty ? '-dirty' : ''}` : 'unknown', time: Number.isFinite(time) && time > 0 ? time : 0, ...(remote ? { source: remote } : {}) };
}

export async function buildImage(o: BuildOptions): Promise<BuildResult> {
  const started = Date.now();
  const log = o.log ?? (() => {});
  const pkg = JSON.parse(await readFile(join(projectRoot, 'package.json'), 'utf8')) as { version: string; description?: string; license?: string; repository?: { url?: string } | string };
  const git = await gitInfo();
  const epoch = o.sourceDateEpoch ?? (process.env.SOURCE_DATE_EPOCH ? Number(process.env.SOURCE_DATE_EPOCH) : git.time);
  if (!Number.isInteger(epoch) || epoch < 0) throw new Error(`SOURCE_DATE_EPOCH must be a whole number of seconds, not ${JSON.stringify(process.env.SOURCE_DATE_EPOCH)}`);
  const created = new Date(epoch * 1000).toISOString().replace('.000Z', 'Z');
  const tag = o.tag ?? pkg.version;
  const source = (typeof pkg.repository === 'string' ? pkg.repository : pkg.repository?.url) ?? git.source;

  const base = await baseLayer({ refresh: o.refreshBase, log });
  log(`base layer ${base.cached ? 'from the cache' : 'built'}`);
  const app = await appLayer({ mtime: epoch, log, version: pkg.version });
  const layers: Layer[] = [base, await nodeLayer({ mtime: PINNED_EPOCH, log }), await toolsLayer({ mtime: PINNED_EPOCH, log }), app];

  const labels: Record<string, string> = {
    'org.opencontainers.image.title': 'sluice',
    'org.opencontainers.image.description': pkg.description ?? 'Sluice',
    'org.opencontainers.image.version': pkg.version,
    'org.opencontainers.image.revision': git.revision,
    'org.opencontainers.image.created': created,
    'org.opencontainers.image.licenses': pkg.license ?? 'NOASSERTION',
    'org.opencontainers.image.base.name': `debian:${BASE.suite}`,
    ...(source ? { 'org.opencontainers.image.source': source } : {}),
  };
  const config: ImageConfig = {
    user: `${IMAGE_UID}:${IMAGE_UID}`,
    env: imageEnv(),
    entrypoint: ENTRYPOINT,
    cmd: ['controller', '--http-addr=0.0.0.0:8080', '--storage-addr=0.0.0.0:9090', '--data-dir=/data'],
    workingDir: '/tmp',
    exposedPorts: ['8080/tcp', '9090/tcp'],
    labels,
    created,
  };
  const built = await writeLayout(o.out, config, layers, tag);
  const layerInfo = layers.map((l, i) => ({ name: l.name, diffId: l.diffId, size: built.layers[i]!.size }));
  await writeSbom(o.out, { base: base.packages, npm: app.npm, version: pkg.version, revision: git.revision, digest: built.manifest.digest, layerInfo });
  const result: BuildResult = { ...built, out: o.out, tag, version: pkg.version, revision: git.revision, layerInfo, baseCached: base.cached, seconds: (Date.now() - started) / 1000 };
  // What `sluice install` reads to reference the image by digest.
  await writeFile(join(o.out, '..', `${lastName(o.out)}.json`), `${JSON.stringify({ digest: built.manifest.digest, tag, version: pkg.version, revision: git.revision, compressedSize: built.compressedSize, layers: layerInfo }, null, 2)}\n`);
  return result;
}

const lastName = (p: string) => p.replace(/\/+$/, '').split('/').pop() ?? 'image';

/**
 * The package list beside the layout (`packages.tsv`, not inside it, so it
 * does not change the digest): every Debian package with its version, the
 * Node runtime and each Go tool, and the npm packages bundled into the app.
 */
async function writeSbom(out: string, s: { base: string; npm: string[]; version: string; revision: string; digest: string; layerInfo: BuildResult['layerInfo'] }): Promise<void> {
  const { HELM, KUSTOMIZE, SOPS } = await import('../../tools/gotool.ts');
  const lines = [
    `# sluice ${s.version} (${s.revision}) ${s.digest}`,
    '# kind\tname\tversion',
    ...s.base.trim().split('\n').map((l) => `deb\t${l.split('\t').slice(0, 2).join('\t')}`),
    `binary\tnode\t${NODE.version}`,
    `go\t${KUSTOMIZE.module}\t${KUSTOMIZE.version}`,
    `go\t${HELM.module}\t${HELM.version}`,
    `go\t${SOPS.module}\t${SOPS.version}`,
    `go\tsluice/tools/helm-driver\t${s.version}`,
    ...s.npm.map((l) => `npm\t${l}`),
  ];
  await mkdir(out, { recursive: true });
  await writeFile(join(out, '..', `${lastName(out)}.packages.tsv`), `${lines.join('\n')}\n`);
}
