import { test } from 'node:test';
import assert from 'node:assert/strict';
import { adoptIgnored, compileIgnoreRules, ignoredPaths, IgnoreRuleError, parsePointer, parseSelector } from './ignore.ts';
import type { KubeObject } from '../kube/object.ts';

const deploy = (over: Record<string, unknown> = {}, meta: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'apps', labels: { tier: 'front' }, annotations: { 'team/owner': 'a' }, ...meta },
  spec: { replicas: 2, template: { spec: { containers: [{ name: 'c', image: 'nginx:1' }] } } },
  ...over,
});

test('JSON pointers: escapes, the whole document, and what is refused', () => {
  const table: Array<[string, string[]]> = [
    ['', []],
    ['/spec/replicas', ['spec', 'replicas']],
    ['/metadata/annotations/a~1b', ['metadata', 'annotations', 'a/b']],
    ['/x~0y', ['x~y']],
    ['/a/0/b', ['a', '0', 'b']],
  ];
  for (const [p, want] of table) assert.deepEqual(parsePointer(p), want, p);
  assert.throws(() => parsePointer('spec/replicas'), /must start with \//);
  assert.throws(() => parsePointer('/a~2'), /invalid escape/);
});

test('label selectors: every operator, all must hold', () => {
  const set = { app: 'web', tier: 'front' };
  const table: Array<[string, boolean]> = [
    ['app=web', true],
    ['app==web', true],
    ['app=db', false],
    ['app!=db', true],
    ['missing!=x', true],
    ['app', true],
    ['!app', false],
    ['!missing', true],
    ['tier in (front, back)', true],
    ['tier notin (front)', false],
    ['missing notin (x)', true],
    ['app=web,tier=back', false],
    ['app=web, tier in (front)', true],
  ];
  for (const [sel, want] of table) assert.equal(parseSelector(sel)(set), want, sel);
  assert.throws(() => parseSelector('a b c', 'spec.ignore[0].target.labelSelector'), /spec\.ignore\[0\]\.target\.labelSelector: cannot parse/);
});

test('targets: anchored regular expressions on group, version, kind, name and namespace; selectors on labels and annotations', () => {
  const obj = deploy();
  const table: Array<[Record<string, string> | undefined, boolean]> = [
    [undefined, true],
    [{ kind: 'Deployment' }, true],
    [{ kind: 'Deploy' }, false], // anchored: a prefix is no match
    [{ kind: 'Deploy.*' }, true],
    [{ group: 'apps', version: 'v1' }, true],
    [{ group: '' , kind: 'Deployment' }, true], // an empty field selects everything
    [{ group: 'batch' }, false],
    [{ name: 'web|api', namespace: 'apps' }, true],
    [{ namespace: 'other' }, false],
    [{ labelSelector: 'tier=front' }, true],
    [{ labelSelector: 'tier=back' }, false],
    [{ annotationSelector: 'team/owner=a' }, true],
  ];
  for (const [target, want] of table) {
    const rules = compileIgnoreRules([{ paths: ['/spec/replicas'], target }]);
    assert.deepEqual(ignoredPaths(rules, obj), want ? [['spec', 'replicas']] : [], JSON.stringify(target));
  }
});

test('bad rules fail at compile time, naming the field', () => {
  assert.throws(() => compileIgnoreRules([{ paths: ['/ok'] }, { paths: ['nope'] }]), (e: unknown) => e instanceof IgnoreRuleError && /^spec\.ignore\[1\]\.paths\[0\]: "nope" is not a JSON pointer/.test((e as Error).message));
  assert.throws(() => compileIgnoreRules([{ paths: ['/a'], target: { kind: '(' } }]), /spec\.ignore\[0\]\.target\.kind: invalid regular expression "\("/);
});

test('adopting live values: only where both sides have the path and they differ', () => {
  const desired = deploy();
  const live = deploy({ spec: { replicas: 5, template: { spec: { containers: [{ name: 'c', image: 'nginx:2' }] } } } }, { annotations: { 'team/owner': 'b', extra: 'x' } });
  const cases: Array<[string, string[], (o: KubeObject) => void]> = [
    ['a scalar', ['/spec/replicas'], (o) => assert.equal((o.spec as { replicas: number }).replicas, 5)],
    ['inside an array', ['/spec/template/spec/containers/0/image'], (o) => assert.equal((o.spec as any).template.spec.containers[0].image, 'nginx:2')],
    ['an escaped key', ['/metadata/annotations/team~1owner'], (o) => assert.equal(o.metadata.annotations!['team/owner'], 'b')],
    ['a whole map', ['/metadata/annotations'], (o) => assert.deepEqual(o.metadata.annotations, { 'team/owner': 'b', extra: 'x' })],
  ];
  for (const [what, pointers, check] of cases) {
    const out = adoptIgnored(desired, live, pointers.map(parsePointer));
    assert.ok(out, what);
    check(out);
    assert.equal((desired.spec as { replicas: number }).replicas, 2, `${what}: the desired object is not changed in place`);
  }
  // Nothing to do: equal values, a path the source lacks, a path the cluster lacks, the whole document.
  assert.equal(adoptIgnored(desired, desired, [parsePointer('/spec/replicas')]), undefined);
  assert.equal(adoptIgnored(desired, live, [parsePointer('/metadata/annotations/extra')]), undefined, 'not in the source: the apply leaves it alone anyway');
  const noReplicas = deploy({ spec: { template: {} } });
  assert.equal(adoptIgnored(desired, noReplicas, [parsePointer('/spec/replicas')]), undefined, 'absent in the cluster: the source value stays');
  assert.equal(adoptIgnored(desired, live, [parsePointer('')]), undefined);
  // The live value is copied, not shared.
  const out = adoptIgnored(desired, live, [parsePointer('/metadata/annotations')])!;
  out.metadata.annotations!.extra = 'changed';
  assert.equal(live.metadata.annotations!.extra, 'x');
});
