// The build without the kustomize binary: plain directories on the native
// path, and the errors that are found before kustomize would run.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { BuildError, buildKustomization, ManifestError } from './index.ts';

let root: string;
const savedKustomize = process.env.SLUICE_KUSTOMIZE;

async function put(rel: string, text: string): Promise<void> {
  await mkdir(dirname(join(root, rel)), { recursive: true });
  await writeFile(join(root, rel), text);
}

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'sluice-build-unit-'));
  // Any attempt to run kustomize in these tests fails loudly.
  process.env.SLUICE_KUSTOMIZE = join(root, 'no-such-kustomize');
  await put('apps/web/deploy.yaml', `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: \${replicas:=1}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: nginx
        image: nginx:\${tag}
`);
  await put('apps/web/svc.yml', 'apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  selector: {app: web}\n  ports: [{port: 80}]\n');
  await put('apps/crds/widget.yaml', 'apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.example.com\n');
  await put('apps/ns.yaml', 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: apps\n');
  await put('apps/notes.json', '{"not": "read: Flux generates kustomizations from .yaml and .yml only"}');
  await put('apps/README.md', '# not a manifest');
  await put('broken/a.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  k: [1, 2\n');
  await put('nokind/a.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nmetadata: {name: b}\n');
  await put('remote/kustomization.yaml', 'resources:\n- deploy.yaml\n- github.com/example/repo//deploy?ref=v1.0.0\n');
  await put('remote/deploy.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n');
  await put('remote-nested/kustomization.yaml', 'resources:\n- ../remote-base\n');
  await put('remote-base/kustomization.yaml', 'resources:\n- https://example.com/manifests.yaml\n');
  await put('outside/kustomization.yaml', 'resources:\n- ../../../etc\n');
  await put('missing/kustomization.yaml', 'resources:\n- nothing-here.yaml\n');
  await mkdir(join(root, 'empty', 'sub'), { recursive: true });
  await put('empty/sub/readme.txt', 'nothing here');
  await put('mixed/plain.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: plain}\n');
  await put('mixed/sub/kustomization.yaml', 'resources: [cm.yaml]\n');
  await put('mixed/sub/cm.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: sub}\n');
});

after(async () => {
  if (savedKustomize === undefined) delete process.env.SLUICE_KUSTOMIZE;
  else process.env.SLUICE_KUSTOMIZE = savedKustomize;
  await rm(root, { recursive: true, force: true });
});

const ids = (objs: { object: { kind: string; metadata: { name?: string; namespace?: string } } }[]) =>
  objs.map((o) => `${o.object.kind}/${o.object.metadata.namespace ?? ''}/${o.object.metadata.name}`);

test('a plain directory tree builds natively, files in walk order', async () => {
  const r = await buildKustomization({ dir: root, spec: { path: './apps' } });
  assert.equal(r.usedKustomize, false);
  assert.deepEqual(ids(r.objects), [
    'CustomResourceDefinition//widgets.example.com',
    'Namespace//apps',
    'Deployment//web',
    'Service//web',
  ]);
  assert.deepEqual(r.objects[2]!.origin, { file: join('apps', 'web', 'deploy.yaml'), line: 1, column: 1, document: 1 });
});

test('targetNamespace, prefix, suffix, substitution and commonMetadata on the native path', async () => {
  const r = await buildKustomization({
    dir: root,
    spec: {
      path: 'apps/web',
      targetNamespace: 'prod',
      nameSuffix: '-v2',
      commonMetadata: { labels: { team: 'web' } },
      postBuild: { substitute: { tag: '1.27' } },
    },
  });
  assert.equal(r.usedKustomize, false);
  assert.deepEqual(ids(r.objects), ['Deployment/prod/web-v2', 'Service/prod/web-v2']);
  const spec = r.objects[0]!.object.spec as { replicas: number; template: { spec: { containers: { image: string }[] } } };
  assert.equal(spec.replicas, 1);
  assert.equal(spec.template.spec.containers[0]!.image, 'nginx:1.27');
  assert.deepEqual(r.objects[0]!.object.metadata.labels, { app: 'web', team: 'web' });
});

test('a targetNamespace renames a Namespace object, as kustomize does', async () => {
  const r = await buildKustomization({ dir: root, spec: { path: 'apps', targetNamespace: 'team' } });
  assert.deepEqual(ids(r.objects).slice(0, 2), ['CustomResourceDefinition//widgets.example.com', 'Namespace//team']);
});

test('errors: malformed YAML and missing kind name the file and line', async () => {
  await assert.rejects(
    buildKustomization({ dir: root, spec: { path: 'broken' } }),
    (err: unknown) => err instanceof ManifestError && err.file === join('broken', 'a.yaml') && /^broken\/a\.yaml:7:1: invalid YAML: /.test(err.message),
  );
  await assert.rejects(
    buildKustomization({ dir: root, spec: { path: 'nokind' } }),
    (err: unknown) => err instanceof ManifestError && err.message === 'nokind/a.yaml: document 2 (line 5) has no kind',
  );
});

test('errors: a path that leaves the source or does not exist', async () => {
  await assert.rejects(buildKustomization({ dir: root, spec: { path: '../..' } }), (err: unknown) => err instanceof BuildError && /leaves the source root/.test(err.message));
  await assert.rejects(buildKustomization({ dir: root, spec: { path: 'nope' } }), /kustomization path not found: "nope"/);
  await assert.rejects(buildKustomization({ dir: root, spec: { path: 'apps/ns.yaml' } }), /is not a directory/);
  await assert.rejects(buildKustomization({ dir: root, spec: { targetNamespace: 'Bad_NS' } }), /not a valid namespace name/);
  await assert.rejects(buildKustomization({ dir: root, spec: { path: 'empty' } }), /^BuildError: kustomize build empty failed: kustomization\.yaml is empty/);
});

test('with remote bases off (--no-remote-bases), remote bases and resources are refused before kustomize runs', async () => {
  await assert.rejects(
    buildKustomization({ dir: root, spec: { path: 'remote' } }),
    (err: unknown) =>
      err instanceof BuildError &&
      err.message.startsWith('remote/kustomization.yaml: resources "github.com/example/repo//deploy?ref=v1.0.0" is a remote base, and remote bases are off (--no-remote-bases)'),
  );
  await assert.rejects(
    buildKustomization({ dir: root, spec: { path: 'remote-nested' } }),
    (err: unknown) => err instanceof BuildError && err.message.startsWith('remote-base/kustomization.yaml: resources "https://example.com/manifests.yaml" is a remote base'),
  );
  await assert.rejects(buildKustomization({ dir: root, spec: { path: 'outside' } }), /outside the source root|does not exist/);
  await assert.rejects(buildKustomization({ dir: root, spec: { path: 'missing' } }), /missing\/kustomization\.yaml: resources "nothing-here\.yaml" does not exist/);
  await assert.rejects(
    buildKustomization({ dir: root, spec: { path: 'apps', components: ['https://example.com/c'] } }),
    /component path "https:\/\/example\.com\/c" must be local and relative/,
  );
});

test('a nested kustomization or a spec with patches needs kustomize', async () => {
  // SLUICE_KUSTOMIZE points nowhere, so reaching kustomize is an error that names the reason it was needed.
  await assert.rejects(buildKustomization({ dir: root, spec: { path: 'mixed' } }), /cannot run .*no-such-kustomize/);
  await assert.rejects(
    buildKustomization({ dir: root, spec: { path: 'apps/web', patches: [{ patch: '[{"op": "add", "path": "/x", "value": 1}]' }] } }),
    /cannot run .*no-such-kustomize/,
  );
});
