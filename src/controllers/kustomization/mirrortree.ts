// The tree of an older revision, checked out from the GitRepository's bare
// mirror: what a rollback or a pin builds from. The source keeps only a few
// artifacts, but every commit it fetched stays in the mirror, so any of them
// can be built again, with the same ignore rules (.sourceignore, spec.ignore)
// and sparse checkout the artifact had.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GitRepository } from '../../api/gitrepository.ts';
import { pruneTree } from '../../source/artifact.ts';
import { anonymousAuth } from '../../source/git/auth.ts';
import { SourceIgnore, type MirrorCache } from '../../source/git/index.ts';
import { parseGitUrl } from '../../source/git/url.ts';
import { commitOf } from './record.ts';

/** A checked-out tree; `cleanup` removes it. */
export interface RevisionTree {
  dir: string;
  cleanup(): Promise<void>;
}

export class MirrorTreeError extends Error {}

/** Checks `revision` of the GitRepository `repo` out of the mirror, pruned as its artifact would be. */
export async function treeAtRevision(mirrors: MirrorCache | undefined, repo: GitRepository | undefined, revision: string): Promise<RevisionTree> {
  if (!mirrors) throw new MirrorTreeError('this controller has no Git mirror to build older revisions from');
  if (!repo) throw new MirrorTreeError('the GitRepository is gone');
  const commit = commitOf(revision);
  if (!commit) throw new MirrorTreeError(`revision '${revision}' names no Git commit`);
  const spec = repo.spec;
  // Included repositories and submodules come from elsewhere than this mirror: their old content is not here.
  if (spec.include?.length || spec.recurseSubmodules) {
    throw new MirrorTreeError(`GitRepository ${repo.metadata.name} uses include or submodules, which a build from its mirror cannot reproduce`);
  }
  const url = parseGitUrl(spec.url);
  if ((await mirrors.objectType(url, commit)) !== 'commit') {
    throw new MirrorTreeError(`commit ${commit} is no longer in the mirror of ${spec.url}`);
  }
  const tmp = await mkdtemp(join(tmpdir(), 'sluice-rollback-'));
  const cleanup = () => rm(tmp, { recursive: true, force: true });
  try {
    const dir = join(tmp, 'tree');
    const sparse = spec.sparseCheckout?.map((d) => d.replace(/^\.\//, ''));
    // Reading objects already in the mirror needs no credentials.
    await mirrors.checkout(url, commit, dir, { auth: anonymousAuth(), timeoutMs: 60_000, sparseCheckout: sparse, gitDir: join(tmp, 'git') });
    const rules = await SourceIgnore.scan(dir);
    await pruneTree(dir, SourceIgnore.fromRules(rules.ignoreFiles, spec.ignore));
    return { dir, cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
