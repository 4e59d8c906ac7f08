// OCI chart references: repository paths, tag and version spelling, version
// selection from tags, registry config files.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { chartRepositoryPath, isExactVersion, registryConfigJson, selectChartVersion, tagToVersion, versionToTag } from './ociref.ts';
import { credentialsFromSecret, parseOciUrl, redactSecrets } from '../oci/ref.ts';
import { nextLink, parseChallenge } from '../oci/registry.ts';
import { ociChartVersion } from './ocisource.ts';
import { RepositoryError } from './repository.ts';

describe('OCI chart references', () => {
  test('oci:// URLs split into host and repository path', () => {
    assert.deepEqual(parseOciUrl('oci://ghcr.io/stefanprodan/charts'), { host: 'ghcr.io', path: 'stefanprodan/charts' });
    assert.deepEqual(parseOciUrl('oci://127.0.0.1:5000/charts/'), { host: '127.0.0.1:5000', path: 'charts' });
    assert.deepEqual(parseOciUrl('oci://registry.local'), { host: 'registry.local', path: '' });
    for (const bad of ['https://ghcr.io/x', 'oci://', 'oci://user:pw@host/x', 'oci://host/Upper']) {
      assert.throws(() => parseOciUrl(bad), (e: RepositoryError) => e.reason === 'URLInvalid', bad);
    }
    assert.equal(chartRepositoryPath({ host: 'h', path: 'charts' }, 'web'), 'charts/web');
    assert.equal(chartRepositoryPath({ host: 'h', path: '' }, 'web'), 'web');
    assert.throws(() => chartRepositoryPath({ host: 'h', path: 'x' }, '../web'), /not a valid OCI chart name/);
  });

  test('tags carry build metadata as _', () => {
    assert.equal(tagToVersion('1.0.0_build.1'), '1.0.0+build.1');
    assert.equal(versionToTag('1.0.0+build.1'), '1.0.0_build.1');
  });

  test('exact versions are pulled without listing tags; ranges are not exact', () => {
    for (const v of ['1.2.3', 'v1.2.3', '1.2.3-rc.1', '1.2.3+meta']) assert.ok(isExactVersion(v), v);
    for (const v of [undefined, '', '*', '1.x', '>=1.0.0', '~1.2', '1.2', '1.2.3 || 2.0.0']) assert.ok(!isExactVersion(v), String(v));
  });
});

describe('tag selection, as source-controller picks a chart version', () => {
  const tags = ['0.1.0', '0.2.0', '0.10.0', '1.0.0-rc.1', 'latest', '0.3.0_build.7', 'sha256-abc.sig'];

  test('no range or * is the newest stable SemVer tag; non-SemVer tags are ignored', () => {
    assert.equal(selectChartVersion(tags, undefined), '0.10.0');
    assert.equal(selectChartVersion(tags, '*'), '0.10.0');
    assert.equal(selectChartVersion(tags, ''), '0.10.0');
  });

  test('ranges pick the highest match; commas mean AND', () => {
    assert.equal(selectChartVersion(tags, '0.2.x'), '0.2.0');
    assert.equal(selectChartVersion(tags, '>=0.2.0 <0.10.0'), '0.3.0+build.7');
    assert.equal(selectChartVersion(tags, '>=0.2.0, <0.10.0'), '0.3.0+build.7');
    assert.equal(selectChartVersion(tags, '~0.1'), '0.1.0');
    assert.equal(selectChartVersion(tags, '5.x'), undefined);
  });

  test('pre-releases only when the range asks for one', () => {
    assert.equal(selectChartVersion(tags, '>=1.0.0-0'), '1.0.0-rc.1');
    assert.equal(selectChartVersion(tags, '>=1.0.0'), undefined);
  });

  test('an exact tag matches itself first', () => {
    assert.equal(selectChartVersion(tags, '0.1.0'), '0.1.0');
    assert.equal(selectChartVersion(tags, 'latest'), 'latest');
  });

  test('an invalid range is an invalid chart reference', () => {
    assert.throws(() => selectChartVersion(tags, '>>nope<<'), (e: RepositoryError) => e.reason === 'InvalidChartReference');
  });
});

describe('registry credentials', () => {
  test('username and password, or a .dockerconfigjson entry for the host', () => {
    assert.deepEqual(credentialsFromSecret({ username: Buffer.from('u'), password: Buffer.from('p') }, 'h:5000'), { username: 'u', password: 'p' });
    const docker = (auths: object) => ({ '.dockerconfigjson': Buffer.from(JSON.stringify({ auths })) });
    const auth = Buffer.from('robot:s3cret:with:colons').toString('base64');
    assert.deepEqual(credentialsFromSecret(docker({ 'https://h:5000/v1/': { auth } }), 'h:5000'), { username: 'robot', password: 's3cret:with:colons' });
    assert.deepEqual(credentialsFromSecret(docker({ 'h:5000': { username: 'a', password: 'b' } }), 'h:5000'), { username: 'a', password: 'b' });
    assert.equal(credentialsFromSecret(docker({ 'other:5000': { auth } }), 'h:5000'), undefined);
    assert.throws(
      () => credentialsFromSecret({ '.dockerconfigjson': Buffer.from('{"auths": hunter2') }, 'h'),
      (e: Error) => !e.message.includes('hunter2'),
    );
  });

  test('the registry config file holds the credentials for the host only', () => {
    const doc = JSON.parse(registryConfigJson('127.0.0.1:5000', { username: 'u', password: 'p' }));
    assert.deepEqual(doc, { auths: { '127.0.0.1:5000': { auth: Buffer.from('u:p').toString('base64') } } });
    assert.deepEqual(JSON.parse(registryConfigJson('h', undefined)), { auths: {} });
  });

  test('secrets are redacted from messages, plain and base64', () => {
    const creds = { username: 'reader', password: 'hunter22' };
    const b64 = Buffer.from('reader:hunter22').toString('base64');
    assert.equal(redactSecrets(`bad hunter22 and ${b64}`, creds), 'bad *** and ***');
    assert.equal(redactSecrets('nothing here', undefined), 'nothing here');
  });
});

describe('distribution API details', () => {
  test('authentication challenges', () => {
    assert.deepEqual(parseChallenge('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull"'), {
      scheme: 'bearer',
      params: { realm: 'https://auth.example/token', service: 'registry.example', scope: 'repository:a/b:pull' },
    });
    assert.deepEqual(parseChallenge('Basic realm="x"'), { scheme: 'basic', params: { realm: 'x' } });
    assert.equal(parseChallenge(''), undefined);
  });

  test('tag list pagination', () => {
    assert.equal(nextLink('</v2/a/tags/list?n=100&last=x>; rel="next"'), '/v2/a/tags/list?n=100&last=x');
    assert.equal(nextLink(undefined), undefined);
    assert.equal(nextLink('</x>; rel="prev"'), undefined);
  });
});

describe('chart version from an OCIRepository artifact, as helm-controller stamps it', () => {
  const hex = 'f'.repeat(12) + '0'.repeat(52);
  test('tag@digest: the tag must be the chart version; the digest becomes build metadata', () => {
    assert.deepEqual(ociChartVersion('1.2.3', `1.2.3@sha256:${hex}`), { version: '1.2.3+ffffffffffff', digest: `sha256:${hex}` });
    assert.deepEqual(ociChartVersion('1.2.3-rc.1+old', `1.2.3-rc.1_old@sha256:${hex}`).version, '1.2.3-rc.1+ffffffffffff');
    assert.throws(() => ociChartVersion('1.2.3', `1.2.4@sha256:${hex}`), /artifact revision 1\.2\.4 does not match chart version 1\.2\.3/);
    assert.throws(() => ociChartVersion('1.2.3', `latest@sha256:${hex}`), /failed parsing artifact revision latest/);
  });

  test('a digest alone is used as it is', () => {
    assert.equal(ociChartVersion('0.1.0', `sha256:${hex}`).version, '0.1.0+ffffffffffff');
    assert.throws(() => ociChartVersion('0.1.0', 'sha256:abc'), /invalid artifact revision/);
    assert.throws(() => ociChartVersion('one', `sha256:${hex}`), /not SemVer/);
  });
});
