// Benchmark: what a GitRepository poll costs against a repository with a long
// history. Builds a bare repository with 5,000 commits (git fast-import),
// serves it over smart HTTP (git http-backend) while counting bytes at the
// server, and measures the cold first reconcile, an unchanged poll and a
// one-commit change, next to a plain `git clone` for scale.
//
//   node --import tsx bench/git-poll.ts [--commits N] [--rounds N]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MirrorCache } from '../src/source/git/mirror.ts';
import { reconcileGitRepository } from '../src/source/git/reconcile.ts';
import { Storage } from '../src/source/storage/storage.ts';
import type { GitRepository } from '../src/source/git/types.ts';
import { run } from '../src/util/exec.ts';
import { git, startGitHttpServer, type GitHttpServer } from '../test/gitserver/index.ts';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}

const COMMITS = arg('commits', 5000);
const ROUNDS = arg('rounds', 5);
const FILES = 200;

let markCounter = 0;
let clock = 1_700_000_000;

/** A fast-import stream of `n` commits on main, each changing one of FILES files. */
function history(n: number, first: boolean): string {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const mark = ++markCounter;
    const file = `app/dir${mark % 20}/file${mark % FILES}.yaml`;
    const body = `# change ${mark}\nname: file${mark % FILES}\nreplicas: ${mark % 7}\n${'data: x\n'.repeat(20)}`;
    const msg = `change ${mark}`;
    clock += 60;
    out.push(
      'commit refs/heads/main',
      `mark :${mark}`,
      `author Bench <bench@example.com> ${clock} +0000`,
      `committer Bench <bench@example.com> ${clock} +0000`,
      `data ${Buffer.byteLength(msg)}`,
      msg,
    );
    if (i === 0 && !first) out.push('from refs/heads/main^0');
    out.push(`M 100644 inline ${file}`, `data ${Buffer.byteLength(body)}`, body, '');
  }
  return out.join('\n') + '\n';
}

async function addCommits(bare: string, n: number, first = false): Promise<void> {
  await run('git', ['--git-dir', bare, 'fast-import', '--quiet'], { input: history(n, first), env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null' } });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

interface Row {
  what: string;
  ms: number;
  requests: number;
  bytesOut: number;
  bytesIn: number;
}

async function measure(srv: GitHttpServer, what: string, fn: () => Promise<unknown>): Promise<Row> {
  srv.resetStats();
  const t0 = performance.now();
  await fn();
  const ms = performance.now() - t0;
  const t = srv.totals();
  return { what, ms, requests: t.requests, bytesOut: t.bytesOut, bytesIn: t.bytesIn };
}

function fmtBytes(n: number): string {
  if (n < 10_000) return `${n} B`;
  if (n < 10_000_000) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

async function main(): Promise<void> {
  const tmp = await mkdtemp(join(tmpdir(), 'sluice-bench-'));
  const root = join(tmp, 'repos');
  const bare = join(root, 'history.git');
  try {
    const tBuild = performance.now();
    await git(['init', '--quiet', '--bare', '--initial-branch=main', bare]);
    await addCommits(bare, COMMITS, true);
    await git(['--git-dir', bare, 'gc', '--quiet']);
    const buildMs = performance.now() - tBuild;
    const size = (await run('du', ['-sb', bare])).stdout.split('\t')[0];

    const srv = await startGitHttpServer({ root });
    const storage = new Storage({ root: join(tmp, 'storage') });
    const mirrors = new MirrorCache(join(tmp, 'mirrors'));
    const deps = {
      getSecret: async () => undefined,
      getIncludedArtifact: async () => undefined,
      mirrors,
      storage,
    };
    const obj: GitRepository = {
      apiVersion: 'source.toolkit.fluxcd.io/v1',
      kind: 'GitRepository',
      metadata: { name: 'bench', namespace: 'default', generation: 1 },
      spec: { url: srv.url('history'), interval: '1m', ref: { branch: 'main' } },
    };
    const poll = async () => {
      const res = await reconcileGitRepository(obj, deps);
      if (res.outcome === 'failed' || res.outcome === 'stalled') throw new Error(JSON.stringify(res.status.conditions));
      obj.status = res.status;
      return res;
    };

    const rows: Row[] = [];
    rows.push(await measure(srv, 'first reconcile (empty mirror: shallow fetch, checkout, artifact)', poll));
    const unchanged: Row[] = [];
    for (let i = 0; i < ROUNDS; i++) unchanged.push(await measure(srv, 'unchanged', poll));
    const changed: Row[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      await addCommits(bare, 1);
      changed.push(await measure(srv, 'changed', poll));
    }
    const med = (label: string, rs: Row[]): Row => ({
      what: label,
      ms: median(rs.map((r) => r.ms)),
      requests: median(rs.map((r) => r.requests)),
      bytesOut: median(rs.map((r) => r.bytesOut)),
      bytesIn: median(rs.map((r) => r.bytesIn)),
    });
    rows.push(med(`unchanged poll (median of ${ROUNDS})`, unchanged));
    rows.push(med(`one-commit change (median of ${ROUNDS})`, changed));

    // For scale: what a fresh clone per interval would move.
    const cloneDir = join(tmp, 'clones');
    rows.push(
      await measure(srv, 'for scale: fresh `git clone --depth=1`', () =>
        git(['clone', '--quiet', '--depth=1', '--branch', 'main', srv.url('history'), join(cloneDir, 'shallow')]),
      ),
    );
    rows.push(
      await measure(srv, 'for scale: fresh full `git clone`', () =>
        git(['clone', '--quiet', '--bare', srv.url('history'), join(cloneDir, 'full')]),
      ),
    );
    await srv.close();

    const lines = [
      `Repository: ${COMMITS} commits over ${FILES} files, ${fmtBytes(Number(size))} packed (built in ${(buildMs / 1000).toFixed(1)} s). Bytes counted at the HTTP server (request and response bodies).`,
      '',
      '| operation | time | requests | bytes to client | bytes to server |',
      '| --- | ---: | ---: | ---: | ---: |',
      ...rows.map((r) => `| ${r.what} | ${r.ms.toFixed(0)} ms | ${r.requests} | ${fmtBytes(r.bytesOut)} | ${fmtBytes(r.bytesIn)} |`),
      '',
      `Mirror counters: ${JSON.stringify(mirrors.stats)}`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

await main();
