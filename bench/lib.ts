// Shared pieces of the benchmark suite: the controller as a separate
// process (so its CPU and memory are its own), process sampling, API server
// request counters, and a loopback git repository.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeClient } from '../src/kube/client.ts';
import { mapSettled } from '../src/util/pool.ts';
import type { KubeObject } from '../src/kube/object.ts';
import { projectRoot } from '../src/util/paths.ts';
import { freePort } from '../src/dev/cluster/ports.ts';
import { BENCH_AUDIT_NAMESPACE, BENCH_AUDIT_SERVICE_ACCOUNT, BENCH_AUDITED_USER } from '../src/dev/cluster/audit.ts';

export interface ControllerProcess {
  child: ChildProcess;
  pid: number;
  httpPort: number;
  /** Where its artifacts are served and kept: a restart that reuses them finds its artifacts where status says they are. */
  storagePort: number;
  dataDir: string;
  stop(): Promise<void>;
}

/** Starts `sluice controller` as its own process, watching one namespace. */
export async function startController(
  kubeconfig: string,
  opts: { namespace?: string; concurrent?: number; extra?: string[]; receiverPort?: number; reuse?: Pick<ControllerProcess, 'storagePort' | 'dataDir'> } = {},
): Promise<ControllerProcess> {
  const httpPort = await freePort();
  const storagePort = opts.reuse?.storagePort ?? (await freePort());
  const dataDir = opts.reuse?.dataDir ?? (await mkdtemp(join(tmpdir(), 'sluice-bench-ctl-')));
  // SLUICE_BENCH_CPU_PROF=DIR writes a V8 CPU profile of the controller there.
  const prof = process.env.SLUICE_BENCH_CPU_PROF;
  // For A/B runs: SLUICE_BENCH_CLI=FILE runs another build of the CLI (a
  // script taking the CLI's arguments), SLUICE_BENCH_NODE_ARGS other V8 flags.
  const nodeArgs = process.env.SLUICE_BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? [
    // As the installed Deployment runs it (NODE_OPTIONS there): a 4 MiB young
    // generation kept steady RSS 5-25 MiB lower with no measurable CPU cost.
    '--max-semi-space-size=4',
  ];
  const args = [
    ...nodeArgs,
    ...(prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`] : []),
    process.env.SLUICE_BENCH_CLI ?? join(projectRoot, 'bin/sluice.js'),
    'controller',
    '--kubeconfig',
    kubeconfig,
    `--http-addr=127.0.0.1:${httpPort}`,
    `--storage-addr=127.0.0.1:${storagePort}`,
    `--receiverAddr=127.0.0.1:${opts.receiverPort ?? 0}`,
    `--data-dir=${dataDir}`,
    `--concurrent=${opts.concurrent ?? 32}`,
    ...(opts.namespace ? [`--watch-namespace=${opts.namespace}`] : []),
    ...(opts.extra ?? []),
  ];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, SLUICE_LOG_LEVEL: 'error' } });
  let stderr = '';
  child.stderr!.on('data', (c) => (stderr = (stderr + c).slice(-4000)));
  const deadline = Date.now() + 60_000;
  for (;;) {
    const ok = await fetch(`http://127.0.0.1:${httpPort}/readyz`).then((r) => r.ok, () => false);
    if (ok) break;
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`controller did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    child,
    pid: child.pid!,
    httpPort,
    storagePort,
    dataDir,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}

/** CPU seconds (user+system) and RSS of a process, from /proc. */
export function processStats(pid: number): { cpuSeconds: number; rssMiB: number; peakRssMiB: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { cpuSeconds: ticks / 100, rssMiB: kb('VmRSS') / 1024, peakRssMiB: kb('VmHWM') / 1024 };
}

/** Samples a process's RSS every `everyMs`, keeping the peak. */
export function sampleRss(pid: number, everyMs = 200): { stop(): { peakMiB: number; lastMiB: number } } {
  let peak = 0;
  let last = 0;
  const t = setInterval(() => {
    try {
      last = processStats(pid).rssMiB;
      peak = Math.max(peak, last);
    } catch {
      /* exited */
    }
  }, everyMs);
  return {
    stop() {
      clearInterval(t);
      return { peakMiB: Math.max(peak, processStats(pid).peakRssMiB), lastMiB: last };
    },
  };
}

/** API server request counters by verb, split into reads, dry runs and writes. */
export async function apiRequestCounts(client: KubeClient): Promise<{ reads: number; dryRuns: number; writes: number; watches: number }> {
  const text = await client.request<string>({ path: '/metrics', accept: 'text/plain' });
  const out = { reads: 0, dryRuns: 0, writes: 0, watches: 0 };
  for (const line of text.split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue;
    const labels = line.slice(line.indexOf('{') + 1, line.lastIndexOf('}'));
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    const verb = /verb="([A-Z]+)"/.exec(labels)?.[1] ?? '';
    const dry = /dry_run="([^"]*)"/.exec(labels)?.[1] ?? '';
    if (verb === 'WATCH') out.watches += value;
    else if (verb === 'GET' || verb === 'LIST') out.reads += value;
    else if (dry && dry !== 'false') out.dryRuns += value;
    else out.writes += value;
  }
  return out;
}

/**
 * A kubeconfig for the controller under test with an identity of its own
 * (a service account bound to cluster-admin), which the bench cluster's
 * audit policy logs, so that the requests Sluice sends can be counted apart
 * from every other client's.
 */
export async function auditedControllerKubeconfig(admin: KubeClient): Promise<string> {
  const ns = BENCH_AUDIT_NAMESPACE;
  const sa = BENCH_AUDIT_SERVICE_ACCOUNT;
  const ensure = (path: string, body: Record<string, unknown>) =>
    admin.request({ method: 'POST', path, body }).catch((err: { status?: number }) => {
      if (err.status !== 409) throw err;
    });
  await ensure('/api/v1/namespaces', { metadata: { name: ns } });
  await ensure(`/api/v1/namespaces/${ns}/serviceaccounts`, { metadata: { name: sa } });
  await ensure('/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
    metadata: { name: 'sluice-bench-controller' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
    subjects: [{ kind: 'ServiceAccount', name: sa, namespace: ns }],
  });
  // The baselines run as the admin, whose requests API Priority and Fairness
  // exempts; the controller's service account would otherwise share the
  // `workload-low` level's seats. Same treatment for all.
  await ensure('/apis/flowcontrol.apiserver.k8s.io/v1/flowschemas', {
    metadata: { name: 'sluice-bench-controller' },
    spec: {
      matchingPrecedence: 100,
      priorityLevelConfiguration: { name: 'exempt' },
      rules: [
        {
          subjects: [{ kind: 'ServiceAccount', serviceAccount: { name: sa, namespace: ns } }],
          resourceRules: [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'], clusterScope: true, namespaces: ['*'] }],
          nonResourceRules: [{ verbs: ['*'], nonResourceURLs: ['*'] }],
        },
      ],
    },
  });
  const tr = await admin.request<{ status: { token: string } }>({
    method: 'POST',
    path: `/api/v1/namespaces/${ns}/serviceaccounts/${sa}/token`,
    body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 24 * 3600 } },
  });
  const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-sa-'));
  const path = join(dir, 'kubeconfig');
  await writeFile(path, admin.withToken(tr.status.token).exportKubeconfig(), { mode: 0o600 });
  return path;
}

export interface AuditCounts {
  reads: number;
  dryRuns: number;
  writes: number;
  watches: number;
  /** Writes by `verb resource[/subresource]`, most first. */
  writesBy: Array<[string, number]>;
}

interface AuditEvent {
  stage: string;
  verb: string;
  requestURI: string;
  stageTimestamp: string;
  user?: { username?: string };
  objectRef?: { resource?: string; subresource?: string };
}

/**
 * Where the audit log ends now: counting from here later reads only what was
 * logged since. The log grows by about a kilobyte per request and outlives a
 * run (gigabytes after a few suites), so it is never read whole.
 */
export function auditOffset(logPath: string): number {
  try {
    return statSync(logPath).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
}

/** Calls `onLine` for each complete line of a file from byte `from`, reading 8 MiB at a time. */
function forEachLine(path: string, from: number, onLine: (line: string) => void): void {
  const fd = openSync(path, 'r');
  try {
    const chunk = Buffer.alloc(8 << 20);
    let pos = from;
    let rest = Buffer.alloc(0);
    // Starting inside a line (the writer was mid-line when the offset was
    // taken): that line's tail is not a whole record, so it is skipped.
    let skipFirst = false;
    if (from > 0) {
      const prev = Buffer.alloc(1);
      skipFirst = readSync(fd, prev, 0, 1, from - 1) === 1 && prev[0] !== 10;
    }
    for (;;) {
      const n = readSync(fd, chunk, 0, chunk.length, pos);
      if (n === 0) break;
      pos += n;
      const buf = rest.length ? Buffer.concat([rest, chunk.subarray(0, n)]) : chunk.subarray(0, n);
      let start = 0;
      for (let nl = buf.indexOf(10, start); nl !== -1; nl = buf.indexOf(10, start)) {
        if (skipFirst) skipFirst = false;
        else if (nl > start) onLine(buf.toString('utf8', start, nl));
        start = nl + 1;
      }
      rest = Buffer.from(buf.subarray(start));
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * What the audited controller sent between two instants, from the bench
 * cluster's audit log, read from `fromOffset` (see auditOffset). A log
 * rotated since (smaller than the offset) is read from its start.
 */
export function auditCounts(logPath: string, fromMs: number, toMs: number, fromOffset = 0): AuditCounts {
  const out: AuditCounts = { reads: 0, dryRuns: 0, writes: 0, watches: 0, writesBy: [] };
  const by = new Map<string, number>();
  const size = auditOffset(logPath);
  if (size === 0) throw new Error(`the audit log ${logPath} is missing or empty: is the cluster running with the bench profile?`);
  forEachLine(logPath, fromOffset <= size ? fromOffset : 0, (line) => {
    const e = JSON.parse(line) as AuditEvent;
    if (e.user?.username !== BENCH_AUDITED_USER) return;
    const t = Date.parse(e.stageTimestamp);
    if (t < fromMs || t > toMs) return;
    if (e.verb === 'watch') {
      if (e.stage === 'ResponseStarted') out.watches++;
      return;
    }
    if (e.stage !== 'ResponseComplete') return;
    if (e.verb === 'get' || e.verb === 'list') out.reads++;
    else if (/[?&]dryRun=/.test(e.requestURI)) out.dryRuns++;
    else {
      out.writes++;
      const what = `${e.verb} ${e.objectRef?.resource ?? '?'}${e.objectRef?.subresource ? `/${e.objectRef.subresource}` : ''}`;
      by.set(what, (by.get(what) ?? 0) + 1);
    }
  });
  out.writesBy = [...by.entries()].sort((a, b) => b[1] - a[1]);
  return out;
}

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

export async function waitFor<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * Deletes a namespace and waits until it is gone: the namespace controller
 * deleting thousands of objects in the background would otherwise compete
 * with the next measurement.
 */
export async function deleteNamespace(c: KubeClient, name: string, log: (m: string) => void = (m) => process.stderr.write(`# ${m}\n`)): Promise<void> {
  // The controller is stopped by now (and a thousand uninstalls through it would
  // take longer than the benchmark): its finalizers would hold the namespace forever.
  for (const path of [
    `/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/${name}/kustomizations`,
    `/apis/source.toolkit.fluxcd.io/v1/namespaces/${name}/gitrepositories`,
    `/apis/helm.toolkit.fluxcd.io/v2/namespaces/${name}/helmreleases`,
    `/apis/source.toolkit.fluxcd.io/v1/namespaces/${name}/helmcharts`,
    `/apis/source.toolkit.fluxcd.io/v1/namespaces/${name}/helmrepositories`,
  ]) {
    const list = await c.request<{ items: KubeObject[] }>({ path }).catch(() => ({ items: [] as KubeObject[] }));
    await mapSettled(list.items.filter((o) => o.metadata.finalizers?.length), 32, (o) =>
      c.request({ method: 'PATCH', path: `${path}/${o.metadata.name}`, contentType: 'application/merge-patch+json', body: { metadata: { finalizers: null } } }),
    );
  }
  await c.request({ method: 'DELETE', path: `/api/v1/namespaces/${name}` }).catch(() => undefined);
  await waitFor(`namespace ${name} deleted`, 15 * 60_000, async () => ((await c.getOrUndefined(`/api/v1/namespaces/${name}`)) ? undefined : true), 1_000).catch((err: Error) =>
    log(err.message),
  );
}
