import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { GitOps, configMap } from '../gitops.ts';
import { eventually } from '../harness.ts';
import type { KubeObject } from '../../src/kube/object.ts';
import { startS3Server, type S3Server } from './s3server.ts';
import { closeAll } from '../cleanup.ts';

// The Bucket source (generic provider) against a real S3 endpoint on
// loopback that checks every request's SigV4 signature: objects under a
// prefix become an artifact, the bucket's .sourceignore and spec.ignore
// leave objects out, a changed object is a new revision that a
// Kustomization applies, and wrong credentials or a missing bucket say so
// without printing the secret.

const ACCESS = 'sluice-test-access';
const SECRET = 'sluice-test-secret-v4key';

let g: GitOps;
let s3: S3Server;

type BucketObj = KubeObject & { status?: { artifact?: { revision: string }; conditions?: Array<{ type: string; status: string; reason: string; message: string }> } };
const bucketPath = (name = '') => `/apis/source.toolkit.fluxcd.io/v1/namespaces/${g.ns.name}/buckets${name ? `/${name}` : ''}`;

async function createBucket(name: string, spec: Record<string, unknown>): Promise<void> {
  await g.client.request({ method: 'POST', path: bucketPath(), body: { apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'Bucket', metadata: { name }, spec: { interval: '1h', endpoint: s3.endpoint, insecure: true, ...spec } } });
}

const until = (name: string, what: string, pred: (b: BucketObj) => boolean, timeoutMs = 30_000) =>
  eventually(`Bucket ${name}: ${what}`, async () => {
    const b = await g.client.getOrUndefined<BucketObj>(bucketPath(name));
    return b && pred(b) ? b : undefined;
  }, timeoutMs);
const readyOf = (b: BucketObj) => b.status?.conditions?.find((c) => c.type === 'Ready');

before(async () => {
  s3 = await startS3Server(ACCESS, SECRET);
  g = await GitOps.start('bucket');
  await s3.createBucket('fleet');
  await s3.put('fleet', '.sourceignore', '*.md\n');
  await s3.put('fleet', 'apps/cm.yaml', configMap('from-bucket', { version: '1' }));
  await s3.put('fleet', 'apps/README.md', '# not a manifest\n');
  await s3.put('fleet', 'apps/notes.txt', 'left out by spec.ignore\n');
  await s3.put('fleet', 'other/cm.yaml', configMap('outside-prefix', { x: 'y' }));
  await g.client.request({ method: 'POST', path: `/api/v1/namespaces/${g.ns.name}/secrets`, body: { metadata: { name: 's3-creds' }, stringData: { accesskey: ACCESS, secretkey: SECRET } } });
  await g.client.request({ method: 'POST', path: `/api/v1/namespaces/${g.ns.name}/secrets`, body: { metadata: { name: 's3-wrong' }, stringData: { accesskey: ACCESS, secretkey: 'not-the-secret-at-all' } } });
});

after(async () => {
  await closeAll(g && (() => g.close()), s3 && (() => s3.close()));
});

test('the objects under the prefix become an artifact a Kustomization applies; a changed object is a new revision', async () => {
  await createBucket('fleet', { bucketName: 'fleet', prefix: 'apps/', secretRef: { name: 's3-creds' }, ignore: '*.txt' });
  const b = await until('fleet', 'Ready', (x) => readyOf(x)?.status === 'True');
  const rev1 = b.status!.artifact!.revision;
  assert.match(rev1, /^sha256:[0-9a-f]{64}$/);
  assert.match(readyOf(b)!.message, new RegExp(`^stored artifact for revision '${rev1}'$`));
  const events = await g.client.request<{ items: Array<{ reason: string; message: string; involvedObject: { kind: string; name: string } }> }>({ path: `/api/v1/namespaces/${g.ns.name}/events` });
  assert.ok(events.items.some((e) => e.involvedObject.kind === 'Bucket' && e.reason === 'NewArtifact' && e.message === "stored artifact with 1 fetched files from 'fleet' bucket"), 'README.md (.sourceignore) and notes.txt (spec.ignore) left out, other/ outside the prefix');

  await g.createKustomization('apps', { path: './apps', sourceRef: { kind: 'Bucket', name: 'fleet' }, targetNamespace: g.ns.name });
  await g.untilReady('apps', rev1, 60_000);
  const cm = () => g.client.getOrUndefined<{ data: Record<string, string> }>(g.path('configmaps', 'from-bucket'));
  assert.equal((await cm())?.data.version, '1');
  assert.equal(await g.client.getOrUndefined(g.path('configmaps', 'outside-prefix')), undefined);

  await s3.put('fleet', 'apps/cm.yaml', configMap('from-bucket', { version: '2' }));
  await g.requestReconcile(bucketPath('fleet'));
  const b2 = await until('fleet', 'a new revision', (x) => readyOf(x)?.status === 'True' && x.status?.artifact?.revision !== rev1);
  await g.untilReady('apps', b2.status!.artifact!.revision, 60_000);
  assert.equal((await cm())?.data.version, '2');

  // Only an ignored object changes: same index, same revision, nothing fetched.
  await s3.put('fleet', 'apps/README.md', '# edited\n');
  await g.requestReconcile(bucketPath('fleet'));
  const b3 = await until('fleet', 'the request handled', (x) => (x.status as { lastHandledReconcileAt?: string } | undefined)?.lastHandledReconcileAt !== undefined && readyOf(x)?.status === 'True');
  assert.equal(b3.status!.artifact!.revision, b2.status!.artifact!.revision);
});

test('wrong credentials are AuthenticationFailed, without the secret; a missing bucket says so', async () => {
  await createBucket('wrong', { bucketName: 'fleet', secretRef: { name: 's3-wrong' } });
  const w = await until('wrong', 'auth failure', (x) => readyOf(x)?.status === 'False');
  assert.equal(readyOf(w)!.reason, 'AuthenticationFailed');
  assert.match(readyOf(w)!.message, /SignatureDoesNotMatch/);
  assert.ok(!readyOf(w)!.message.includes('not-the-secret-at-all'));

  await createBucket('none', { bucketName: 'no-such-bucket', secretRef: { name: 's3-creds' } });
  const n = await until('none', 'not found', (x) => readyOf(x)?.status === 'False');
  assert.equal(readyOf(n)!.reason, 'BucketOperationFailed');
  assert.match(readyOf(n)!.message, /bucket 'no-such-bucket' not found/);

  await createBucket('nosecret', { bucketName: 'fleet', secretRef: { name: 'missing' } });
  const m = await until('nosecret', 'no secret', (x) => readyOf(x)?.status === 'False');
  assert.match(readyOf(m)!.message, /failed to get secret '.*\/missing': secret not found/);
});

test('a provider Sluice cannot serve is refused by name, and the API server keeps Flux\'s rules', async () => {
  await createBucket('cloud', { bucketName: 'fleet', provider: 'gcp' });
  const c = await until('cloud', 'unsupported', (x) => readyOf(x)?.status === 'False');
  assert.equal(readyOf(c)!.reason, 'UnsupportedConfiguration');
  const stalled = c.status!.conditions!.find((x) => x.type === 'Stalled');
  assert.equal(stalled?.status, 'True');
  await assert.rejects(createBucket('both', { bucketName: 'fleet', secretRef: { name: 's3-creds' }, serviceAccountName: 'sa', provider: 'aws' }), /cannot set both \.spec\.secretRef and \.spec\.serviceAccountName/);
});
