import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { parseArgs } from 'node:util';
import { KubeClient } from '../kube/client.ts';
import { upCluster } from '../dev/cluster/up.ts';
import { kubeconfigPath } from '../dev/cluster/state.ts';
import { runDemo } from '../dev/demo/run.ts';

const usage = `usage: sluice demo [--watch] [--yes] [--local]
With no cluster configured, brings up the local control plane and runs the
GitOps demo on it. With KUBECONFIG (or ~/.kube/config) pointing at a cluster,
asks before installing anything there.
  --watch   keep the controller running after the demo
  --yes     do not ask before using the configured cluster
  --local   ignore any configured cluster and use the local control plane

examples:
  sluice demo --local
  sluice demo --watch
`;

/** `npm start`. */
export async function demoCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      watch: { type: 'boolean', default: false },
      yes: { type: 'boolean', default: false },
      local: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(usage);
    return 0;
  }
  const configured = values.local ? undefined : configuredKubeconfig();
  let kubeconfig: string;
  if (configured) {
    const server = await reachable(configured);
    if (!server) {
      process.stderr.write(`the cluster in ${configured} does not answer; using the local control plane instead\n`);
      kubeconfig = await local();
    } else if (values.yes || (await confirm(`Install Sluice and the demo into the cluster at ${server} (from ${configured})? [y/N] `))) {
      kubeconfig = configured;
    } else {
      process.stderr.write('left the configured cluster alone; run with --local to use the local control plane\n');
      return 1;
    }
  } else {
    kubeconfig = await local();
  }
  await runDemo({ kubeconfig, keepRunning: values.watch });
  return 0;
}

/** A kubeconfig the user set up, other than the local control plane's own. */
function configuredKubeconfig(): string | undefined {
  const env = process.env.KUBECONFIG?.split(':').find((p) => p && existsSync(p));
  const candidate = env ?? (existsSync(join(homedir(), '.kube', 'config')) ? join(homedir(), '.kube', 'config') : undefined);
  if (!candidate || resolve(candidate) === resolve(kubeconfigPath())) return undefined;
  return candidate;
}

async function reachable(kubeconfig: string): Promise<string | undefined> {
  try {
    const client = await KubeClient.fromFile(kubeconfig, undefined, { timeoutMs: 5_000 });
    try {
      await client.request({ path: '/version' });
      return client.server;
    } finally {
      client.close();
    }
  } catch {
    return undefined;
  }
}

async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) {
    process.stderr.write(`${question}\nno terminal to ask on: pass --yes to use that cluster, or --local\n`);
    return false;
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

async function local(): Promise<string> {
  const res = await upCluster({ log: (m) => process.stderr.write(`${m}\n`) });
  process.stdout.write(
    `• local Kubernetes ready at ${res.server}${res.reused ? ' (already running)' : ` (started in ${res.startSeconds.toFixed(1)} s)`}\n`,
  );
  return res.kubeconfig;
}
