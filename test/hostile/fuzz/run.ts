// Runs the fuzz targets (targets.ts) for a time each, with V8's precise
// block coverage of the files each one exercises, and writes any crash to
// test/hostile/fuzz/crashes/ (fast-check shrinks it to a small input first).
import { Session } from 'node:inspector/promises';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import type { FuzzTarget } from './targets.ts';
import { projectRoot } from '../../../src/util/paths.ts';

export interface FuzzResult {
  target: string;
  execs: number;
  seconds: number;
  /** Share of the target files' code (bytes of V8 block ranges) that ran at least once. */
  coverage: number;
  /** The shrunk input and error of a crash, if any. */
  crash?: { input: string; error: string; file: string };
}

type Coverage = { result: Array<{ url: string; functions: Array<{ ranges: Array<{ startOffset: number; endOffset: number; count: number }> }> }> };

/** Bytes covered / bytes in the script, from V8's nested block ranges (inner ranges come after outer ones and override them). */
function byteCoverage(cov: Coverage, file: string): { covered: number; total: number } | undefined {
  const script = cov.result.find((s) => s.url.endsWith(`/${file}`));
  if (!script) return undefined;
  const end = Math.max(...script.functions.flatMap((f) => f.ranges.map((r) => r.endOffset)));
  const hit = new Uint8Array(end);
  for (const f of script.functions) for (const r of f.ranges) hit.fill(r.count > 0 ? 1 : 0, r.startOffset, r.endOffset);
  let covered = 0;
  for (const b of hit) covered += b;
  return { covered, total: end };
}

function describe(v: unknown): string {
  if (Buffer.isBuffer(v)) return `base64:${v.toString('base64')}`;
  return JSON.stringify(v);
}

/**
 * Fuzzes each target for `seconds`. Call before anything imports the code
 * under test, so that coverage sees it compiled (targets are imported here).
 */
export async function fuzzAll(o: { seconds: number; seed?: number; only?: string[]; perExecTimeoutMs?: number }): Promise<FuzzResult[]> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.startPreciseCoverage', { callCount: true, detailed: true });
  const { TARGETS, cleanupTargets } = await import('./targets.ts');
  const results: FuzzResult[] = [];
  const timeout = o.perExecTimeoutMs ?? 5_000;
  try {
    for (const target of TARGETS as Array<FuzzTarget<unknown>>) {
      if (o.only?.length && !o.only.includes(target.name)) continue;
      let execs = 0;
      const check = async (input: unknown) => {
        execs++;
        const start = performance.now();
        try {
          await target.run(input);
        } catch (err) {
          if (!target.expected(err)) throw err;
        }
        const ms = performance.now() - start;
        // A parser that takes seconds on a short input is a denial of service.
        if (ms > timeout) throw new Error(`one input took ${Math.round(ms)} ms (over ${timeout} ms)`);
      };
      const started = performance.now();
      const res = await fc.check(fc.asyncProperty(target.input, check), {
        numRuns: Number.MAX_SAFE_INTEGER,
        interruptAfterTimeLimit: o.seconds * 1000,
        markInterruptAsFailure: false,
        seed: o.seed,
      });
      const seconds = (performance.now() - started) / 1000;
      const cov = (await session.post("Profiler.takePreciseCoverage")) as unknown as Coverage;
      let covered = 0;
      let total = 0;
      for (const f of target.files) {
        const c = byteCoverage(cov, f);
        if (c) ({ covered, total } = { covered: covered + c.covered, total: total + c.total });
      }
      const result: FuzzResult = { target: target.name, execs, seconds: Math.round(seconds * 10) / 10, coverage: total ? Math.round((covered / total) * 1000) / 10 : 0 };
      if (res.failed && res.counterexample) {
        const dir = join(projectRoot, 'test/hostile/fuzz/crashes');
        await mkdir(dir, { recursive: true });
        const file = join(dir, `${target.name}-${res.seed}.json`);
        const input = describe(res.counterexample[0]);
        const error = String((res.errorInstance as Error | undefined)?.stack ?? res.errorInstance ?? 'unknown');
        await writeFile(file, `${JSON.stringify({ target: target.name, seed: res.seed, path: res.counterexamplePath, input, error }, null, 2)}\n`);
        result.crash = { input, error: error.split('\n').slice(0, 3).join(' | '), file };
      }
      results.push(result);
    }
  } finally {
    await cleanupTargets();
    await session.post('Profiler.stopPreciseCoverage').catch(() => {});
    session.disconnect();
  }
  return results;
}
