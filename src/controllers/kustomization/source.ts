// Stage 2, source: the object of spec.sourceRef and its artifact, from the
// source controllers' caches.
import type { ArtifactRef } from '../../runtime/artifacts.ts';
import { formatDuration } from '../../util/duration.ts';
import { Failure, type Attempt, type Env } from './attempt.ts';
import { Reason } from './names.ts';

/** The artifact to build, or why there is none. */
export function sourceArtifact(env: Env, a: Attempt): ArtifactRef | Failure {
  const ref = a.obj.spec.sourceRef;
  const srcNs = ref.namespace ?? a.namespace;
  if (env.o.noCrossNamespaceRefs && srcNs !== a.namespace) {
    return new Failure(Reason.AccessDenied, `cannot access ${ref.kind}/${srcNs}/${ref.name}: cross-namespace references are disabled`, { stalled: true });
  }
  const sources = env.o.sources.get(ref.kind);
  if (!sources && ref.kind === 'ExternalArtifact') {
    // Flux's words: the kind is served, reading it is a feature gate (off by default).
    return new Failure(Reason.AccessDenied, `can't access '${ref.kind}/${srcNs}/${ref.name}', ExternalArtifact feature gate is disabled`, { stalled: true });
  }
  if (!sources) {
    return new Failure(Reason.ArtifactFailed, `source kind ${ref.kind} is not supported by this controller`, { stalled: true });
  }
  const source = sources.get(srcNs, ref.name);
  const artifact = source?.status?.artifact as ArtifactRef | undefined;
  if (!source || !artifact) {
    return new Failure(
      Reason.ArtifactFailed,
      source ? `Source artifact not found, retrying in ${formatDuration(a.retryInterval)}` : `Source '${ref.kind}/${srcNs}/${ref.name}' not found`,
    );
  }
  return artifact;
}
