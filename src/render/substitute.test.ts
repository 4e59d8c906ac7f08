import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Manifest } from './manifests.ts';
import { parseManifests } from './manifests.ts';
import { loadVariables, substituteManifests, SubstitutionError } from './substitute.ts';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const parse = (text: string): Manifest[] => parseManifests(text, 'apps/app.yaml');

const app = parse(`apiVersion: v1
kind: ConfigMap
metadata:
  name: app-\${env:=dev}
  namespace: apps
  labels:
    region: "\${region}"
data:
  image: \${registry:-docker.io}/app:\${tag}
  upper: \${region^^}
  escaped: $\${NOT_A_VAR}
  replicas: "\${replicas}"
  enabled: \${enabled}
  script: echo $HOME
`);

test('substitutes the forms Flux supports, with defaults', async () => {
  const vars = await loadVariables({ substitute: { region: 'eu-central-1', tag: 'v1.2.3', replicas: '3', enabled: 'yes' } });
  const [m] = substituteManifests(app, vars);
  const o = m!.object;
  assert.equal(o.metadata.name, 'app-dev');
  assert.deepEqual(o.metadata.labels, { region: 'eu-central-1' });
  assert.deepEqual(o.data, {
    image: 'docker.io/app:v1.2.3',
    upper: 'EU-CENTRAL-1',
    escaped: '${NOT_A_VAR}',
    // As in Flux, quotes in the source do not survive: the object is rendered
    // anew before substitution, so "3" and yes become a number and a boolean.
    replicas: 3,
    enabled: true,
    script: 'echo $HOME',
  });
  assert.deepEqual(m!.origin, app[0]!.origin);
});

test('substituteFrom: in order, later wins, inline substitute wins over all; optional; newlines dropped', async () => {
  const vars = await loadVariables(
    {
      substitute: { tag: 'inline' },
      substituteFrom: [
        { kind: 'ConfigMap', name: 'first' },
        { kind: 'Secret', name: 'second' },
        { kind: 'ConfigMap', name: 'missing', optional: true },
      ],
    },
    {
      configMaps: { first: { data: { registry: 'one.example', tag: 'from-cm', env: 'staging' } } },
      secrets: { second: { data: { registry: b64('two.example\n'), region: b64('secret-region') } } },
    },
  );
  assert.deepEqual(
    Object.fromEntries([...vars].map(([k, v]) => [k, [v.value, v.source, v.secret]])),
    {
      registry: ['two.example', 'Secret/second', true],
      tag: ['inline', 'postBuild.substitute', false],
      env: ['staging', 'ConfigMap/first', false],
      region: ['secret-region', 'Secret/second', true],
    },
  );
  const [m] = substituteManifests(app, vars);
  assert.equal(m!.object.metadata.name, 'app-staging');
  assert.equal((m!.object.data as Record<string, unknown>).image, 'two.example/app:inline');
});

test('substituteFrom objects can come from a lookup; a missing one fails unless optional', async () => {
  const lookup = async (kind: string, name: string) => (kind === 'ConfigMap' && name === 'found' ? { data: { a: 'b' } } : undefined);
  const vars = await loadVariables({ substituteFrom: [{ kind: 'ConfigMap', name: 'found' }, { kind: 'Secret', name: 'nope', optional: true }] }, { lookup });
  assert.equal(vars.get('a')?.value, 'b');
  await assert.rejects(
    loadVariables({ substituteFrom: [{ kind: 'Secret', name: 'nope' }] }, { lookup }),
    (err: unknown) => err instanceof SubstitutionError && err.message === `substitute from 'Secret/nope' error: Secret "nope" not found`,
  );
});

test('objects labelled or annotated kustomize.toolkit.fluxcd.io/substitute: disabled are left alone', async () => {
  const objs = parse(`apiVersion: v1
kind: ConfigMap
metadata:
  name: a
  annotations:
    kustomize.toolkit.fluxcd.io/substitute: disabled
data: {x: "\${v}"}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: b
  labels:
    kustomize.toolkit.fluxcd.io/substitute: disabled
data: {x: "\${v}"}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: c}
data: {x: "\${v}"}
`);
  const out = substituteManifests(objs, await loadVariables({ substitute: { v: 'value' } }));
  assert.deepEqual(out.map((m) => (m.object.data as Record<string, string>).x), ['${v}', '${v}', 'value']);
});

test('without any variable nothing is substituted (as in Flux)', async () => {
  const out = substituteManifests(app, await loadVariables({ substitute: {} }));
  assert.equal(out[0]!.object.metadata.name, 'app-${env:=dev}');
});

test('substituteStrategy Always substitutes without any variable: defaults apply, and strict mode still names an unset one', async () => {
  const none = await loadVariables({ substitute: {} });
  const objs = parse('apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a-${env:=dev}\ndata:\n  x: ${unset}\n');
  assert.equal(substituteManifests(objs, none, { always: true })[0]!.object.metadata.name, 'a-dev');
  assert.deepEqual(substituteManifests(objs, none, { always: true })[0]!.object.data, { x: null });
  assert.throws(() => substituteManifests(objs, none, { always: true, strict: true }), /variable not set \(strict mode\): "unset"/);
  // WithVariables (the default): nothing happens without a variable, strict or not.
  assert.equal(substituteManifests(objs, none, { strict: true })[0]!.object.metadata.name, 'a-${env:=dev}');
});

test('strict mode accepts a variable set to the empty string (it is defined)', async () => {
  const objs = parse('apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  labels:\n    l: "${empty}"\n');
  const vars = await loadVariables({ substitute: { empty: '' } });
  assert.deepEqual(substituteManifests(objs, vars, { strict: true })[0]!.object.metadata.labels, { l: null });
});

test('strict mode fails on unset variables and names them', async () => {
  const objs = parse('apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  x: ${set}\n  y: ${unset:=fine}\n  z: ${missing}\n');
  const vars = await loadVariables({ substitute: { set: 'ok' } });
  assert.throws(
    () => substituteManifests(objs, vars, { strict: true }),
    (err: unknown) =>
      err instanceof SubstitutionError &&
      err.message ===
        'variable substitution failed for ConfigMap/a (apps/app.yaml:1:1): variable not set (strict mode): "missing"; used at line 5 of the object: "z: ${missing}"',
  );
  assert.deepEqual(substituteManifests(objs, vars)[0]!.object.data, { x: 'ok', y: 'fine', z: null });
});

test('invalid variable names fail, naming the variable and its source', async () => {
  const vars = await loadVariables({ substituteFrom: [{ kind: 'ConfigMap', name: 'cm' }] }, { configMaps: { cm: { data: { 'my-key': 'x' } } } });
  assert.throws(() => substituteManifests(app, vars), /'my-key' var name is invalid, must match '\^\[_\[:alpha:\]\]\[_\[:alpha:\]\[:digit:\]\]\*\$' \(from ConfigMap\/cm\)/);
});

test('YAML made invalid by substitution is a clear error that never shows Secret values', async () => {
  const secret = 'hunter2: [oops';
  const vars = await loadVariables(
    { substituteFrom: [{ kind: 'Secret', name: 's' }] },
    { secrets: { s: { data: { tag: b64(secret), region: b64('eu-west-1') } } } },
  );
  assert.throws(
    () => substituteManifests(app, vars),
    (err: unknown) => {
      const msg = (err as Error).message;
      assert.ok(err instanceof SubstitutionError, msg);
      assert.match(msg, /^after variable substitution, ConfigMap\/apps\/app-\$\{env:=dev\} \(apps\/app\.yaml:1:1\) is not valid YAML: line \d+, column \d+ of the object: /);
      assert.match(msg, /before substitution that line was "image: \$\{registry:-docker\.io\}\/app:\$\{tag\}"/);
      assert.ok(!msg.includes('hunter2'), msg);
      assert.ok(!msg.includes('oops'), msg);
      return true;
    },
  );
  // A value that is not representable (here .inf from a Secret) is reported without the value.
  const vars2 = await loadVariables({ substituteFrom: [{ kind: 'Secret', name: 's' }] }, { secrets: { s: { data: { tag: b64('.inf'), region: b64('r') } } } });
  const objs = parse('apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  num: ${tag}\n');
  assert.throws(
    () => substituteManifests(objs, vars2),
    (err: unknown) => {
      const msg = (err as Error).message;
      return /an infinite number/.test(msg) && !msg.includes('.inf') && /before substitution that line was "num: \$\{tag\}"/.test(msg);
    },
  );
});

test('a Secret value that is already in an object is masked in error messages', async () => {
  const objs = parse('apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: s3cr3t-value\ndata:\n  a: ${broken\n');
  const vars = await loadVariables({ substituteFrom: [{ kind: 'Secret', name: 's' }] }, { secrets: { s: { data: { x: b64('s3cr3t-value') } } } });
  assert.throws(
    () => substituteManifests(objs, vars),
    (err: unknown) => {
      const msg = (err as Error).message;
      return msg.includes('ConfigMap/*****') && !msg.includes('s3cr3t-value') && /missing closing brace at line \d+ of the object/.test(msg);
    },
  );
});
