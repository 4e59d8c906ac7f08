// Running the image with a real OCI runtime: pull by digest with skopeo,
// unpack with umoci into a runtime bundle, then runc runs it with what the
// installed Deployment asks for (read-only root filesystem, the image's
// non-root user, every capability dropped, no new privileges, emptyDir-like
// tmpfs mounts for /tmp and /data). crun 1.8 (Debian 12) refuses this
// machine's hybrid cgroup v1/v2 layout ("cgroups in hybrid mode not
// supported, drop all controllers from cgroupv2") before it starts anything;
// runc runs it.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run, type RunResult } from '../../src/util/exec.ts';
import { requireProgram } from '../../scripts/programs.ts';

/** Copies `ref` (REGISTRY/REPO@sha256:...) from a plain-HTTP loopback registry into an OCI layout, tagged `pulled`. */
export async function pullByDigest(ref: string, layout: string): Promise<void> {
  await run(requireProgram('skopeo'), ['copy', '--src-tls-verify=false', `docker://${ref}`, `oci:${layout}:pulled`]);
}

export interface OciProcessConfig {
  user: { uid: number; gid: number };
  args: string[];
  env: string[];
  cwd: string;
  terminal?: boolean;
  noNewPrivileges?: boolean;
  capabilities?: Record<string, string[]>;
}

export interface OciConfig {
  process: OciProcessConfig;
  root: { path: string; readonly?: boolean };
  mounts: Array<{ destination: string; type: string; source: string; options?: string[] }>;
  linux: { namespaces: Array<{ type: string }> };
}

/** Unpacks the pulled image into a runtime bundle (config.json from the image's config, rootfs/). */
export async function unpack(layout: string, bundle: string): Promise<OciConfig> {
  await run(requireProgram('umoci'), ['unpack', '--image', `${layout}:pulled`, bundle]);
  return JSON.parse(await readFile(join(bundle, 'config.json'), 'utf8')) as OciConfig;
}

/**
 * Rewrites the bundle's config as the Deployment's securityContext does, with
 * `args` after the image's entrypoint. The host's network namespace is kept,
 * so the controller reaches the local control plane and the git server on
 * loopback (a pod reaches them through cluster networking instead).
 */
export async function secureConfig(bundle: string, c: OciConfig, o: { entrypointArgs: string[]; binds: Array<{ source: string; destination: string }> }): Promise<OciConfig> {
  const entrypointLength = c.process.args.findIndex((a) => a.endsWith('sluice.mjs')) + 1;
  const out: OciConfig = {
    ...c,
    process: {
      ...c.process,
      args: [...c.process.args.slice(0, entrypointLength), ...o.entrypointArgs],
      // No terminal: the output goes to pipes, as a pod's does.
      terminal: false,
      noNewPrivileges: true,
      capabilities: { bounding: [], effective: [], inheritable: [], permitted: [], ambient: [] },
    },
    root: { ...c.root, readonly: true },
    mounts: [
      ...c.mounts,
      { destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=1777', 'size=256m'] },
      // runc gives a tmpfs the mode of the directory it covers (0755 for
      // /data), so the owner is set as the pod's fsGroup makes it writable.
      { destination: '/data', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', `uid=${c.process.user.uid}`, `gid=${c.process.user.gid}`, 'size=256m'] },
      ...o.binds.map((b) => ({ destination: b.destination, type: 'bind', source: b.source, options: ['rbind', 'ro'] })),
    ],
    linux: { ...c.linux, namespaces: c.linux.namespaces.filter((n) => n.type !== 'network') },
  };
  await writeFile(join(bundle, 'config.json'), JSON.stringify(out, null, 2));
  return out;
}

/** A container run by runc in the foreground, its JSON log lines parsed. */
export class Container {
  readonly lines: string[] = [];
  readonly logs: Array<Record<string, unknown>> = [];
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;

  constructor(
    readonly id: string,
    bundle: string,
  ) {
    this.child = spawn(requireProgram('runc'), ['run', '--bundle', bundle, id], { stdio: ['ignore', 'pipe', 'pipe'] });
    let buf = '';
    const onData = (chunk: string) => {
      buf += chunk;
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        this.lines.push(line);
        if (process.env.SLUICE_TEST_VERBOSE) process.stderr.write(`# [${id}] ${line}\n`);
        try {
          this.logs.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          // kept in lines
        }
      }
    };
    this.child.stderr!.setEncoding('utf8').on('data', onData);
    this.child.stdout!.setEncoding('utf8').on('data', onData);
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Runs a command inside the container (same user, capabilities and root). */
  exec(args: string[]): Promise<RunResult> {
    return run(requireProgram('runc'), ['exec', this.id, ...args], { check: false });
  }

  /** SIGTERM through tini, then removes the container whatever state it is in. */
  async stop(): Promise<void> {
    if (this.running()) {
      await run(requireProgram('runc'), ['kill', this.id, 'TERM'], { check: false });
      const t = setTimeout(() => void run(requireProgram('runc'), ['kill', this.id, 'KILL'], { check: false }), 40_000);
      await this.exited;
      clearTimeout(t);
    }
    await run(requireProgram('runc'), ['delete', '--force', this.id], { check: false });
  }
}
