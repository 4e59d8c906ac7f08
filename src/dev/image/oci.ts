// Writes an OCI image layout (image-spec v1.1: oci-layout, index.json,
// blobs/sha256/...) from gzipped layers and an image config. JSON is written
// with a fixed key order (as built here) and no whitespace, so equal inputs
// give equal config and manifest digests.
import { createHash } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const MEDIA = {
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  index: 'application/vnd.oci.image.index.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar+gzip',
} as const;

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

export interface Layer {
  /** What the layer holds, for the image history and the build log. */
  name: string;
  /** sha256 of the uncompressed tar (the config's diff_id). */
  diffId: string;
  /** The gzipped tar. */
  blob: Buffer;
}

export interface ImageConfig {
  user: string;
  env: string[];
  entrypoint: string[];
  cmd: string[];
  workingDir: string;
  exposedPorts: string[];
  labels: Record<string, string>;
  /** RFC 3339, from SOURCE_DATE_EPOCH. */
  created: string;
}

export interface BuiltImage {
  manifest: Descriptor;
  config: Descriptor;
  layers: Descriptor[];
  /** Compressed bytes of config and layers: what a pull downloads. */
  compressedSize: number;
}

export const sha256 = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

function descriptor(mediaType: string, blob: Buffer, annotations?: Record<string, string>): Descriptor {
  return { mediaType, digest: sha256(blob), size: blob.length, ...(annotations ? { annotations } : {}) };
}

/** The config blob: what runs, as whom, and the layers' diff_ids. */
export function configBlob(c: ImageConfig, layers: Layer[]): Buffer {
  const config = {
    created: c.created,
    architecture: 'amd64',
    os: 'linux',
    config: {
      User: c.user,
      ExposedPorts: Object.fromEntries(c.exposedPorts.map((p) => [p, {}])),
      Env: c.env,
      Entrypoint: c.entrypoint,
      Cmd: c.cmd,
      WorkingDir: c.workingDir,
      Labels: c.labels,
    },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    history: layers.map((l) => ({ created: c.created, created_by: `sluice image build: ${l.name}` })),
  };
  return Buffer.from(JSON.stringify(config));
}

/**
 * Writes the layout into `dir` (emptied first) with one manifest, tagged `tag`
 * in index.json; returns the descriptors. The manifest carries the labels as
 * annotations too, as OCI tools expect.
 */
export async function writeLayout(dir: string, c: ImageConfig, layers: Layer[], tag: string): Promise<BuiltImage> {
  const config = configBlob(c, layers);
  const configDesc = descriptor(MEDIA.config, config);
  const layerDescs = layers.map((l) => descriptor(MEDIA.layer, l.blob));
  const manifest = Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType: MEDIA.manifest, config: configDesc, layers: layerDescs, annotations: c.labels }),
  );
  const manifestDesc = descriptor(MEDIA.manifest, manifest);
  const index = { schemaVersion: 2, mediaType: MEDIA.index, manifests: [{ ...manifestDesc, annotations: { 'org.opencontainers.image.ref.name': tag } }] };

  await rm(dir, { recursive: true, force: true });
  const blobs = join(dir, 'blobs', 'sha256');
  await mkdir(blobs, { recursive: true });
  const put = (b: Buffer) => writeFile(join(blobs, sha256(b).slice('sha256:'.length)), b);
  for (const l of layers) await put(l.blob);
  await put(config);
  await put(manifest);
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await writeFile(join(dir, 'index.json'), JSON.stringify(index));
  return {
    manifest: manifestDesc,
    config: configDesc,
    layers: layerDescs,
    compressedSize: config.length + layerDescs.reduce((n, d) => n + d.size, 0),
  };
}
