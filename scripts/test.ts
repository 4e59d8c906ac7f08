// The test runner behind `npm test`: brings the local control plane up once
// (or reuses a running one), runs every test file with node:test, and stops
// the cluster again if it started it.
import { spawn } from 'node:child_process';
import { upCluster } from '../src/dev/cluster/up.ts';
import { stopCluster } from '../src/dev/cluster/down.ts';

// node --test on Node 20 does not expand globs or pick up .ts files by
// itself, so every test file is listed here.
const unitTests: string[] = [
  'src/kube/ratelimit.test.ts',
  'src/kube/client.test.ts',
  'src/kube/discovery.test.ts',
  'src/kube/kubeconfig.test.ts',
  'src/dev/cluster/flags.test.ts',
  'src/health/health.test.ts',
  'src/util/duration.test.ts',
  'src/util/heap.test.ts',
  'src/apply/diff.test.ts',
  'src/apply/memo.test.ts',
  'src/runtime/queue.test.ts',
  'src/controllers/kustomization/buildcache.test.ts',
  'src/runtime/status.test.ts',
  'src/runtime/metrics.test.ts',
  'src/source/treediff.test.ts',
  'src/source/git/incremental.test.ts',
  'src/render/yaml.test.ts',
  'src/render/manifests.test.ts',
  'src/render/envsubst.test.ts',
  'src/render/substitute.test.ts',
  'src/render/transform.test.ts',
  'src/render/index.test.ts',
  'src/tools/gotool.test.ts',
  'src/helm/helm.test.ts',
  'src/controllers/helmrelease/object.test.ts',
  'src/controllers/helmrelease/policy.test.ts',
  'src/source/helm/repository.test.ts',
  'src/source/helm/ociref.test.ts',
  'src/source/helm/pull.test.ts',
  'src/source/oci/oci.test.ts',
];

// Tests with real processes (git servers, sshd, kustomize) that need no cluster.
const processTests: string[] = [
  'test/source/units.test.ts',
  'test/source/refs.test.ts',
  'test/source/auth.test.ts',
  'test/source/verify.test.ts',
  'test/source/artifact.test.ts',
  'test/source/incremental.test.ts',
  'test/render/kustomize.test.ts',
  'test/runtime/queue-load.test.ts',
  'test/helm/driver.test.ts',
];

const integrationTests: string[] = [
  'test/cluster.smoke.test.ts',
  'test/apply.test.ts',
  'test/prune-wait.test.ts',
  'test/cli-apply.test.ts',
  'test/operator.e2e.test.ts',
  'test/kustomization/kustomization.test.ts',
  'test/kustomization/steady.test.ts',
  'test/kustomization/oci.test.ts',
  'test/kustomization/changed-first.test.ts',
  'test/kustomization/incremental-artifact.test.ts',
  'test/kustomization/sops.test.ts',
  'test/kustomization/remote.test.ts',
  'test/runtime/watch.test.ts',
  'test/runtime/leader.test.ts',
  'test/runtime/controller.test.ts',
  'test/runtime/install.test.ts',
  'test/helm/release.test.ts',
  'test/helm/remediation.test.ts',
  'test/helm/badinput.test.ts',
  'test/helm/bevel.test.ts',
  'test/helm/oci.test.ts',
  'test/helm/dependson.test.ts',
  'test/helm/strategy.test.ts',
  'test/helm/access.test.ts',
  'test/helm/storagenamespace.test.ts',
  'test/helm/remote.test.ts',
];

async function main(): Promise<number> {
  const picked = process.argv.slice(2);
  const files = picked.length ? picked : [...unitTests, ...processTests, ...integrationTests];
  const needsCluster = files.some((f) => integrationTests.includes(f) || (f.startsWith('test/') && !processTests.includes(f)));

  let startedHere = false;
  const env = { ...process.env };
  if (needsCluster) {
    const res = await upCluster({ log: (m) => process.stderr.write(`# ${m}\n`) });
    startedHere = !res.reused;
    env.SLUICE_TEST_KUBECONFIG = res.kubeconfig;
    process.stderr.write(
      `# cluster ${res.reused ? 'reused' : `started in ${res.startSeconds.toFixed(1)} s`} at ${res.server}\n`,
    );
  }
  const code = await new Promise<number>((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--test', ...files], { stdio: 'inherit', env });
    child.once('close', (c) => resolve(c ?? 1));
  });
  if (startedHere && !process.env.SLUICE_KEEP_CLUSTER) await stopCluster();
  return code;
}

process.exitCode = await main();
