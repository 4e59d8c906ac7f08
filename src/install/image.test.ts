import { test } from 'node:test';
import assert from 'node:assert/strict';
import { imageReference } from './image.ts';

const digest = `sha256:${'a'.repeat(64)}`;

test('the install image: by digest from the last build, --registry and --image overriding', () => {
  const cases: Array<[string, Parameters<typeof imageReference>[0], string, boolean]> = [
    ['last build', { version: '1.0.0', record: { digest, version: '1.0.0' } }, `sluice:1.0.0@${digest}`, false],
    ['--registry adds the repository', { version: '1.0.0', registry: 'ghcr.io/acme/', record: { digest, version: '1.0.0' } }, `ghcr.io/acme/sluice:1.0.0@${digest}`, false],
    ['--registry naming the repository', { version: '1.0.0', registry: '127.0.0.1:5000/sluice', record: { digest, version: '1.0.0' } }, `127.0.0.1:5000/sluice:1.0.0@${digest}`, false],
    ['--image wins', { version: '1.0.0', image: `r.example/x@${digest}`, registry: 'ignored', record: { digest, version: '1.0.0' } }, `r.example/x@${digest}`, false],
    ['--image by tag warns', { version: '1.0.0', image: 'r.example/x:1' }, 'r.example/x:1', true],
    ['no build: tag and a warning', { version: '1.0.0' }, 'sluice:1.0.0', true],
    ['a build of another version is not used', { version: '1.0.1', record: { digest, version: '1.0.0' } }, 'sluice:1.0.1', true],
    ['a malformed digest is not used', { version: '1.0.0', record: { digest: 'sha256:xyz', version: '1.0.0' } }, 'sluice:1.0.0', true],
  ];
  for (const [name, choice, image, warns] of cases) {
    const r = imageReference(choice);
    assert.equal(r.image, image, name);
    assert.equal(r.warning !== undefined, warns, `${name}: ${r.warning}`);
  }
});
