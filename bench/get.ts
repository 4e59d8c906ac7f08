// Benchmark: `sluice get ks` over 10,000 Kustomizations, each with a Ready
// condition and a revision in its status, against `kubectl get
// kustomizations` (and the real `flux get ks` when its binary is built, see
// test/cli/fluxcli.ts). Every command runs as a fresh process, as a person
// would type it; the times are wall clock from start to exit, medians of the
// runs. The objects go into a namespace of their own, deleted at the end
// (with the finalizers a controller watching every namespace may have added).
//
//   node --import tsx bench/get.ts [--objects 10000] [--runs 5] [--kubeconfig F] [--keep] [--namespace NS] [--baseline BIN]
//
// --keep leaves the namespace; --namespace measures one that --keep left (no
// creation); --baseline runs another build's bin/sluice.js side by side
// (e.g. the main checkout's, for before and after in the same run).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ResourceManager } from '../src/apply/manager.ts';
import { allCrds } from '../src/api/crds.ts';
import { kubeconfigPath } from '../src/dev/cluster/state.ts';
import { KubeClient } from '../src/kube/client.ts';
import type { KubeObject } from '../src/kube/object.ts';
import { cacheHome } from '../src/util/paths.ts';
import { mapSettled } from '../src/util/pool.ts';
import { deleteNamespace, median } from './lib.ts';

const { values } = parseArgs({
  options: {
    objects: { type: 'string', default: '10000' },
    runs: { type: 'string', default: '5' },
    kubeconfig: { type: 'string' },
    keep: { type: 'boolean', default: false },
    namespace: { type: 'string' },
    baseline: { type: 'string' },
  },
});
const N = Number(values.objects);
const RUNS = Number(values.runs);
const kubeconfig = values.kubeconfig ?? process.env.KUBECONFIG ?? kubeconfigPath();
const log = (m: string) => process.stderr.write(`# ${m}\n`);
const KS = 'kustomize.toolkit.fluxcd.io/v1';
const REV = 'main@sha1:0123456789abcdef0123456789abcdef01234567';

const client = await KubeClient.fromFile(kubeconfig, undefined, { qps: 500, burst: 1000 });
const ns = values.namespace ?? `bench-get-${Date.now().toString(36)}`;
try {
  if (!values.namespace) await create();

  const bin = fileURLToPath(new URL('../bin/sluice.js', import.meta.url));
  const flux = join(cacheHome(), 'tools', 'flux-v2.9.3', 'flux');
  const contenders: Array<[string, string, string[]]> = [
    ['sluice get ks -A', process.execPath, [bin, 'get', 'ks', '-A']],
    ['sluice get ks -n NS', process.execPath, [bin, 'get', 'ks', '-n', ns]],
    ['sluice get ks -A -o json', process.execPath, [bin, 'get', 'ks', '-A', '-o', 'json']],
    ...(values.baseline ? [['sluice get ks -A, baseline build', process.execPath, [values.baseline, 'get', 'ks', '-A']] as [string, string, string[]]] : []),
    ['kubectl get kustomizations -A', 'kubectl', ['get', 'kustomizations.kustomize.toolkit.fluxcd.io', '-A']],
    ['kubectl get kustomizations -A -o json', 'kubectl', ['get', 'kustomizations.kustomize.toolkit.fluxcd.io', '-A', '-o', 'json']],
    ['node -e "" (the floor: a Node process start)', process.execPath, ['-e', '']],
  ];
  if (existsSync(flux)) contenders.push(['flux get ks -A', flux, ['get', 'ks', '-A']]);
  else log(`no flux binary at ${flux} (built by test/cli/flux.test.ts): flux get not measured`);
  const env = { ...process.env, KUBECONFIG: kubeconfig };
  // Runs interleaved (each contender once per round), so a change in the machine's load falls on all alike.
  for (const [, cmd, args] of contenders) spawnSync(cmd, args, { env, stdio: 'ignore' }); // warm-up: the bundle, kubectl's discovery cache
  const times = contenders.map(() => [] as number[]);
  const lines = contenders.map(() => 0);
  for (let r = 0; r < RUNS; r++) {
    for (const [i, [what, cmd, args]] of contenders.entries()) {
      const t = process.hrtime.bigint();
      const res = spawnSync(cmd, args, { env, maxBuffer: 1 << 30, encoding: 'utf8' });
      times[i]!.push(Number(process.hrtime.bigint() - t) / 1e6);
      if (res.status !== 0) throw new Error(`${what} failed: ${res.stderr}`);
      lines[i] = res.stdout.split('\n').length - 1;
    }
    log(`round ${r + 1} of ${RUNS} done`);
  }
  const rows = contenders.map(([what], i) => `| ${what} | ${(median(times[i]!) / 1000).toFixed(2)} s | ${(Math.min(...times[i]!) / 1000).toFixed(2)} s | ${lines[i]} |`);
  process.stdout.write(`\n| ${N} Kustomizations | median of ${RUNS} | fastest | output lines |\n| --- | --- | --- | --- |\n${rows.join('\n')}\n`);
} finally {
  client.close();
  if (!values.keep) {
    // A new client: the old one's keep-alive connection sat idle through the measurements and may be gone.
    const cleanup = await KubeClient.fromFile(kubeconfig);
    await deleteNamespace(cleanup, ns, log).catch((err: unknown) => log(`could not delete ${ns}: ${(err as Error).message}`));
    cleanup.close();
  } else log(`kept namespace ${ns}`);
}

async function create(): Promise<void> {
  await new ResourceManager(client).apply(allCrds() as KubeObject[]);
  await client.request({ method: 'POST', path: '/api/v1/namespaces', body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } } });
  const started = Date.now();
  const names = Array.from({ length: N }, (_, i) => `app-${String(i).padStart(5, '0')}`);
  await mapSettled(names, 32, async (name, i) => {
    const path = `/apis/${KS}/namespaces/${ns}/kustomizations`;
    await client.request({
      method: 'POST',
      path,
      body: { apiVersion: KS, kind: 'Kustomization', metadata: { name }, spec: { interval: '10m', path: `./apps/${name}`, prune: true, sourceRef: { kind: 'GitRepository', name: 'flux-system' } } },
    });
    const ok = i % 10 !== 0;
    await client.request({
      method: 'PATCH',
      path: `${path}/${name}/status`,
      contentType: 'application/merge-patch+json',
      body: {
        status: {
          observedGeneration: 1,
          lastAppliedRevision: REV,
          conditions: [{ type: 'Ready', status: ok ? 'True' : 'False', reason: ok ? 'ReconciliationSucceeded' : 'HealthCheckFailed', message: ok ? `Applied revision: ${REV}` : 'timeout waiting for: [Deployment/apps/web status: InProgress]', lastTransitionTime: new Date().toISOString(), observedGeneration: 1 }],
        },
      },
    });
  });

  log(`created ${N} Kustomizations with status in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
