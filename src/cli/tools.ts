import { ensureClusterBinary } from '../dev/cluster/build.ts';
import { ensureHelm, ensureKustomize, ensureSops } from '../tools/gotool.ts';
import { ensureHelmDriver, ensureOciRegistry, ensureS3Server } from '../tools/localgo.ts';

const usage = `usage: sluice tools install
Builds the pinned Go binaries Sluice uses (the local control plane, kustomize,
helm, sops, the Helm SDK driver, and the test OCI registry and S3 server) into
~/.cache/sluice, keyed by version; a binary already built is kept. No flags.

examples:
  sluice tools install
`;

/** Builds every Go-built binary ahead of time, so the first test or demo does not wait for it. */
export async function toolsCommand(args: string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(usage);
    return 0;
  }
  if (args[0] !== 'install' || args.length > 1) {
    process.stderr.write(usage);
    return 2;
  }
  const log = (m: string) => process.stderr.write(`${m}\n`);
  const started = Date.now();
  const paths: Record<string, string> = {
    'sluice-kube': await ensureClusterBinary(log),
    kustomize: await ensureKustomize({ log }),
    helm: await ensureHelm({ log }),
    sops: await ensureSops({ log }),
    'helm-driver': await ensureHelmDriver({ log }),
    'oci-registry': await ensureOciRegistry({ log }),
    's3-server': await ensureS3Server({ log }),
  };
  for (const [name, path] of Object.entries(paths)) process.stdout.write(`${name.padEnd(12)} ${path}\n`);
  process.stderr.write(`tools ready in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
  return 0;
}
