// Pushing the OCI layout to a registry with skopeo (Debian's package), keeping
// the manifest byte for byte so the pushed digest is the built one.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../util/exec.ts';

export interface PushOptions {
  /** The OCI layout directory and the tag in its index.json. */
  layout: string;
  tag: string;
  /** REGISTRY/REPOSITORY:TAG (or without a tag: the layout's tag is used). */
  destination: string;
  /** Plain HTTP or an unverified certificate (a loopback test registry). */
  insecure?: boolean;
}

/** `registry/repo` and tag of a reference; a colon after the last slash starts the tag. */
export function splitReference(ref: string): { repository: string; tag?: string } {
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  if (ref.includes('@')) throw new Error(`push to a tag, not a digest: ${ref}`);
  if (colon > slash) return { repository: ref.slice(0, colon), tag: ref.slice(colon + 1) };
  return { repository: ref };
}

/** Pushes and returns `repository@sha256:...`, the reference to pull by digest. */
export async function pushImage(o: PushOptions): Promise<string> {
  const { repository, tag } = splitReference(o.destination);
  if (!repository.includes('/')) throw new Error(`--push needs REGISTRY/REPOSITORY[:TAG], not ${o.destination}`);
  const dir = await mkdtemp(join(tmpdir(), 'sluice-push-'));
  try {
    const digestFile = join(dir, 'digest');
    await run('skopeo', [
      'copy',
      '--preserve-digests',
      `--dest-tls-verify=${o.insecure ? 'false' : 'true'}`,
      `--digestfile=${digestFile}`,
      `oci:${o.layout}:${o.tag}`,
      `docker://${repository}:${tag ?? o.tag}`,
    ]);
    return `${repository}@${(await readFile(digestFile, 'utf8')).trim()}`;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
