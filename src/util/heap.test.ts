import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { limitHeapGrowth } from './heap.ts';

test('the heap growth limit is set unless node was started with one', () => {
  const set: string[] = [];
  assert.equal(limitHeapGrowth(50, ['--max-semi-space-size=4'], (f) => set.push(f)), true);
  assert.deepEqual(set, ['--heap-growing-percent=50']);
  assert.equal(limitHeapGrowth(50, ['--heap-growing-percent=200'], (f) => set.push(f)), false);
  assert.equal(limitHeapGrowth(50, ['--heap_growing_percent=200'], (f) => set.push(f)), false);
  assert.equal(set.length, 1);
});

// A live set and a stream of short-lived garbage, the shape of a reconcile
// burst; prints the largest heap V8 committed along the way.
const burst = `
  const mode = process.argv[1];
  if (mode === 'limited') {
    const { limitHeapGrowth } = await import(process.env.HEAP_MODULE);
    limitHeapGrowth();
  }
  const live = [];
  for (let i = 0; i < 100000; i++) live.push({ a: 'x'.repeat(50) + i, b: [i, i + 1] });
  let max = 0;
  for (let r = 0; r < 150; r++) {
    const g = [];
    for (let i = 0; i < 20000; i++) g.push({ s: 'y'.repeat(40) + i, n: [i] });
    if (r % 5 === 0) max = Math.max(max, process.memoryUsage().heapTotal);
  }
  // live is read here so that it stays alive to the end.
  process.stdout.write(String(live.length > 0 ? max : 0));
`;

function committedHeap(mode: 'limited' | 'default'): number {
  const res = spawnSync(process.execPath, ['--import', 'tsx', '--max-semi-space-size=4', '--input-type=module', '-e', burst, mode], {
    encoding: 'utf8',
    env: { ...process.env, HEAP_MODULE: new URL('./heap.ts', import.meta.url).href },
  });
  assert.equal(res.status, 0, res.stderr);
  return Number(res.stdout);
}

test('set after start, the limit keeps the heap of a burst smaller', () => {
  const limited = committedHeap('limited');
  const plain = committedHeap('default');
  assert.ok(limited < plain * 0.8, `heap with the limit ${(limited / 2 ** 20).toFixed(0)} MiB, without ${(plain / 2 ** 20).toFixed(0)} MiB`);
});
