import assert from 'node:assert/strict';
import test from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import { migrateYamlText } from './migratefiles.ts';

test('only the apiVersion changes: every other byte is kept, quotes included', () => {
  const text = `# sync\napiVersion: "source.toolkit.fluxcd.io/v1beta2"   # old\nkind: GitRepository\nmetadata:\n  name: flux-system\nspec:\n  interval:   1m   # odd spacing kept\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n`;
  const r = migrateYamlText(text);
  assert.equal(r.text, text.replace('source.toolkit.fluxcd.io/v1beta2', 'source.toolkit.fluxcd.io/v1'));
  assert.deepEqual(r.changes, [{ line: 2, kind: 'GitRepository', name: 'flux-system', from: 'source.toolkit.fluxcd.io/v1beta2', to: 'source.toolkit.fluxcd.io/v1', notes: [] }]);
});

test('beta-only fields: that document is written again with its comments, the others are untouched', () => {
  const other = `---\n# untouched\napiVersion: v1\nkind:   ConfigMap\nmetadata: {name: x}\n`;
  const text = `apiVersion: kustomize.toolkit.fluxcd.io/v1beta2\nkind: Kustomization\nmetadata:\n  name: apps # the apps\nspec:\n  interval: 10m\n  validation: client\n  patchesStrategicMerge:\n    - apiVersion: apps/v1\n      kind: Deployment\n      metadata: {name: web}\n      spec: {replicas: 2}\n${other}`;
  const r = migrateYamlText(text);
  assert.ok(r.text.endsWith(other), 'the second document keeps its bytes');
  assert.match(r.text, /name: apps # the apps/);
  const [first] = parseAllDocuments(r.text).map((d) => d.toJS());
  assert.equal(first.apiVersion, 'kustomize.toolkit.fluxcd.io/v1');
  assert.equal(first.spec.validation, undefined);
  assert.deepEqual(parse(first.spec.patches[0].patch), { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' }, spec: { replicas: 2 } });
  assert.equal(r.changes[0]!.line, 1);
  assert.equal(r.changes[0]!.notes.length, 2);
});

test('nothing to do: the same text and no changes', () => {
  const text = 'apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: a}\n';
  assert.deepEqual(migrateYamlText(text), { text, changes: [] });
  assert.deepEqual(migrateYamlText(''), { text: '', changes: [] });
});

test('a Helm template (not YAML): apiVersion lines only, as flux migrate does, with a warning about beta-only fields', () => {
  const text = `{{- if .Values.enabled }}\napiVersion: helm.toolkit.fluxcd.io/v2beta1\nkind: HelmRelease\nmetadata:\n  name: {{ .Values.name }}\nspec:\n  chart:\n    spec:\n      valuesFile: {{ .Values.file }}\n{{- end }}\n`;
  const r = migrateYamlText(text);
  assert.equal(r.text, text.replace('v2beta1', 'v2'));
  assert.equal(r.changes.length, 1);
  assert.match(r.warning!, /only apiVersion lines were changed; it names fields that exist only in the betas/);
});
