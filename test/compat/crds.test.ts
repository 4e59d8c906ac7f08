import { test } from 'node:test';
import assert from 'node:assert/strict';
import { relative } from 'node:path';
import { compareCrd, compareCrdSets, differenceLine, type Crd } from './crdcompare.ts';
import { checkKnown, currentDifferences, knownFile, loadFluxCrds, parseKnown, readKnown } from './known.ts';
// test: no cluster

// Sluice's CRDs against Flux's (test/compat/flux-crds): the differences must
// be exactly those test/compat/differences.yaml lists, each with its why.

test('the differences from Flux are exactly those differences.yaml lists', () => {
  const found = currentDifferences();
  const { unexpected, stale } = checkKnown(found, readKnown());
  const file = relative(process.cwd(), knownFile);
  const parts: string[] = [];
  if (unexpected.length) parts.push(`${unexpected.length} difference(s) from Flux not listed in ${file} (close them, or list them with a why):\n${unexpected.map((l) => `  + ${l}`).join('\n')}`);
  if (stale.length) parts.push(`${stale.length} listed in ${file} but no longer found (fixed? remove them):\n${stale.map((l) => `  - ${l}`).join('\n')}`);
  if (parts.length) parts.push('`node --import tsx test/compat/report.ts --write` rewrites the file from the code, keeping the existing whys');
  assert.ok(parts.length === 0, parts.join('\n\n'));
});

test('the Flux CRDs are there: one version of each module, the kinds Sluice serves among them', () => {
  const { crds, modules } = loadFluxCrds();
  assert.deepEqual(
    modules.map((m) => m.split('@')[0]),
    ['helm-controller', 'kustomize-controller', 'notification-controller', 'source-controller'],
  );
  const kinds = crds.map((c) => (c.spec as { names: { kind: string } }).names.kind);
  for (const k of ['GitRepository', 'HelmRepository', 'HelmChart', 'OCIRepository', 'Kustomization', 'HelmRelease']) assert.ok(kinds.includes(k), k);
});

// Two tiny CRDs with known differences, so the comparison itself can be seen to work.

const crd = (names: Record<string, unknown>, versions: Array<Record<string, unknown>>, scope = 'Namespaced'): Crd => ({
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'widgets.example.com' },
  spec: { group: 'example.com', scope, names: { kind: 'Widget', listKind: 'WidgetList', plural: 'widgets', singular: 'widget', ...names }, versions },
});

const age = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' };
const ready = { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' };

const fluxWidget = crd({ shortNames: ['wd'], categories: ['all', 'example'] }, [
  {
    name: 'v1',
    served: true,
    storage: true,
    subresources: { status: {} },
    additionalPrinterColumns: [ready, age],
    schema: {
      openAPIV3Schema: {
        type: 'object',
        description: 'A widget.',
        properties: {
          spec: {
            type: 'object',
            required: ['interval', 'size'],
            'x-kubernetes-validations': [{ rule: 'self.size > 0', message: 'size must be positive' }],
            properties: {
              interval: { type: 'string', pattern: '^[0-9]+s$', description: 'How often.' },
              size: { type: 'integer', format: 'int32', minimum: 1, maximum: 10 },
              mode: { type: 'string', enum: ['fast', 'slow'], default: 'fast' },
              dependsOn: { type: 'array', items: { type: 'object', required: ['name'], properties: { name: { type: 'string', maxLength: 253 }, readyExpr: { type: 'string' } } } },
              labels: { type: 'object', additionalProperties: { type: 'string' } },
              values: { 'x-kubernetes-preserve-unknown-fields': true },
            },
          },
        },
      },
    },
  },
]);

const sluiceWidget = crd({ shortNames: ['wd'], categories: ['example'] }, [
  {
    name: 'v1',
    served: true,
    storage: true,
    subresources: { status: {} },
    additionalPrinterColumns: [age, ready],
    schema: {
      openAPIV3Schema: {
        type: 'object',
        description: 'Another description, not compared.',
        properties: {
          spec: {
            type: 'object',
            required: ['interval'],
            properties: {
              interval: { type: 'string', pattern: '^[0-9]+s$', description: 'Different words.' },
              size: { type: 'integer', format: 'int64', minimum: 1 },
              mode: { type: 'string', enum: ['slow', 'fast'], default: 'slow' },
              dependsOn: { type: 'array', items: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } } },
              labels: { type: 'object', additionalProperties: { type: 'integer' } },
              values: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
              extra: { type: 'boolean' },
            },
          },
        },
      },
    },
  },
  { name: 'v1beta1', served: true, storage: false, deprecated: true, schema: { openAPIV3Schema: { type: 'object' } } },
]);

test('crdcompare: each kind of difference at its path, one line each', () => {
  const lines = compareCrd(fluxWidget, sluiceWidget).map(differenceLine);
  assert.deepEqual(lines, [
    'Widget categories: flux=["all","example"] sluice=["example"]',
    'Widget/v1 printerColumns: flux=["Ready string .status.conditions[?(@.type==\\"Ready\\")].status","Age date .metadata.creationTimestamp"] sluice=["Age date .metadata.creationTimestamp","Ready string .status.conditions[?(@.type==\\"Ready\\")].status"]',
    'Widget/v1 spec rule: flux={"message":"size must be positive","rule":"self.size > 0"} sluice=-',
    'Widget/v1 spec.dependsOn[].name maxLength: flux=253 sluice=-',
    'Widget/v1 spec.dependsOn[].readyExpr field: flux="string" sluice=-',
    'Widget/v1 spec.extra field: flux=- sluice="boolean"',
    'Widget/v1 spec.labels{} type: flux="string" sluice="integer"',
    'Widget/v1 spec.mode default: flux="fast" sluice="slow"',
    'Widget/v1 spec.size required: flux=true sluice=false',
    'Widget/v1 spec.size format: flux="int32" sluice="int64"',
    'Widget/v1 spec.size maximum: flux=10 sluice=-',
    'Widget/v1 spec.values type: flux=- sluice="object"',
    'Widget/v1beta1 version: flux=- sluice="served, deprecated"',
  ]);
});

test('crdcompare: identical CRDs have no differences; descriptions and enum order do not count', () => {
  assert.deepEqual(compareCrd(fluxWidget, structuredClone(fluxWidget)), []);
  const reworded = structuredClone(fluxWidget) as { spec: { versions: Array<{ schema: { openAPIV3Schema: { description: string; properties: { spec: { properties: { mode: { enum: string[] } } } } } } }> } };
  reworded.spec.versions[0]!.schema.openAPIV3Schema.description = 'Other words.';
  reworded.spec.versions[0]!.schema.openAPIV3Schema.properties.spec.properties.mode.enum.reverse();
  assert.deepEqual(compareCrd(fluxWidget, reworded as unknown as Crd), []);
});

test('crdcompare: scope, versions, storage and deprecation; a kind only Flux defines', () => {
  const f = crd({}, [
    { name: 'v1', served: true, storage: true },
    { name: 'v2', served: true, storage: false },
  ]);
  const s = crd({}, [{ name: 'v1', served: true, storage: false, deprecated: true, deprecationWarning: 'use v2' }], 'Cluster');
  assert.deepEqual(compareCrd(f, s).map(differenceLine), [
    'Widget scope: flux="Namespaced" sluice="Cluster"',
    'Widget/v1 storage: flux=true sluice=false',
    'Widget/v1 deprecated: flux=false sluice=true',
    'Widget/v1 deprecationWarning: flux=- sluice="use v2"',
    'Widget/v2 version: flux="served" sluice=-',
  ]);
  const gadget = crd({ kind: 'Gadget' }, []);
  assert.deepEqual(compareCrdSets([f, gadget], [f]).map(differenceLine), ['Gadget kind: flux="example.com" sluice=-']);
});

test('differences.yaml: entries need a why and sit under their kind', () => {
  assert.throws(() => parseKnown('Widget:\n  - diff: "Widget scope: flux=1 sluice=2"\n'), /no why/);
  assert.throws(() => parseKnown('Gadget:\n  - diff: "Widget scope: flux=1 sluice=2"\n    why: x\n'), /listed under Gadget/);
  const known = parseKnown('Widget:\n  - diff: "Widget scope: flux=\\"Namespaced\\" sluice=\\"Cluster\\""\n    why: accepted\n  - diff: "Widget/v9 version: flux=- sluice=\\"served\\""\n    why: gap\n');
  const found = compareCrd(crd({}, []), crd({}, [{ name: 'v1', served: true, storage: true }]));
  assert.deepEqual(checkKnown(found, known), {
    unexpected: ['Widget/v1 version: flux=- sluice="served, storage"'],
    stale: ['Widget scope: flux="Namespaced" sluice="Cluster"', 'Widget/v9 version: flux=- sluice="served"'],
  });
});
