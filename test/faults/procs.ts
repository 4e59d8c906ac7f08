// Controller processes for the fault tests: `sluice controller` children
// that a test SIGKILLs and starts again, with the processes they started
// (the helm driver) tracked so a test can see what outlives a kill.
import { readdirSync, readFileSync } from 'node:fs';
import { ControllerProcess, controllerArgs, sleep } from '../runtime/helpers.ts';
import type { TestNamespace } from '../harness.ts';
import type { KubeClient } from '../../src/kube/client.ts';
import type { KubeObject } from '../../src/kube/object.ts';
import { isNotFound } from '../../src/kube/errors.ts';

/** Pids whose parent is `pid` (from /proc). */
export function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      // The ppid is the second field after the command in parentheses.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(e));
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

/** The program name of a process. */
export function comm(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '?';
  }
}

export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

export interface FleetOptions {
  kubeconfig: string | ((name: string) => string);
  dataDir: (name: string) => string;
  extra?: string[];
  env?: NodeJS.ProcessEnv;
}

/**
 * Controllers started, killed and started again. Every process ever started
 * is kept, so `close` stops what still runs (and the helm drivers a killed
 * controller left behind) whatever happened.
 */
export class Fleet {
  readonly all: ControllerProcess[] = [];
  /** Children (helm drivers) of killed controllers, with when their parent died. */
  readonly leftBehind: Array<{ pid: number; parentKilledAt: number }> = [];
  /** Those still alive `graceMs` after their parent's SIGKILL (pid and program): they act for a controller that is gone. */
  readonly outlived: string[] = [];
  private readonly checks: Array<Promise<void>> = [];

  constructor(private readonly o: FleetOptions) {}

  start(name: string): ControllerProcess {
    const kubeconfig = typeof this.o.kubeconfig === 'string' ? this.o.kubeconfig : this.o.kubeconfig(name);
    const p = ControllerProcess.start(name, controllerArgs({ kubeconfig, dataDir: this.o.dataDir(name), extra: this.o.extra }), this.o.env);
    this.all.push(p);
    return p;
  }

  /** SIGKILL; resolves once it is gone, with the children it left running. */
  async kill(p: ControllerProcess): Promise<number[]> {
    const pid = p.child.pid!;
    const children = childPids(pid);
    p.kill('SIGKILL');
    const at = (await p.exited).at;
    const left = children.filter(alive);
    for (const c of left) this.leftBehind.push({ pid: c, parentKilledAt: at });
    if (left.length) {
      this.checks.push(
        new Promise<void>((r) => setTimeout(r, Fleet.ORPHAN_GRACE_MS)).then(() => {
          this.outlived.push(...left.filter(alive).map((pid) => `${pid} ${comm(pid)}`));
        }),
      );
    }
    return left;
  }

  /** How long a child may outlive its killed controller (it notices within a poll). */
  static readonly ORPHAN_GRACE_MS = 2_000;

  /** Waits for the pending checks of left-behind children. */
  async settled(): Promise<void> {
    await Promise.all(this.checks);
  }


  async close(): Promise<void> {
    await Promise.all(this.all.map((p) => p.stop(10_000)));
    for (const l of this.leftBehind) {
      if (alive(l.pid)) {
        try {
          process.kill(l.pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
  }
}

const FLUX_KINDS = [
  '/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/NS/kustomizations',
  '/apis/helm.toolkit.fluxcd.io/v2/namespaces/NS/helmreleases',
  '/apis/source.toolkit.fluxcd.io/v1/namespaces/NS/gitrepositories',
  '/apis/source.toolkit.fluxcd.io/v1/namespaces/NS/helmcharts',
  '/apis/source.toolkit.fluxcd.io/v1/namespaces/NS/helmrepositories',
];

/**
 * Takes the finalizers off every Flux object in `ns` when no controller is
 * left to handle them, so the namespace can be deleted.
 */
export async function dropAllFinalizers(client: KubeClient, ns: string): Promise<void> {
  for (const tpl of FLUX_KINDS) {
    const path = tpl.replace('NS', ns);
    const list = await client.getOrUndefined<{ items: KubeObject[] }>(path).catch(() => undefined);
    for (const o of list?.items ?? []) {
      if (!o.metadata.finalizers?.length) continue;
      await client
        .request({ method: 'PATCH', path: `${path}/${o.metadata.name}`, contentType: 'application/merge-patch+json', body: { metadata: { finalizers: null } } })
        .catch((err) => {
          if (!isNotFound(err)) throw err;
        });
    }
  }
}

/**
 * The first tear-down steps of a fault test, for closeAll: the test
 * namespace deleted while the last controller still runs (so it handles the
 * finalizers: Helm uninstalls, prunes), the controllers stopped, then the
 * finalizers no controller is left to handle taken off, and the namespace
 * removed. Every handle may be missing (a `before` that failed half-way).
 */
export function fleetTeardown(client: KubeClient | undefined, ns: TestNamespace | undefined, fleet: Fleet | undefined): Array<false | undefined | (() => Promise<unknown>)> {
  const last = fleet?.all.at(-1);
  return [
    client && ns && last && last.child.exitCode === null && (() => client.request({ method: 'DELETE', path: `/api/v1/namespaces/${ns.name}` }).then(() => sleep(3_000))),
    fleet && (() => fleet.close()),
    client && ns && (() => dropAllFinalizers(client, ns.name)),
    ns && (() => ns.cleanup()),
  ];
}
