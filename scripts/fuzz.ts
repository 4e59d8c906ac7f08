// `npm run fuzz`: every fuzz target of test/hostile/fuzz/ for a few seconds
// (the CI form); `npm run fuzz -- --full` for ten minutes each; `--seconds N`
// and `--target NAME` (repeatable) to choose. Exits 1 on a crash, whose
// shrunk input is written to test/hostile/fuzz/crashes/.
import { fuzzAll } from '../test/hostile/fuzz/run.ts';

const args = process.argv.slice(2);
const value = (flag: string) => {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
};
const seconds = Number(value('--seconds') ?? (args.includes('--full') ? 600 : 3));
const only = args.flatMap((a, i) => (args[i - 1] === '--target' ? [a] : []));
const seed = value('--seed') === undefined ? undefined : Number(value('--seed'));

const results = await fuzzAll({ seconds, only, seed });
for (const r of results) {
  process.stdout.write(`${r.target.padEnd(20)} ${String(r.execs).padStart(9)} execs  ${String(r.seconds).padStart(6)} s  ${String(Math.round(r.execs / Math.max(r.seconds, 0.1))).padStart(7)}/s  coverage ${r.coverage}%${r.crash ? `  CRASH ${r.crash.error} (input in ${r.crash.file})` : ''}\n`);
}
process.exit(results.some((r) => r.crash) ? 1 : 0);
