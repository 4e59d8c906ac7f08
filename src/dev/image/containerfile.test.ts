import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../util/paths.ts';
import { HELM, KUSTOMIZE, SOPS } from '../../tools/gotool.ts';
import { BASE, IMAGE_UID } from './base.ts';
import { ENTRYPOINT, imageEnv } from './build.ts';
import { NODE } from './layers.ts';

// The Containerfile (for Docker and Podman users) must build what
// `sluice image build` builds: the same pinned versions, packages, user,
// environment and entrypoint.
const text = readFileSync(join(projectRoot, 'Containerfile'), 'utf8');

test('the Containerfile pins what the engine-free build pins', () => {
  assert.ok(text.includes(`${NODE.package}@${NODE.version}`), `node ${NODE.version}`);
  for (const t of [KUSTOMIZE, HELM, SOPS]) assert.ok(text.includes(`${t.pkg ?? t.module}@${t.version}`), `${t.name} ${t.version}`);
  // The last stage's install: the packages of the image itself.
  const installs = [...text.matchAll(/apt-get install -y --no-install-recommends ([^\n&]+)/g)];
  const install = installs.at(-1)?.[1]?.split(/\s+/).filter((w) => w && w !== '\\').sort();
  assert.deepEqual(install, [...BASE.packages].sort());
  assert.ok(text.includes(`dpkg --purge --force-depends ${BASE.purge.join(' ')}`));
  assert.ok(text.includes(`USER ${IMAGE_UID}:${IMAGE_UID}`));
  assert.ok(text.includes(`ENTRYPOINT ${JSON.stringify(ENTRYPOINT).replace(/","/g, '", "')}`));
  const envs = [...text.matchAll(/^ENV ((?:.*\\\n)*.*)$/gm)];
  const env = envs.at(-1)![1]!.split(/\s*\\\n\s*|\s+/).filter(Boolean).sort();
  assert.deepEqual(env, [...imageEnv()].sort());
});
