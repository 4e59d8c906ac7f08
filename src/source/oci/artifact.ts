// OCI artifacts: resolving a reference (digest, SemVer range over the tags,
// tag) to what to pull, the revision, and the manifest's layer to use.
import { newestMatching } from '../semver.ts';

/** The media type of a Helm chart layer, as `helm push` writes it. */
export const HELM_CHART_LAYER = 'application/vnd.cncf.helm.chart.content.v1.tar+gzip';

export interface OciDescriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

export interface OciManifest {
  mediaType?: string;
  config?: OciDescriptor;
  layers: OciDescriptor[];
  annotations?: Record<string, string>;
}

/** A problem with the artifact's content or reference; `reason` is Flux's condition reason. */
export class OciArtifactError extends Error {
  constructor(
    message: string,
    readonly reason: 'OCIArtifactPullFailed' | 'OCIArtifactLayerOperationFailed' | 'URLInvalid',
    readonly stalled = false,
  ) {
    super(message);
    this.name = 'OciArtifactError';
  }
}

/** What to pull: a digest, or a tag (picked from the tags for a SemVer range). */
export type OciPullTarget = { digest: string; tag?: undefined } | { tag: string; digest?: undefined };

export interface OciRef {
  digest?: string;
  semver?: string;
  semverFilter?: string;
  tag?: string;
}

/**
 * Where a reference points, with Flux's precedence: digest, then semver
 * (the highest tag in range, among those matching semverFilter), then tag,
 * `latest` by default. `tags` is called only for semver.
 */
export async function resolveOciRef(ref: OciRef | undefined, tags: () => Promise<string[]>): Promise<OciPullTarget> {
  if (ref?.digest) {
    if (!/^sha256:[0-9a-f]{64}$/.test(ref.digest)) throw new OciArtifactError(`invalid digest '${ref.digest}': want sha256:<64 hex digits>`, 'URLInvalid', true);
    return { digest: ref.digest };
  }
  if (ref?.semver) {
    let filter: RegExp | undefined;
    if (ref.semverFilter) {
      try {
        filter = new RegExp(ref.semverFilter);
      } catch (err) {
        throw new OciArtifactError(`invalid semverFilter '${ref.semverFilter}': ${(err as Error).message}`, 'URLInvalid', true);
      }
    }
    const all = await tags();
    const candidates = filter ? all.filter((t) => filter.test(t)) : all;
    let tag: string | undefined;
    try {
      tag = newestMatching(candidates, ref.semver);
    } catch {
      throw new OciArtifactError(`invalid semver range '${ref.semver}'`, 'URLInvalid', true);
    }
    if (!tag) throw new OciArtifactError(`no tag matches semver range '${ref.semver}'${filter ? ` and filter '${ref.semverFilter}'` : ''}`, 'OCIArtifactPullFailed');
    return { tag };
  }
  return { tag: ref?.tag || 'latest' };
}

/** Flux's artifact revision: `<tag>@<digest>`, or the digest alone when pulled by digest. */
export function ociRevision(target: OciPullTarget, digest: string): string {
  return target.tag ? `${target.tag}@${digest}` : digest;
}

/** Parses an image manifest; an index (multi-platform image) is not an artifact Sluice can use. */
export function parseManifest(body: Buffer, mediaType: string): OciManifest {
  let doc: Partial<OciManifest> & { manifests?: unknown };
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch {
    throw new OciArtifactError('the manifest is not JSON', 'OCIArtifactPullFailed');
  }
  if (doc.manifests || /index|manifest\.list/.test(mediaType)) {
    throw new OciArtifactError('the reference names an image index, not an artifact manifest', 'OCIArtifactLayerOperationFailed');
  }
  const layers = Array.isArray(doc.layers) ? doc.layers.filter((l) => l && typeof l.digest === 'string') : [];
  return { mediaType: doc.mediaType ?? mediaType, config: doc.config, layers, annotations: doc.annotations };
}

/** The first layer with the media type, or the first layer when none is asked for. */
export function selectLayer(manifest: OciManifest, mediaType: string | undefined): OciDescriptor {
  if (!manifest.layers.length) throw new OciArtifactError('no layers found in artifact', 'OCIArtifactLayerOperationFailed');
  if (!mediaType) return manifest.layers[0]!;
  const hit = manifest.layers.find((l) => l.mediaType === mediaType);
  if (!hit) {
    const have = [...new Set(manifest.layers.map((l) => l.mediaType))].join(', ');
    throw new OciArtifactError(`failed to find layer with media type '${mediaType}' in artifact (it has: ${have})`, 'OCIArtifactLayerOperationFailed');
  }
  return hit;
}
