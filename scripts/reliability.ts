// `npm run reliability [-- --full]`: the reliability suite of issue 20 in one
// command. It runs the fault tests (test/faults/), the hostile-input tests
// (test/hostile/, when present) and the fuzzers (`npm run fuzz`, when
// package.json has that script), then prints every figure the tests
// reported (`# figure:` lines) in one table.
//
// Quick form (the default): the sizes CI runs as part of `npm test`.
// --full: SLUICE_RELIABILITY=full, the sizes the issue asks for (100
// Kustomizations and 20 HelmReleases under 50 kills, the Git server down
// for 10 minutes, ...); it takes about an hour on 2 cores, so each test
// file may run up to 60 minutes.
//
// Options: --full; --figures FILE (also write the figures there, as
// Markdown); any other argument is a test file or directory to run instead
// of the default set.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));

interface Options {
  full: boolean;
  figures?: string;
  paths: string[];
}

function parseArgs(argv: string[]): Options {
  const o: Options = { full: false, paths: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--full') o.full = true;
    else if (a === '--figures') {
      o.figures = argv[++i];
      if (!o.figures) throw new Error('--figures needs a file name');
    } else if (a.startsWith('--figures=')) o.figures = a.slice('--figures='.length);
    else if (a.startsWith('-')) throw new Error(`unknown option ${a}; usage: npm run reliability [-- --full] [--figures FILE] [TEST_PATH...]`);
    else o.paths.push(a);
  }
  return o;
}

/** Runs a command with output passed through; resolves with its exit code and the lines it printed. */
function runStep(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; lines: string[] }> {
  return new Promise((res) => {
    const child = spawn(cmd, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    const tee = (to: NodeJS.WriteStream) => {
      let buf = '';
      return (chunk: Buffer) => {
        to.write(chunk);
        buf += chunk.toString('utf8');
        const parts = buf.split('\n');
        buf = parts.pop()!;
        lines.push(...parts);
      };
    };
    child.stdout.on('data', tee(process.stdout));
    child.stderr.on('data', tee(process.stderr));
    // Ctrl-C reaches the step too; scripts/test.ts stops its test files.
    const forward = (sig: NodeJS.Signals) => child.kill(sig);
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    child.once('close', (code, signal) => {
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
      res({ code: code ?? (signal ? 1 : 0), lines });
    });
  });
}

const FIGURE = /# figure: (.+?) = (.+?) \((quick|full)\)$/;

async function main(): Promise<number> {
  const o = parseArgs(process.argv.slice(2));
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (o.full) {
    env.SLUICE_RELIABILITY = 'full';
    env.SLUICE_TEST_FILE_TIMEOUT ??= '60m';
  } else {
    // Marks the run as the reliability suite's: the tests that run only here
    // (test/faults/diskfull.test.ts) read it.
    env.SLUICE_RELIABILITY = 'quick';
  }
  const paths = o.paths.length ? o.paths : ['test/faults', ...(existsSync(join(root, 'test/hostile')) ? ['test/hostile'] : [])];
  const steps: Array<{ name: string; code: number }> = [];
  const figures: Array<[string, string]> = [];

  process.stdout.write(`# reliability suite (${o.full ? 'full' : 'quick'} form): ${paths.join(' ')}\n`);
  const tests = await runStep(process.execPath, ['--import', 'tsx', 'scripts/test.ts', ...paths], env);
  steps.push({ name: `npm test -- ${paths.join(' ')}`, code: tests.code });
  for (const l of tests.lines) {
    const m = FIGURE.exec(l);
    if (m) figures.push([m[1]!, m[2]!]);
  }

  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts?: Record<string, string> };
  if (o.paths.length === 0) {
    if (pkg.scripts?.fuzz) {
      // The full form reaches the fuzzers as SLUICE_RELIABILITY=full in their environment.
      const fuzz = await runStep('npm', ['run', 'fuzz'], env);
      steps.push({ name: 'npm run fuzz', code: fuzz.code });
    } else {
      process.stdout.write('# package.json has no "fuzz" script: the fuzzers are not run\n');
    }
  }

  process.stdout.write(`\n# reliability figures (${o.full ? 'full' : 'quick'} form)\n`);
  for (const [name, value] of figures) process.stdout.write(`#   ${name}: ${value}\n`);
  for (const s of steps) process.stdout.write(`# ${s.code === 0 ? 'ok' : 'FAILED'}: ${s.name}\n`);
  if (o.figures) {
    const md = ['| figure | value |', '| --- | --- |', ...figures.map(([n, v]) => `| ${n} | ${v} |`), ''].join('\n');
    await writeFile(o.figures, md);
  }
  return steps.every((s) => s.code === 0) ? 0 : 1;
}

process.exitCode = await main().catch((err: Error) => {
  process.stderr.write(`${err.message}\n`);
  return 2;
});
