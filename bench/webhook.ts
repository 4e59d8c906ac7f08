// Benchmark: push to applied through a Receiver's webhook. With N
// Kustomizations (one small app each) built from one Git repository whose
// GitRepository polls once an hour, a commit changes one app and a
// GitHub-style signed push webhook goes to the controller's receiver: the
// time from the webhook to that Kustomization Ready at the new commit, median
// and p95 over the pushes. Then the same pushes with no webhook, picked up
// by polling at --poll-interval, for comparison.
//
// Runs against the local control plane of $SLUICE_HOME (`sluice cluster up`),
// the controller as its own process.
//
//   node --import tsx bench/webhook.ts [--count 1000] [--pushes 20] [--poll-pushes 5] [--poll-interval 1m]
import { createHmac, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { allCrds } from '../src/api/crds.ts';
import { ResourceManager } from '../src/apply/manager.ts';
import { freePort } from '../src/dev/cluster/ports.ts';
import { startGitHttpServer } from '../src/dev/gitserver/http.ts';
import { KubeClient } from '../src/kube/client.ts';
import type { KubeObject } from '../src/kube/object.ts';
import { run } from '../src/util/exec.ts';
import { sluiceHome } from '../src/util/paths.ts';
import { mapSettled } from '../src/util/pool.ts';
import { deleteNamespace, startController, waitFor } from './lib.ts';

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '1000' },
    pushes: { type: 'string', default: '20' },
    'poll-pushes': { type: 'string', default: '5' },
    'poll-interval': { type: 'string', default: '1m' },
  },
});
const N = Number(values.count);
const PUSHES = Number(values.pushes);
const POLL_PUSHES = Number(values['poll-pushes']);
const log = (m: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${m}\n`);
const KS = 'kustomize.toolkit.fluxcd.io/v1';
const TOKEN = randomBytes(16).toString('hex');

const cm = (i: number, v: number) => ({ [`apps/app-${i}/cm.yaml`]: `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app-${i}\ndata:\n  version: "${v}"\n` });

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
}

async function main(): Promise<void> {
  const kubeconfig = join(sluiceHome(), 'cluster', 'kubeconfig');
  const client = await KubeClient.fromFile(kubeconfig, undefined, { maxSockets: 32, qps: 0 });
  await new ResourceManager(client).apply(allCrds() as KubeObject[]);
  const ns = `bench-webhook-${Date.now() % 100000}`;
  const root = await mkdtemp(join(tmpdir(), 'sluice-bench-webhook-'));
  const work = join(root, 'work');
  const bare = join(root, 'apps.git');
  const env = { ...process.env, GIT_AUTHOR_NAME: 'bench', GIT_AUTHOR_EMAIL: 'b@x.invalid', GIT_COMMITTER_NAME: 'bench', GIT_COMMITTER_EMAIL: 'b@x.invalid', GIT_CONFIG_GLOBAL: '/dev/null' };
  await run('git', ['init', '-q', '--bare', '--initial-branch=main', bare]);
  await run('git', ['init', '-q', '--initial-branch=main', work]);
  const commit = async (files: Record<string, string>, message: string) => {
    for (const [rel, text] of Object.entries(files)) {
      await mkdir(dirname(join(work, rel)), { recursive: true });
      await writeFile(join(work, rel), text);
    }
    await run('git', ['-C', work, 'add', '--all'], { env });
    await run('git', ['-C', work, 'commit', '-q', '-m', message], { env });
    await run('git', ['-C', work, 'push', '-q', bare, 'main'], { env });
    return (await run('git', ['-C', work, 'rev-parse', 'HEAD'])).stdout.trim();
  };
  const git = await startGitHttpServer({ root });
  const receiverPort = await freePort();
  let ctl: Awaited<ReturnType<typeof startController>> | undefined;
  try {
    let all: Record<string, string> = {};
    for (let i = 0; i < N; i++) all = { ...all, ...cm(i, 0) };
    await commit(all, `${N} apps`);
    await client.request({ method: 'POST', path: '/api/v1/namespaces', body: { metadata: { name: ns } } });
    ctl = await startController(kubeconfig, { namespace: ns, concurrent: 32, receiverPort });
    await client.request({
      method: 'POST',
      path: `/apis/source.toolkit.fluxcd.io/v1/namespaces/${ns}/gitrepositories`,
      body: { apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'GitRepository', metadata: { name: 'apps' }, spec: { url: git.url('apps'), interval: '1h', ref: { branch: 'main' } } },
    });
    const t0 = performance.now();
    await mapSettled(Array.from({ length: N }, (_, i) => i), 32, (i) =>
      client.request({
        method: 'POST',
        path: `/apis/${KS}/namespaces/${ns}/kustomizations`,
        body: { apiVersion: KS, kind: 'Kustomization', metadata: { name: `app-${i}` }, spec: { interval: '1h', path: `./apps/app-${i}`, prune: true, targetNamespace: ns, sourceRef: { kind: 'GitRepository', name: 'apps' } } },
      }),
    );
    const allReady = async (rev: string) => {
      const list = await client.request<{ items: KubeObject[] }>({ path: `/apis/${KS}/namespaces/${ns}/kustomizations` });
      return list.items.filter((k) => k.status?.lastAppliedRevision === `main@sha1:${rev}`).length;
    };
    const first = (await run('git', ['-C', work, 'rev-parse', 'HEAD'])).stdout.trim();
    await waitFor(`${N} Kustomizations Ready`, 20 * 60_000, async () => ((await allReady(first)) === N ? true : undefined), 1000);
    log(`${N} Kustomizations Ready in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    await client.request({ method: 'POST', path: `/api/v1/namespaces/${ns}/secrets`, body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'webhook' }, stringData: { token: TOKEN } } });
    await client.request({
      method: 'POST',
      path: `/apis/notification.toolkit.fluxcd.io/v1/namespaces/${ns}/receivers`,
      body: { apiVersion: 'notification.toolkit.fluxcd.io/v1', kind: 'Receiver', metadata: { name: 'github' }, spec: { type: 'github', events: ['push'], secretRef: { name: 'webhook' }, resources: [{ kind: 'GitRepository', name: 'apps' }] } },
    });
    const hook = await waitFor('the Receiver', 60_000, async () => {
      const r = await client.getOrUndefined<KubeObject>(`/apis/notification.toolkit.fluxcd.io/v1/namespaces/${ns}/receivers/github`);
      return (r?.status?.webhookPath as string | undefined) || undefined;
    });

    const appliedAt = async (i: number, sha: string, everyMs: number) =>
      waitFor(`app-${i} at ${sha}`, 10 * 60_000, async () => {
        const k = await client.getOrUndefined<KubeObject>(`/apis/${KS}/namespaces/${ns}/kustomizations/app-${i}`);
        const ready = (k?.status?.conditions as Array<{ type: string; status: string }> | undefined)?.find((c) => c.type === 'Ready');
        return k?.status?.lastAppliedRevision === `main@sha1:${sha}` && ready?.status === 'True' ? true : undefined;
      }, everyMs);

    const webhook: number[] = [];
    const fetched: number[] = [];
    const answered: number[] = [];
    const artifactAt = (sha: string, start: number) =>
      waitFor('the new artifact', 10 * 60_000, async () => {
        const r = await client.getOrUndefined<KubeObject>(`/apis/source.toolkit.fluxcd.io/v1/namespaces/${ns}/gitrepositories/apps`);
        return (r?.status?.artifact as { revision?: string } | undefined)?.revision === `main@sha1:${sha}` ? performance.now() - start : undefined;
      }, 20);
    for (let p = 0; p < PUSHES; p++) {
      const i = (p * 37) % N;
      const sha = await commit(cm(i, p + 1), `change app-${i}`);
      const body = JSON.stringify({ ref: 'refs/heads/main', after: sha, repository: { full_name: 'bench/apps' } });
      const start = performance.now();
      const res = await fetch(`http://127.0.0.1:${receiverPort}${hook}`, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-hub-signature-256': `sha256=${createHmac('sha256', TOKEN).update(body).digest('hex')}` },
      });
      if (res.status !== 200) throw new Error(`the webhook answered ${res.status}`);
      answered.push(performance.now() - start);
      const [fetchedMs] = await Promise.all([artifactAt(sha, start), appliedAt(i, sha, 20)]);
      webhook.push(performance.now() - start);
      fetched.push(fetchedMs);
      log(`push ${p + 1}/${PUSHES}: app-${i} applied ${(webhook.at(-1)! / 1000).toFixed(2)} s after the webhook (artifact after ${(fetchedMs / 1000).toFixed(2)} s)`);
      // The other Kustomizations record the new revision too; let them settle so pushes do not overlap.
      await waitFor('all at the new revision', 10 * 60_000, async () => ((await allReady(sha)) === N ? true : undefined), 250);
    }

    await client.request({
      method: 'PATCH',
      path: `/apis/source.toolkit.fluxcd.io/v1/namespaces/${ns}/gitrepositories/apps`,
      contentType: 'application/merge-patch+json',
      body: { spec: { interval: values['poll-interval'] } },
    });
    const polling: number[] = [];
    for (let p = 0; p < POLL_PUSHES; p++) {
      const i = (p * 53 + 11) % N;
      const start = performance.now();
      const sha = await commit(cm(i, 1000 + p), `change app-${i} (polled)`);
      await appliedAt(i, sha, 100);
      polling.push(performance.now() - start);
      log(`polled push ${p + 1}/${POLL_PUSHES}: app-${i} applied ${(polling.at(-1)! / 1000).toFixed(2)} s after the push`);
      await waitFor('all at the new revision', 10 * 60_000, async () => ((await allReady(sha)) === N ? true : undefined), 250);
    }

    const row = (what: string, xs: number[]) => `| ${what} | ${xs.length} | ${(percentile(xs, 50) / 1000).toFixed(2)} s | ${(percentile(xs, 95) / 1000).toFixed(2)} s | ${(Math.min(...xs) / 1000).toFixed(2)} s | ${(Math.max(...xs) / 1000).toFixed(2)} s |`;
    process.stdout.write(
      [
        `${N} Kustomizations (one ConfigMap each) from one repository; ${cpus().length} cores shared with the control plane${process.env.SLUICE_BENCH_NOTE ? `; ${process.env.SLUICE_BENCH_NOTE}` : ''}.`,
        '',
        '| picked up by | pushes | median | p95 | min | max |',
        '| --- | ---: | ---: | ---: | ---: | ---: |',
        row('GitHub push webhook (Receiver, X-Hub-Signature-256), webhook to Ready', webhook),
        row('of which: the receiver\'s answer (signature checked, requestedAt patched)', answered),
        row('of which: webhook to the new artifact in GitRepository status', fetched),
        ...(polling.length ? [row(`polling (GitRepository interval ${values['poll-interval']}), push to Ready`, polling)] : []),
        '',
      ].join('\n'),
    );
  } finally {
    await ctl?.stop();
    await deleteNamespace(client, ns, log).catch((err) => log(`could not delete ${ns}: ${(err as Error).message}`));
    await git.close();
    await rm(root, { recursive: true, force: true });
    client.close();
  }
}

await main();
