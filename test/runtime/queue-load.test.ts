import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkQueue, type ReconcileOutcome } from '../../src/runtime/queue.ts';
import { sleep } from './helpers.ts';

// test: no cluster

// The work queue under load, as the controllers drive it: 500 keys, 8
// workers, keys re-added while they run, by their own reconcile and from
// outside, failures with backoff and requeues mixed in.

// A small seeded generator, so a failure can be replayed.
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('500 keys, concurrency 8: no key ever runs twice at once, no add is lost, the bound holds and is used', async () => {
  const seed = Number(process.env.QUEUE_SEED ?? Date.now() % 100_000);
  const rand = rng(seed);
  const keys = Array.from({ length: 500 }, (_, i) => `ns/obj-${i}`);
  const running = new Set<string>();
  const lastAdd = new Map<string, number>();
  const lastStart = new Map<string, number>();
  const runs = new Map<string, number>();
  const overlaps: string[] = [];
  let concurrent = 0;
  let maxConcurrent = 0;
  let seq = 0;
  const failures = new Map<string, number>();

  // `seq` orders adds and starts without relying on clock resolution.
  const add = (k: string) => {
    lastAdd.set(k, ++seq);
    q.add(k);
  };

  const q: WorkQueue = new WorkQueue(
    async (key): Promise<ReconcileOutcome> => {
      if (running.has(key)) overlaps.push(key);
      running.add(key);
      lastStart.set(key, ++seq);
      runs.set(key, (runs.get(key) ?? 0) + 1);
      concurrent++;
      maxConcurrent = Math.max(maxConcurrent, concurrent);
      try {
        await sleep(rand() * 4);
        // Re-added while running: by itself (a status write seen by the watch) or for a neighbour.
        if (rand() < 0.1) add(key);
        if (rand() < 0.05) add(keys[Math.floor(rand() * keys.length)]!);
        await sleep(rand() * 2);
        const r = rand();
        if (r < 0.05 && (failures.get(key) ?? 0) < 3) {
          failures.set(key, (failures.get(key) ?? 0) + 1);
          return { error: new Error('transient'), retryAfterMs: 1 + Math.floor(rand() * 10) };
        }
        if (r < 0.08) {
          // Thrown, not returned: the queue must recover all the same.
          if ((failures.get(key) ?? 0) < 3) {
            failures.set(key, (failures.get(key) ?? 0) + 1);
            throw new Error('thrown');
          }
        }
        return r < 0.15 && (runs.get(key) ?? 0) < 3 ? { requeueAfterMs: 1 + Math.floor(rand() * 20) } : {};
      } finally {
        concurrent--;
        running.delete(key);
      }
    },
    { concurrency: 8, baseDelayMs: 2, maxDelayMs: 20 },
  );

  for (const k of keys) add(k);
  // Events from outside while the queue is busy.
  for (let i = 0; i < 400; i++) {
    add(keys[Math.floor(rand() * keys.length)]!);
    if (i % 20 === 0) await sleep(1);
  }

  // Drained: nothing waiting, nothing running, for a while.
  let quietSince = Date.now();
  const deadline = Date.now() + 30_000;
  while (Date.now() - quietSince < 300) {
    assert.ok(Date.now() < deadline, `did not drain (depth ${q.depth}, in flight ${q.inFlight}); seed ${seed}`);
    if (q.depth > 0 || q.inFlight > 0) quietSince = Date.now();
    await sleep(10);
  }

  assert.deepEqual(overlaps, [], `keys run twice at once; seed ${seed}`);
  assert.ok(maxConcurrent <= 8, `at most 8 at once (${maxConcurrent}); seed ${seed}`);
  assert.equal(maxConcurrent, 8, `all 8 workers used; seed ${seed}`);
  for (const k of keys) {
    assert.ok(runs.get(k)! >= 1, `${k} ran; seed ${seed}`);
    assert.ok(lastStart.get(k)! > lastAdd.get(k)!, `${k} ran after its last add (add #${lastAdd.get(k)}, start #${lastStart.get(k)}); seed ${seed}`);
  }
  const total = [...runs.values()].reduce((a, b) => a + b, 0);
  process.stderr.write(`# ${total} reconciles of 500 keys, seed ${seed}\n`);
  await q.shutDown();
});

test('shutDown under load: running work finishes, nothing new starts, and no timer outlives the drain', async () => {
  let started = 0;
  let finished = 0;
  let stopping = false;
  let startedAfterStop = 0;
  const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  const timersBefore = timers();
  const q = new WorkQueue(
    async () => {
      started++;
      if (stopping) startedAfterStop++;
      await sleep(50);
      finished++;
      return { requeueAfterMs: 10 };
    },
    { concurrency: 8 },
  );
  for (let i = 0; i < 500; i++) q.add(`k${i}`);
  await sleep(20);
  assert.equal(q.inFlight, 8);
  stopping = true;
  const t = Date.now();
  await q.shutDown(30_000);
  const took = Date.now() - t;
  assert.ok(took < 1_000, `returned once the running work was done (${took} ms), not after the 30 s drain limit`);
  assert.equal(startedAfterStop, 0, 'nothing started after shutDown');
  assert.equal(finished, started, 'everything that started finished');
  assert.equal(q.inFlight, 0);
  await sleep(30);
  assert.equal(timers(), timersBefore, 'no drain or requeue timer left behind to keep the process alive');
  q.add('late');
  await sleep(20);
  assert.equal(started, finished);
  assert.equal(q.depth, 0, 'a stopped queue takes no work');
});
