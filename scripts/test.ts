// The test runner behind `npm test`.
//
// Which files: unit tests are src/**/*.test.ts (beside the code), the rest
// are test/**/*.test.ts. A test/ file that runs real processes but needs no
// cluster says so with a line of its own, after its imports:
//
//   // test: no cluster
//
// Every other test/ file is an integration test. `npm test -- FILE|DIR...`
// runs only those. Order: unit, then no-cluster, then integration.
//
// Before anything runs, the programs the picked files need (sshd, git, gpg,
// openssl, go, ... see scripts/programs.ts) are checked; a missing one stops
// the run with the command that installs it. Then the local control plane is
// brought up (or reused) if an integration file is picked, and stopped at the
// end if it was started here (unless SLUICE_KEEP_CLUSTER is set).
//
// Each file runs in a `node --test` process of its own, in its own process
// group, as many at a time as `node --test` itself would run
// (availableParallelism() - 1, at least 1; SLUICE_TEST_CONCURRENCY overrides).
// A file still running after SLUICE_TEST_FILE_TIMEOUT (a Go duration,
// default 15m) is killed with everything it started, and counted as failed.
// The output ends with the summary of the whole run in node:test's TAP
// form (# tests, # pass, # fail, ...); the exit code is 1 when any file failed.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { upCluster } from '../src/dev/cluster/up.ts';
import { stopCluster } from '../src/dev/cluster/down.ts';
import { formatDuration, parseDuration } from '../src/util/duration.ts';
import { findProgram, missingProgramsMessage, programsFor } from './programs.ts';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const NO_CLUSTER = /^\/\/ test: no cluster\s*$/m;

type Kind = 'unit' | 'process' | 'integration';
const ORDER: Kind[] = ['unit', 'process', 'integration'];

interface TestFile {
  path: string; // relative to the project root
  kind: Kind;
}

const log = (m: string) => process.stdout.write(`# ${m}\n`);

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    if (e.name === 'node_modules' || e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(p)));
    else if (e.isFile() && e.name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

async function classify(abs: string): Promise<TestFile> {
  const path = relative(root, abs).split(sep).join('/');
  if (path.startsWith('src/')) return { path, kind: 'unit' };
  if (!path.startsWith('test/')) throw new Error(`${path}: test files live in src/ (unit) or test/`);
  return { path, kind: NO_CLUSTER.test(await readFile(abs, 'utf8')) ? 'process' : 'integration' };
}

async function pick(args: string[]): Promise<TestFile[]> {
  let abs: string[];
  if (args.length === 0) abs = [...(await walk(join(root, 'src'))), ...(await walk(join(root, 'test')))].sort();
  else {
    abs = [];
    for (const a of args) {
      const p = resolve(a);
      const st = await stat(p).catch(() => undefined);
      if (!st) throw new Error(`no such test file: ${a}`);
      abs.push(...(st.isDirectory() ? (await walk(p)).sort() : [p]));
    }
  }
  const files = await Promise.all([...new Set(abs)].map(classify));
  return ORDER.flatMap((k) => files.filter((f) => f.kind === k));
}

// ---- running files ----

const COUNTS = ['tests', 'suites', 'pass', 'fail', 'cancelled', 'skipped', 'todo'] as const;
type Counts = Record<(typeof COUNTS)[number], number>;

interface Result {
  file: TestFile;
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  ms: number;
  counts?: Counts;
}

/** The top-level summary of a TAP stream (the last unindented `# tests N` ... lines). */
function parseSummary(tap: string): Counts | undefined {
  const counts: Partial<Counts> = {};
  for (const k of COUNTS) {
    const all = [...tap.matchAll(new RegExp(`^# ${k} (\\d+)$`, 'gm'))];
    if (all.length) counts[k] = Number(all[all.length - 1]![1]);
  }
  return counts.tests === undefined ? undefined : ({ suites: 0, cancelled: 0, skipped: 0, todo: 0, pass: 0, fail: 0, ...counts } as Counts);
}

const running = new Set<ChildProcess>();

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    child.kill(signal);
  }
}

async function runFile(file: TestFile, env: NodeJS.ProcessEnv, opts: { timeoutMs: number; stream: boolean; tapDir: string; n: number }): Promise<Result> {
  const tapFile = join(opts.tapDir, `${opts.n}.tap`);
  const reporter = process.stdout.isTTY ? 'spec' : 'tap';
  const args = [
    '--import', 'tsx', '--test',
    `--test-reporter=${reporter}`, '--test-reporter-destination=stdout',
    '--test-reporter=tap', `--test-reporter-destination=${tapFile}`,
    file.path,
  ];
  const started = Date.now();
  // A process group of its own: a timeout kills the file with whatever it started.
  const child = spawn(process.execPath, args, { cwd: root, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  const chunks: Buffer[] = [];
  const out = (c: Buffer, to: NodeJS.WriteStream) => (opts.stream ? to.write(c) : chunks.push(c));
  child.stdout!.on('data', (c: Buffer) => out(c, process.stdout));
  child.stderr!.on('data', (c: Buffer) => out(c, process.stderr));
  if (!opts.stream) log(`started ${file.path}`);
  let timedOut = false;
  let killer: NodeJS.Timeout | undefined;
  const timer = setTimeout(() => {
    timedOut = true;
    process.stderr.write(`# ${file.path}: still running after ${formatDuration(opts.timeoutMs)}, killing it\n`);
    killGroup(child, 'SIGTERM');
    killer = setTimeout(() => killGroup(child, 'SIGKILL'), 10_000);
  }, opts.timeoutMs);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((r) => child.once('close', (c, s) => r([c, s])));
  clearTimeout(timer);
  clearTimeout(killer);
  running.delete(child);
  // Whatever it left behind in its group (a server a failed `before` did not close).
  if (timedOut) killGroup(child, 'SIGKILL');
  const ms = Date.now() - started;
  if (!opts.stream) {
    log(`output of ${file.path}:`);
    process.stdout.write(Buffer.concat(chunks));
  }
  const counts = parseSummary(await readFile(tapFile, 'utf8').catch(() => ''));
  const res: Result = { file, code, signal, timedOut, ms, counts };
  log(`${failed(res) ? 'FAILED' : 'ok'} ${file.path} (${describe(res)})`);
  return res;
}

const failed = (r: Result) => r.timedOut || r.code !== 0;

function describe(r: Result): string {
  const secs = `${(r.ms / 1000).toFixed(1)} s`;
  if (r.timedOut) return `timed out, killed after ${secs}`;
  const c = r.counts ? `${r.counts.pass}/${r.counts.tests} passed` : 'no summary';
  if (r.code !== 0) return `exit ${r.code ?? r.signal}, ${c}, ${secs}`;
  return `${c}, ${secs}`;
}

async function runAll(files: TestFile[], env: NodeJS.ProcessEnv, concurrency: number, timeoutMs: number): Promise<Result[]> {
  const tapDir = await mkdtemp(join(tmpdir(), 'sluice-test-run-'));
  const results: Result[] = [];
  let next = 0;
  const worker = async () => {
    while (next < files.length) {
      const n = next++;
      results[n] = await runFile(files[n]!, env, { timeoutMs, stream: concurrency === 1, tapDir, n });
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, files.length) }, worker));
  } finally {
    await rm(tapDir, { recursive: true, force: true });
  }
  return results;
}

function summarize(results: Result[], ms: number): boolean {
  const total: Counts = { tests: 0, suites: 0, pass: 0, fail: 0, cancelled: 0, skipped: 0, todo: 0 };
  for (const r of results) {
    for (const k of COUNTS) total[k] += r.counts?.[k] ?? 0;
    // A file that failed without a failing test of its own (killed, crashed,
    // a failed `before` that cancelled its tests) still counts as one failure.
    if (failed(r) && !r.counts?.fail) total.fail++;
  }
  const bad = results.filter(failed);
  log(`files ${results.length}, failed ${bad.length}`);
  for (const r of bad) log(`failed: ${r.file.path} (${describe(r)})`);
  for (const k of COUNTS) log(`${k} ${total[k]}`);
  log(`duration_ms ${ms}`);
  return bad.length === 0;
}

// ---- main ----

function envNumber(name: string, dflt: number): number {
  const v = process.env[name];
  if (!v) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name}=${v}: want a whole number >= 1`);
  return n;
}

async function main(): Promise<number> {
  const started = Date.now();
  const files = await pick(process.argv.slice(2));
  if (files.length === 0) {
    log('no test files');
    return 1;
  }
  const needsCluster = files.some((f) => f.kind === 'integration');
  const concurrency = envNumber('SLUICE_TEST_CONCURRENCY', Math.max(availableParallelism() - 1, 1));
  const timeoutMs = parseDuration(process.env.SLUICE_TEST_FILE_TIMEOUT || '15m');

  const testRoot = join(root, 'test');
  const needs = new Map<string, string[]>();
  for (const f of files) {
    for (const p of programsFor(join(root, f.path), { cluster: f.kind === 'integration', testRoot })) {
      needs.set(p, [...(needs.get(p) ?? []), f.path]);
    }
  }
  const missing = [...needs.keys()].filter((p) => !findProgram(p));
  if (missing.length) {
    process.stderr.write(`\n${missingProgramsMessage(missing)}\n\n`);
    for (const p of missing) {
      const users = needs.get(p)!;
      process.stderr.write(`${p} is needed by ${users.slice(0, 3).join(', ')}${users.length > 3 ? ` and ${users.length - 3} more` : ''}\n`);
    }
    return 1;
  }
  const counts = ORDER.map((k) => `${files.filter((f) => f.kind === k).length} ${k}`).join(', ');
  log(`${files.length} test files (${counts}), ${concurrency} at a time, at most ${formatDuration(timeoutMs)} each`);

  let startedHere = false;
  const env = { ...process.env };
  if (needsCluster) {
    const res = await upCluster({ log: (m) => process.stderr.write(`# ${m}\n`) });
    startedHere = !res.reused;
    env.SLUICE_TEST_KUBECONFIG = res.kubeconfig;
    process.stderr.write(`# cluster ${res.reused ? 'reused' : `started in ${res.startSeconds.toFixed(1)} s`} at ${res.server}\n`);
  }
  try {
    const results = await runAll(files, env, concurrency, timeoutMs);
    return summarize(results, Date.now() - started) ? 0 : 1;
  } finally {
    if (startedHere && !process.env.SLUICE_KEEP_CLUSTER) await stopCluster();
  }
}

// Ctrl-C and a CI's SIGTERM reach the test files too: they run in process groups of their own.
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    for (const c of running) killGroup(c, 'SIGTERM');
    setTimeout(() => {
      for (const c of running) killGroup(c, 'SIGKILL');
      process.exit(130);
    }, 5_000).unref();
    if (running.size === 0) process.exit(130);
  });
}

process.exitCode = await main().catch((err: Error) => {
  process.stderr.write(`${err.message}\n`);
  return 1;
});
