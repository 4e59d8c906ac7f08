import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fuzzAll } from './fuzz/run.ts';
// test: no cluster

// The short fuzz run of CI: every target of test/hostile/fuzz/targets.ts for
// two seconds with a fixed seed (the same inputs on every run, so a failure
// reproduces); `npm run fuzz -- --full` runs them for ten minutes each with
// new seeds. A crash fails the test and leaves its shrunk input in
// test/hostile/fuzz/crashes/.

test('fuzz targets: no crash, no slow input, in a short run of each', async (t) => {
  const results = await fuzzAll({ seconds: Number(process.env.SLUICE_FUZZ_SECONDS ?? 2), seed: 20_26 });
  for (const r of results) t.diagnostic(`${r.target}: ${r.execs} execs in ${r.seconds} s, coverage ${r.coverage}%`);
  assert.equal(results.length, 7);
  for (const r of results) {
    assert.equal(r.crash, undefined, `${r.target}: ${r.crash?.error}\ninput: ${r.crash?.input}`);
    assert.ok(r.execs > 20, `${r.target} ran only ${r.execs} inputs`);
    assert.ok(r.coverage > 5, `${r.target}: coverage ${r.coverage}%`);
  }
});
