import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kustomizationKind } from '../api/kustomization.ts';
import { helmReleaseKind } from '../api/helmrelease.ts';
import { gitRepositoryKind } from '../api/gitrepository.ts';
import { crdFor } from '../api/schema.ts';
import { kindByName } from './args.ts';
import { rowsToObjects } from './gettable.ts';
import { row } from './rows.ts';

const ks = kindByName('Kustomization')!;
const hr = kindByName('HelmRelease')!;
const git = kindByName('GitRepository')!;

/** The column names the API server's Table has for a CRD: Name, then the printer columns in order. */
function columnsOf(def: typeof kustomizationKind): Array<{ name: string }> {
  const v = (crdFor(def).spec as { versions: Array<{ additionalPrinterColumns: Array<{ name: string }> }> }).versions[0]!;
  return [{ name: 'Name' }, ...v.additionalPrinterColumns.map((c) => ({ name: c.name }))];
}

test("Sluice's CRDs carry every column get reads, after Flux's and at priority 1", () => {
  for (const def of [kustomizationKind, helmReleaseKind, gitRepositoryKind]) {
    const v = (crdFor(def).spec as { versions: Array<{ additionalPrinterColumns: Array<{ name: string; priority?: number }> }> }).versions[0]!;
    const extra = v.additionalPrinterColumns.filter((c) => c.priority === 1).map((c) => c.name);
    assert.ok(extra.includes('Revision') && extra.includes('Suspended'), def.kind);
    // kubectl's default view stays Flux's: no new column without a priority.
    assert.ok(v.additionalPrinterColumns.findIndex((c) => c.priority === 1) >= v.additionalPrinterColumns.filter((c) => !c.priority).length);
  }
});

test('rowsToObjects: Table cells become the rows get prints from whole objects', () => {
  const cols = columnsOf(kustomizationKind);
  const at = (name: string) => cols.findIndex((c) => c.name === name);
  const cells = (o: Record<string, unknown>) => {
    const c: unknown[] = cols.map(() => null);
    for (const [k, v] of Object.entries(o)) c[at(k)] = v;
    return c;
  };
  const objs = rowsToObjects(ks, 'apps', {
    columnDefinitions: cols,
    rows: [
      { cells: cells({ Name: 'a', Age: '2d', Ready: 'True', Status: 'Applied revision: main@sha1:0123456789abcdef', Revision: 'main@sha1:0123456789abcdef', Suspended: true, 'Pinned To': 'main@sha1:0123' }) },
      { cells: cells({ Name: 'b', Age: '1m' }) },
    ],
  })!;
  assert.deepEqual(row(ks, objs[0]!, { allNamespaces: true }), ['apps', 'a', 'main@sha1:01234567 (pinned)', 'True', 'True', 'Applied revision: main@sha1:01234567']);
  assert.deepEqual(row(ks, objs[1]!, {}), ['b', '', 'False', 'Unknown', 'waiting to be reconciled']);
});

test('rowsToObjects: a HelmRelease shows its chart version, else the revision last attempted; a source its artifact', () => {
  const cols = columnsOf(helmReleaseKind);
  const at = (name: string) => cols.findIndex((c) => c.name === name);
  const cells = (o: Record<string, unknown>) => cols.map((c) => (c.name in o ? o[c.name] : null));
  const objs = rowsToObjects(hr, 'apps', { columnDefinitions: cols, rows: [{ cells: cells({ Name: 'web', Ready: 'False', Status: 'failed', Revision: null, Attempted: '0.2.0' }) }, { cells: cells({ Name: 'api', Ready: 'True', Revision: '1.0.0', Attempted: '1.0.0' }) }] })!;
  assert.ok(at('Attempted') > 0);
  assert.deepEqual(row(hr, objs[0]!, {}), ['web', '0.2.0', 'False', 'False', 'failed']);
  assert.deepEqual(row(hr, objs[1]!, {}), ['api', '1.0.0', 'False', 'True', '']);

  const gcols = columnsOf(gitRepositoryKind);
  const g = rowsToObjects(git, 'x', { columnDefinitions: gcols, rows: [{ cells: gcols.map((c) => ({ Name: 'repo', Revision: 'v1@sha1:abc', Ready: 'True', Status: 'ok' })[c.name] ?? null) }] })!;
  assert.deepEqual(row(git, g[0]!, {}), ['repo', 'v1@sha1:abc', 'False', 'True', 'ok']);
});

test('rowsToObjects: undefined for a CRD without the columns (Flux\'s own), so get lists the objects', () => {
  assert.equal(rowsToObjects(ks, 'apps', { columnDefinitions: [{ name: 'Name' }, { name: 'Age' }, { name: 'Ready' }, { name: 'Status' }], rows: [] }), undefined);
});
