// Which image `sluice install` puts in the Deployment. By digest whenever one
// is known, so every node runs exactly the image that was built and tested,
// and a new build is a visible change to the manifests (what GitOps upgrades).

/** What `sluice image build` records beside its OCI layout (dist/image.json). */
export interface ImageRecord {
  digest: string;
  version: string;
}

export interface ImageChoice {
  /** `--image`: a full reference, used as it is. */
  image?: string;
  /** `--registry`: where the image was pushed, e.g. `ghcr.io/acme` (the repository is `sluice`) or `ghcr.io/acme/tools/sluice`. */
  registry?: string;
  /** The last local build, if any. */
  record?: ImageRecord;
  version: string;
}

export const IMAGE_NAME = 'sluice';

const DIGEST = /^sha256:[0-9a-f]{64}$/;

/** The image reference and, when it is not pinned by digest, why (to warn about). */
export function imageReference(c: ImageChoice): { image: string; warning?: string } {
  if (c.image) {
    return c.image.includes('@sha256:') ? { image: c.image } : { image: c.image, warning: `--image ${c.image} is not pinned by digest: nodes may run different builds under the same tag` };
  }
  const registry = c.registry?.replace(/\/+$/, '');
  const repository = !registry ? IMAGE_NAME : registry.split('/').pop() === IMAGE_NAME ? registry : `${registry}/${IMAGE_NAME}`;
  if (c.record && c.record.version === c.version && DIGEST.test(c.record.digest)) {
    return { image: `${repository}:${c.version}@${c.record.digest}` };
  }
  const why = c.record ? `the last \`sluice image build\` was of version ${c.record.version}, not ${c.version}` : 'no image was built here (`sluice image build`)';
  return { image: `${repository}:${c.version}`, warning: `${why}: the Deployment names the image by tag only; pass --image REPO@sha256:... to pin it` };
}
