// What the GitRepository reconcile core is given instead of reaching out
// itself: Secrets, the artifacts of included repositories, the mirror cache,
// the storage and a clock. The controller passes the real ones; tests pass
// their own. Kept apart from reconcile.ts so the core's parts (includes,
// verification, failures) can name them without importing the core.
import type { SecretData } from '../../runtime/secrets.ts';
import type { ArtifactLimits } from '../artifact.ts';
import type { Storage } from '../storage/storage.ts';
import type { MirrorCache } from './mirror.ts';
import type { Artifact } from './types.ts';

/** An included GitRepository's artifact, as the caller can provide it. */
export interface IncludedArtifactRef {
  /** Directory holding the included artifact's files. */
  dir: string;
  revision: string;
  digest: string;
  /** The included object's full status.artifact, when known. */
  artifact?: Artifact;
}

export interface ReconcileDeps {
  getSecret(namespace: string, name: string): Promise<SecretData | undefined>;
  getIncludedArtifact(namespace: string, name: string): Promise<IncludedArtifactRef | undefined>;
  mirrors: MirrorCache;
  storage: Storage;
  clock?: () => Date;
  limits?: Partial<ArtifactLimits>;
  /** Re-hash the stored artifact on every reconcile, as Flux does (default true). */
  verifyStoredDigest?: boolean;
  /** Parent of the private directories holding key files during Git calls (default: the OS temp dir). */
  secretsTmpDir?: string;
}

