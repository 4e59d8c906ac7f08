// The build stage against the real kustomize binary (built once by
// ensureKustomize into the cache): the YAML layer's fidelity to kustomize's
// output, native-vs-kustomize equivalence, and Flux's overlays.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { run } from '../../src/util/exec.ts';
import { ensureKustomize } from '../../src/tools/gotool.ts';
import { buildKustomization, BuildError, ManifestError } from '../../src/render/index.ts';
import type { KustomizationBuildSpec as KustomizationSpec } from '../../src/render/index.ts';
import { parseManifests } from '../../src/render/manifests.ts';
import { emitV2Stream } from '../../src/render/yamlwrite.ts';

// test: no cluster

let root: string;
let kustomize: string;

async function put(rel: string, text: string): Promise<void> {
  await mkdir(dirname(join(root, rel)), { recursive: true });
  await writeFile(join(root, rel), text);
}

before(async () => {
  const started = Date.now();
  kustomize = await ensureKustomize({ log: (m) => process.stderr.write(`# ${m}\n`) });
  process.stderr.write(`# kustomize ready in ${((Date.now() - started) / 1000).toFixed(1)} s: ${kustomize}\n`);
  root = await mkdtemp(join(tmpdir(), 'sluice-build-'));
});

after(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------
// Fixtures

/** Values whose YAML meaning differs between YAML 1.1 and 1.2, or that need quoting or folding. */
const TRICKY = `apiVersion: v1
kind: ConfigMap
metadata:
  name: tricky
  labels: {}
  annotations:
data:
  yes: yes
  on: "on"
  octal: 0755
  octal12: 0o14
  hex: 0x1F
  float: 1e3
  frac: 1.5
  small: 1e-7
  nulls: ~
  date: 2001-12-14
  stamp: 2001-12-14 21:59:43.10
  zoned: 2001-12-14T21:59:43.10-05:00
  var: "\${x}"
  single: '\${y}'
  dflt: \${a:=b}
  block: |
    multi \${z}
  keep: "two\\nlines\\n\\n"
  lead: "  lead\\nx"
  trail: "trail  \\nx"
  colon: "a: b"
  hash: "x #y"
  quote: it's
  dq: 'say "hi"'
  tab: "tab\\there"
  empty: ""
  space: " "
  long: "long string with many words that goes on and on beyond the eighty character limit of the emitter for sure yes"
  unicode: "ünïcödé ✓"
  emoji: "emoji 😀"
  sexagesimal: 1:20
  dashes: "---"
  flow: "[x]"
  star: "*star"
  q: "? q"
  y: "y"
  n: n
  bool: True
  off: Off
list:
- 1
- - nested
  - x
- {}
- []
- k: v
  k2: [a]
"key with: colon": 1
"123": num key
`;

const VARIED = {
  'ns.yaml': `apiVersion: v1
kind: Namespace
metadata:
  name: shop
  labels: {team: shop}
`,
  'rbac/cluster.yaml': `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: shop-reader
rules:
- apiGroups: [""]
  resources: [pods]
  verbs: [get, list]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: default-view
subjects:
- kind: ServiceAccount
  name: default
- kind: User
  name: jane
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: view
`,
  'crds/widgets.yaml': `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
`,
  'crs/widgets.yaml': `apiVersion: example.com/v1
kind: Widget
metadata:
  name: blue
spec:
  color: blue
  size: 3
---
apiVersion: example.com/v1
kind: ClusterGadget
metadata:
  name: g1
  namespace: was-here
`,
  'app/deploy.yaml': `apiVersion: apps/v1
kind: Deployment
metadata:
  name: frontend
  namespace: old
  annotations:
    config.kubernetes.io/index: "0"
    internal.config.kubernetes.io/path: elsewhere.yaml
spec:
  replicas: 2
  selector:
    matchLabels: {app: fe}
  template:
    metadata:
      labels: {app: fe}
    spec:
      containers:
      - name: nginx
        image: nginx:1.27
        ports: [{containerPort: 8080}]
        env:
        - {name: MODE, value: "production"}
`,
  'app/svc.json': '{"not": "read, Flux takes .yaml and .yml only"}',
  'app/svc.yml': `apiVersion: v1
kind: Service
metadata:
  name: fe-svc
spec:
  selector: {app: fe}
  ports:
  - port: 80
    targetPort: 8080
`,
  'app/list.yaml': `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ServiceAccount
  metadata: {name: builder}
- apiVersion: v1
  kind: ConfigMapList
  items:
  - apiVersion: v1
    kind: ConfigMap
    metadata: {name: from-list}
    data: {k: v}
---
apiVersion: v1
kind: Secret
metadata:
  name: creds
type: Opaque
stringData:
  password: not-really
---
# an empty document and a local-config object, both dropped
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: local-only
  annotations: {config.kubernetes.io/local-config: "true"}
`,
  'app/tricky.yaml': TRICKY,
  'nodes/pv.yaml': `apiVersion: v1
kind: PersistentVolume
metadata:
  name: pv1
spec:
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteOnce]
  hostPath: {path: /data}
---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata:
  name: high
value: 1000
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata:
  name: nginx
spec:
  controller: k8s.io/ingress-nginx
`,
};

async function putAll(prefix: string, files: Record<string, string>): Promise<void> {
  for (const [rel, text] of Object.entries(files)) await put(join(prefix, rel), text);
}

// ---------------------------------------------------------------------------

test('the YAML layer writes exactly what kustomize writes, and reads sources as kustomize does', async () => {
  await put('tricky/tricky.yaml', TRICKY);
  await put('tricky/kustomization.yaml', 'resources: [tricky.yaml]\n');
  const { stdout } = await run(kustomize, ['build', join(root, 'tricky')]);
  const fromKustomize = parseManifests(stdout, 'out', { flavor: 'v2' }).map((m) => m.object);
  assert.equal(emitV2Stream(fromKustomize), stdout);
  const fromSource = parseManifests(TRICKY, 'tricky.yaml').map((m) => m.object);
  delete fromSource[0]!.metadata.annotations; // kustomize drops an empty annotations map
  assert.deepEqual(fromSource, fromKustomize);
});

const SPECS: Array<[string, KustomizationSpec]> = [
  ['no transforms', {}],
  ['targetNamespace', { targetNamespace: 'shop' }],
  ['targetNamespace to another name than the Namespace object', { targetNamespace: 'other' }],
  ['namePrefix and nameSuffix', { namePrefix: 'pre-', nameSuffix: '-suf' }],
  ['all three', { targetNamespace: 'tenant-a', namePrefix: 'a-', nameSuffix: '-1' }],
];

test('native output is identical to kustomize output on a varied fixture set', async () => {
  await putAll('varied', VARIED);
  for (const [label, spec] of SPECS) {
    const native = await buildKustomization({ dir: root, spec: { ...spec, path: 'varied' } });
    assert.equal(native.usedKustomize, false, `${label}: ${native.kustomizeReason}`);
    const viaKustomize = await buildKustomization({ dir: root, spec: { ...spec, path: 'varied' }, forceKustomize: true });
    assert.equal(viaKustomize.usedKustomize, true);
    assert.deepEqual(
      native.objects.map((m) => m.object),
      viaKustomize.objects.map((m) => m.object),
      label,
    );
    assert.ok(native.objects.length >= 14, label);
    // Origins agree where kustomize's origin could be traced to a line.
    for (const [i, k] of viaKustomize.objects.entries()) {
      assert.equal(k.origin.file, native.objects[i]!.origin.file.split('\\').join('/'), `${label}: origin file of object ${i}`);
      if (k.origin.line) assert.equal(k.origin.line, native.objects[i]!.origin.line, `${label}: origin line of object ${i}`);
    }
  }
});

test('where kustomize rewrites references, the build uses kustomize, and gets its answer', async () => {
  await putAll('refs', {
    'sa.yaml': 'apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: runner\n',
    'cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata: {a: b}\n',
    'deploy.yaml': `apiVersion: apps/v1
kind: Deployment
metadata:
  name: worker
spec:
  selector: {matchLabels: {app: worker}}
  template:
    metadata: {labels: {app: worker}}
    spec:
      serviceAccountName: runner
      containers:
      - name: main
        image: busybox
        envFrom: [{configMapRef: {name: settings}}]
      volumes:
      - name: cfg
        configMap: {name: settings}
`,
    'binding.yaml': `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: runner-binding
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects: [{kind: ServiceAccount, name: runner, namespace: default}]
`,
  });
  const r = await buildKustomization({ dir: root, spec: { path: 'refs', namePrefix: 'x-', targetNamespace: 'jobs' } });
  assert.equal(r.usedKustomize, true);
  assert.match(r.kustomizeReason!, /binds ServiceAccount runner|refer to an object kustomize renames/);
  const byKind = Object.fromEntries(r.objects.map((m) => [m.object.kind, m.object]));
  const pod = (byKind.Deployment!.spec as { template: { spec: Record<string, unknown> } }).template.spec;
  assert.equal(pod.serviceAccountName, 'x-runner');
  assert.deepEqual(pod.volumes, [{ name: 'cfg', configMap: { name: 'x-settings' } }]);
  assert.deepEqual(byKind.ClusterRoleBinding!.subjects, [{ kind: 'ServiceAccount', name: 'x-runner', namespace: 'jobs' }]);
});

test('an overlay with Flux patches, images and components, traced back to its files', async () => {
  await putAll('ovl', {
    'base/kustomization.yaml': 'resources: [deploy.yaml]\nimages:\n- name: nginx\n  newTag: "1.0"\n',
    'base/deploy.yaml': `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app.kubernetes.io/part-of: shop}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx
      - name: sidecar
        image: busybox:1.36
`,
    // `namespace: y` is a boolean to kustomize (YAML 1.1); Flux's targetNamespace overrides it.
    // An unknown field is dropped, as Flux's generator drops it.
    'prod/kustomization.yaml': 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [../base]\nnamespace: y\nnotAField: 1\n',
    'components/monitoring/kustomization.yaml': `apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component
resources: [monitor.yaml]
`,
    'components/monitoring/monitor.yaml': 'apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata:\n  name: web\nspec:\n  selector: {matchLabels: {app: web}}\n',
  });
  const r = await buildKustomization({
    dir: root,
    spec: {
      path: 'ovl/prod',
      targetNamespace: 'prod',
      patches: [
        {
          patch: 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: not-used\nspec:\n  replicas: 3\n',
          target: { kind: 'Deployment', labelSelector: 'app.kubernetes.io/part-of=shop' },
        },
        { patch: '- op: add\n  path: /metadata/annotations\n  value: {patched: json6902}\n', target: { kind: 'Deployment', name: 'web' } },
      ],
      images: [
        { name: 'nginx', newName: 'registry.example/nginx', newTag: '1.27' },
        { name: 'busybox', digest: 'sha256:1111111111111111111111111111111111111111111111111111111111111111' },
      ],
      components: ['../components/monitoring', '../components/absent'],
      ignoreMissingComponents: true,
    },
  });
  assert.equal(r.usedKustomize, true);
  const ids = r.objects.map((m) => `${m.object.kind}/${m.object.metadata.namespace}/${m.object.metadata.name}`);
  assert.deepEqual(ids, ['Deployment/prod/web', 'ServiceMonitor/prod/web']);
  const d = r.objects[0]!.object;
  const spec = d.spec as { replicas: number; template: { spec: { containers: { image: string }[] } } };
  assert.equal(spec.replicas, 3);
  assert.deepEqual(
    spec.template.spec.containers.map((c) => c.image),
    ['registry.example/nginx:1.27', 'busybox@sha256:1111111111111111111111111111111111111111111111111111111111111111'],
  );
  assert.deepEqual(d.metadata.annotations, { patched: 'json6902' });
  assert.deepEqual(r.objects[0]!.origin, { file: 'ovl/base/deploy.yaml', line: 1, column: 1, document: 1 });
  assert.equal(r.objects[1]!.origin.file, 'ovl/components/monitoring/monitor.yaml');

  await assert.rejects(
    buildKustomization({ dir: root, spec: { path: 'ovl/prod', components: ['../components/absent'] } }),
    /components "\.\.\/components\/absent" does not exist/,
  );
});

test('a plain directory with a kustomization below it is built the way Flux generates it', async () => {
  await putAll('gen', {
    'a.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n',
    'sub/kustomization.yaml': 'resources: [b.yaml]\nnamePrefix: sub-\n',
    'sub/b.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n',
    'z/c.yml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n',
  });
  const r = await buildKustomization({ dir: root, spec: { path: 'gen', targetNamespace: 'g' } });
  assert.equal(r.usedKustomize, true);
  assert.equal(r.kustomizeReason, 'gen/sub, below the path, is a kustomization');
  assert.deepEqual(
    r.objects.map((m) => `${m.object.metadata.namespace}/${m.object.metadata.name} ${m.origin.file}:${m.origin.line}`),
    ['g/a gen/a.yaml:1', 'g/sub-b gen/sub/b.yaml:1', 'g/c gen/z/c.yml:1'],
  );
});

test('substitution and commonMetadata after a kustomize build', async () => {
  await putAll('post', {
    'kustomization.yaml': 'resources: [cm.yaml]\nconfigMapGenerator:\n- name: gen\n  literals: ["region=${region}"]\n',
    'cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  replicas: "${replicas:=2}"\n  region: ${region}\n',
  });
  const r = await buildKustomization({
    dir: root,
    spec: { path: 'post', postBuild: { substitute: { region: 'eu-1' } }, commonMetadata: { annotations: { team: 'x' } } },
  });
  assert.deepEqual(r.objects.map((m) => m.object.data), [{ replicas: 2, region: 'eu-1' }, { region: 'eu-1' }]);
  assert.match(r.objects[1]!.object.metadata.name!, /^gen-[a-z0-9]{10}$/);
  assert.equal(r.objects[1]!.origin.file, 'post/kustomization.yaml');
  for (const m of r.objects) assert.deepEqual(m.object.metadata.annotations, { team: 'x' });
});

test('kustomize errors are reported with paths in the source, not the temporary copy', async () => {
  await putAll('bad', {
    'kustomization.yaml': 'resources: [cm.yaml]\npatches:\n- path: patch.yaml\n',
    'cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n',
    'patch.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: does-not-exist\ndata: {a: b}\n',
  });
  await assert.rejects(
    buildKustomization({ dir: root, spec: { path: 'bad' } }),
    (err: unknown) => {
      const msg = (err as Error).message;
      assert.ok(err instanceof BuildError, msg);
      assert.match(msg, /^kustomize build bad failed: /);
      assert.doesNotMatch(msg, /sluice-build-[A-Za-z0-9]{6}\//);
      return true;
    },
  );
  await putAll('badres', {
    'kustomization.yaml': 'resources: [cm.yaml]\n',
    'cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  a: [1\n',
  });
  await assert.rejects(
    buildKustomization({ dir: root, spec: { path: 'badres' } }),
    (err: unknown) => err instanceof ManifestError && err.file === join('badres', 'cm.yaml') && /^badres\/cm\.yaml:7:1: invalid YAML: /.test(err.message),
  );
  await mkdir(join(root, 'nothing'), { recursive: true });
  await assert.rejects(buildKustomization({ dir: root, spec: { path: 'nothing' }, forceKustomize: true }), /kustomize build nothing failed: kustomization\.yaml is empty/);
  await assert.rejects(buildKustomization({ dir: root, spec: { path: 'nothing' } }), /kustomize build nothing failed: kustomization\.yaml is empty/);
  await putAll('badyaml', { 'kustomization.yaml': 'resources: [cm.yaml\n' });
  await assert.rejects(buildKustomization({ dir: root, spec: { path: 'badyaml' } }), /^BuildError: badyaml\/kustomization\.yaml:2:1: invalid YAML: /);
});

test('spec.buildMetadata: kustomize adds origin and transformer annotations; a plain directory goes through kustomize for it', async () => {
  await putAll('meta', {
    'cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata: {a: b}\n',
  });
  const plain = await buildKustomization({ dir: root, spec: { path: 'meta' } });
  assert.equal(plain.usedKustomize, false);
  assert.equal(plain.objects[0]!.object.metadata.annotations, undefined);

  const r = await buildKustomization({ dir: root, spec: { path: 'meta', namePrefix: 'p-', buildMetadata: ['originAnnotations', 'transformerAnnotations'] } });
  assert.equal(r.usedKustomize, true);
  assert.equal(r.kustomizeReason, 'the spec has buildMetadata');
  const ann = r.objects[0]!.object.metadata.annotations ?? {};
  assert.equal(r.objects[0]!.object.metadata.name, 'p-c');
  assert.match(ann['config.kubernetes.io/origin'] ?? '', /path: cm\.yaml/, JSON.stringify(ann));
  assert.match(ann['alpha.config.kubernetes.io/transformations'] ?? '', /PrefixTransformer/, JSON.stringify(ann));

  // An option the kustomization file has already is not repeated; the spec's are added to it.
  await putAll('meta2', {
    'kustomization.yaml': 'resources: [cm.yaml]\nbuildMetadata: [originAnnotations]\n',
    'cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata: {a: b}\n',
  });
  const both = await buildKustomization({ dir: root, spec: { path: 'meta2', buildMetadata: ['originAnnotations'] } });
  assert.match(both.objects[0]!.object.metadata.annotations?.['config.kubernetes.io/origin'] ?? '', /path: cm\.yaml/);
  assert.equal(both.objects[0]!.object.metadata.annotations?.['alpha.config.kubernetes.io/transformations'], undefined);
});
