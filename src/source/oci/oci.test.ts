// OCIRepository references, revisions, manifests and layer selection.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { HELM_CHART_LAYER, OciArtifactError, ociRevision, parseManifest, resolveOciRef, selectLayer } from './artifact.ts';

const D = `sha256:${'a'.repeat(64)}`;

describe('OCIRepository reference resolution, with Flux precedence', () => {
  const tags = async () => ['1.0.0', '1.1.0', '2.0.0-rc.1', 'latest', 'v1.2.0-beta'];

  test('digest beats semver beats tag; latest by default', async () => {
    assert.deepEqual(await resolveOciRef({ digest: D, semver: '*', tag: 'x' }, tags), { digest: D });
    assert.deepEqual(await resolveOciRef({ semver: '1.x', tag: 'x' }, tags), { tag: '1.1.0' });
    assert.deepEqual(await resolveOciRef({ tag: 'x' }, tags), { tag: 'x' });
    assert.deepEqual(await resolveOciRef(undefined, tags), { tag: 'latest' });
    assert.deepEqual(await resolveOciRef({}, tags), { tag: 'latest' });
  });

  test('tags are listed only for semver', async () => {
    let listed = 0;
    const counting = async () => (listed++, ['1.0.0']);
    await resolveOciRef({ tag: 'a' }, counting);
    await resolveOciRef({ digest: D }, counting);
    assert.equal(listed, 0);
    await resolveOciRef({ semver: '*' }, counting);
    assert.equal(listed, 1);
  });

  test('semverFilter narrows the tags; pre-releases need a pre-release range', async () => {
    assert.deepEqual(await resolveOciRef({ semver: '>=1.0.0-0', semverFilter: '.*-rc.*' }, tags), { tag: '2.0.0-rc.1' });
    assert.deepEqual(await resolveOciRef({ semver: '>=1.0.0' }, tags), { tag: '1.1.0' });
    await assert.rejects(resolveOciRef({ semver: '>=3.0.0' }, tags), (e: OciArtifactError) => e.reason === 'OCIArtifactPullFailed' && !e.stalled);
  });

  test('a malformed digest, range or filter stalls', async () => {
    for (const ref of [{ digest: 'sha256:xyz' }, { semver: '>>x' }, { semver: '*', semverFilter: '(' }]) {
      await assert.rejects(resolveOciRef(ref, tags), (e: OciArtifactError) => e.stalled, JSON.stringify(ref));
    }
  });

  test('revision is tag@digest, or the digest alone', () => {
    assert.equal(ociRevision({ tag: '1.0.0' }, D), `1.0.0@${D}`);
    assert.equal(ociRevision({ digest: D }, D), D);
  });
});

describe('layers', () => {
  const manifest = parseManifest(
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        config: { mediaType: 'application/vnd.cncf.helm.config.v1+json', digest: D, size: 1 },
        layers: [
          { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: `sha256:${'b'.repeat(64)}`, size: 2 },
          { mediaType: HELM_CHART_LAYER, digest: `sha256:${'c'.repeat(64)}`, size: 3 },
        ],
        annotations: { 'org.opencontainers.image.source': 'https://example.invalid/x' },
      }),
    ),
    'application/vnd.oci.image.manifest.v1+json',
  );

  test('the first layer, or the first of the media type asked for', () => {
    assert.equal(selectLayer(manifest, undefined).size, 2);
    assert.equal(selectLayer(manifest, HELM_CHART_LAYER).size, 3);
    assert.throws(() => selectLayer(manifest, 'application/x-none'), /failed to find layer with media type 'application\/x-none'/);
    assert.throws(() => selectLayer({ layers: [] }, undefined), /no layers/);
    assert.deepEqual(manifest.annotations, { 'org.opencontainers.image.source': 'https://example.invalid/x' });
  });

  test('an image index is refused', () => {
    assert.throws(() => parseManifest(Buffer.from('{"manifests":[]}'), 'application/vnd.oci.image.index.v1+json'), /image index/);
    assert.throws(() => parseManifest(Buffer.from('nope'), ''), /not JSON/);
  });
});
