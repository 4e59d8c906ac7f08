// Unit tests of the chart repository index (src/source/helm/repository.ts),
// beside the code they test; they were in src/helm/helm.test.ts.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { chartUrl, indexRevision, parseIndex, resolveChartVersion, RepositoryError } from './repository.ts';

describe('repository index', () => {
  const idx = parseIndex(`apiVersion: v1
entries:
  web:
    - {name: web, version: 1.2.0, urls: [charts/web-1.2.0.tgz]}
    - {name: web, version: 2.0.0-rc.1, urls: [https://other.example/web-2.0.0-rc.1.tgz]}
    - {name: web, version: 1.10.0, urls: [web-1.10.0.tgz]}
    - {name: web, version: 1.9.3, urls: [web-1.9.3.tgz]}
`);

  test('ranges pick the newest match; pre-releases only when asked for', () => {
    assert.equal(resolveChartVersion(idx, 'web').version, '1.10.0');
    assert.equal(resolveChartVersion(idx, 'web', '1.9.x').version, '1.9.3');
    assert.equal(resolveChartVersion(idx, 'web', '>=1.0.0 <1.10.0').version, '1.9.3');
    assert.equal(resolveChartVersion(idx, 'web', '>=2.0.0-0').version, '2.0.0-rc.1');
    assert.throws(() => resolveChartVersion(idx, 'web', '9.*'), (err: Error) => {
      assert.ok(err instanceof RepositoryError);
      assert.equal(err.reason, 'InvalidChartReference');
      assert.match(err.message, /no 'web' chart with version matching '9\.\*' found/);
      return true;
    });
    assert.throws(() => resolveChartVersion(idx, 'nope'), /no chart name found/);
  });

  test('download URLs are relative to the repository', () => {
    assert.equal(chartUrl('http://127.0.0.1:1/repo', resolveChartVersion(idx, 'web', '1.2.0')), 'http://127.0.0.1:1/repo/charts/web-1.2.0.tgz');
    assert.equal(chartUrl('http://127.0.0.1:1/repo/', resolveChartVersion(idx, 'web', '2.0.0-rc.1')), 'https://other.example/web-2.0.0-rc.1.tgz');
  });

  test('the revision ignores the generation time', () => {
    const a = parseIndex('apiVersion: v1\ngenerated: "2024-01-01T00:00:00Z"\nentries: {}\n');
    const b = parseIndex('apiVersion: v1\ngenerated: "2025-01-01T00:00:00Z"\nentries: {}\n');
    assert.equal(indexRevision(a), indexRevision(b));
    assert.throws(() => parseIndex('entries: {}\n'), /no API version/);
  });
});
