import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jittered, setIntervalJitter, WorkQueue } from './queue.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('de-duplicates waiting keys', async () => {
  const runs: string[] = [];
  const q = new WorkQueue(async (k) => {
    runs.push(k);
    await sleep(10);
    return {};
  }, { concurrency: 1 });
  q.add('busy'); // holds the only worker while the others wait
  q.add('a');
  q.add('b');
  q.add('a');
  q.add('a');
  await sleep(80);
  assert.deepEqual(runs, ['busy', 'a', 'b']);
});

test('never runs one key twice at once, but runs it again when added meanwhile', async () => {
  let concurrent = 0;
  let maxConcurrent = 0;
  let runs = 0;
  const q = new WorkQueue(async () => {
    concurrent++;
    runs++;
    maxConcurrent = Math.max(maxConcurrent, concurrent);
    await sleep(30);
    concurrent--;
    return {};
  }, { concurrency: 4 });
  q.add('same');
  await sleep(5);
  q.add('same');
  q.add('same');
  await sleep(120);
  assert.equal(maxConcurrent, 1);
  assert.equal(runs, 2, 'the adds during the run collapse into one more run');
});

test('bounds concurrency across keys', async () => {
  let concurrent = 0;
  let maxConcurrent = 0;
  const q = new WorkQueue(async () => {
    concurrent++;
    maxConcurrent = Math.max(maxConcurrent, concurrent);
    await sleep(20);
    concurrent--;
    return {};
  }, { concurrency: 3 });
  for (let i = 0; i < 10; i++) q.add(`k${i}`);
  await sleep(150);
  assert.equal(maxConcurrent, 3);
});

test('backs off exponentially on failures and resets on success', async () => {
  const times: number[] = [];
  let fail = 3;
  const q = new WorkQueue(async () => {
    times.push(Date.now());
    return fail-- > 0 ? { error: new Error('boom') as unknown } : { requeueAfterMs: undefined };
  }, { concurrency: 1, baseDelayMs: 20 });
  q.add('x');
  await sleep(300);
  assert.equal(times.length, 4);
  const gaps = times.slice(1).map((t, i) => t - times[i]!);
  assert.ok(gaps[0]! >= 18 && gaps[1]! >= 38 && gaps[2]! >= 78, `gaps ${gaps.join(', ')}`);
  await q.shutDown();
});

test('retryWithinMs caps the backoff (a failing object is looked at as often as its interval)', async () => {
  const times: number[] = [];
  const q = new WorkQueue(async () => {
    times.push(Date.now());
    return { error: new Error('down') as unknown, retryWithinMs: 40 };
  }, { concurrency: 1, baseDelayMs: 20 });
  q.add('x');
  await sleep(400);
  await q.shutDown();
  const gaps = times.slice(1).map((t, i) => t - times[i]!);
  // Without the cap: 20, 40, 80, 160 ms...; with it, never much over 40.
  assert.ok(gaps.length >= 6, `retried ${gaps.length} times in 400 ms`);
  assert.ok(gaps.slice(2).every((g) => g < 75), `gaps ${gaps.join(', ')}`);
});

test('requeueAfter schedules the next run; an earlier add wins', async () => {
  const runs: number[] = [];
  const start = Date.now();
  const q = new WorkQueue(async () => {
    runs.push(Date.now() - start);
    return runs.length === 1 ? { requeueAfterMs: 1000 } : {};
  }, { concurrency: 1 });
  q.add('x');
  await sleep(20);
  q.addAfter('x', 30);
  await sleep(100);
  assert.equal(runs.length, 2);
  assert.ok(runs[1]! < 200, `second run at ${runs[1]} ms`);
  await q.shutDown();
});

test('shutDown lets running work finish within the drain time, then aborts it', async () => {
  let aborted = false;
  const q = new WorkQueue(async (_k, signal) => {
    await new Promise<void>((resolve) => {
      signal.addEventListener('abort', () => {
        aborted = true;
        resolve();
      });
    });
    return {};
  }, { concurrency: 1 });
  q.add('long');
  await sleep(5);
  const t = Date.now();
  await q.shutDown(50);
  assert.ok(aborted);
  assert.ok(Date.now() - t >= 45);
});

test('whenDone resolves once the keys are through, runs added meanwhile included', async () => {
  const finished: string[] = [];
  const q = new WorkQueue(async (k) => {
    await sleep(k === 'slow' ? 60 : 10);
    finished.push(k);
    return {};
  }, { concurrency: 4 });
  await q.whenDone(['never-added']); // nothing to wait for
  q.add('fast');
  q.add('slow');
  await sleep(5);
  q.add('fast'); // runs again after the current run
  await q.whenDone(['fast']);
  assert.deepEqual(finished, ['fast', 'fast']);
  await q.whenDone(['fast', 'slow']);
  assert.deepEqual(finished, ['fast', 'fast', 'slow']);
  q.add('slow');
  const pending = q.whenDone(['slow']);
  await q.shutDown(0); // a stopped queue lets waiters go
  await pending;
});

test('jittered: the interval moves by up to ±--interval-jitter-percentage, 0 turns it off', () => {
  try {
    assert.equal(jittered(60_000, () => 0), 57_000);
    assert.equal(jittered(60_000, () => 1), 63_000);
    assert.equal(jittered(60_000, () => 0.5), 60_000);
    setIntervalJitter(10);
    assert.equal(jittered(60_000, () => 0), 54_000);
    setIntervalJitter(0);
    assert.equal(jittered(60_000), 60_000);
    assert.throws(() => setIntervalJitter(100), /0 to 99/);
  } finally {
    setIntervalJitter(5);
  }
});
