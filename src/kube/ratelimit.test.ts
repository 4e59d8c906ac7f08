import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RateLimiter } from './ratelimit.ts';

test('a burst passes at once, then requests are paced at qps', async () => {
  const rl = new RateLimiter(100, 5);
  const start = performance.now();
  for (let i = 0; i < 5; i++) await rl.take();
  const burstMs = performance.now() - start;
  assert.ok(burstMs < 20, `burst took ${burstMs} ms`);
  for (let i = 0; i < 10; i++) await rl.take();
  const pacedMs = performance.now() - start;
  // 10 tokens at 100/s need about 100 ms.
  assert.ok(pacedMs >= 85, `10 paced requests took only ${pacedMs} ms`);
  assert.ok(pacedMs < 400, `10 paced requests took ${pacedMs} ms`);
});

test('waiters are served in arrival order', async () => {
  const rl = new RateLimiter(200, 1);
  const order: number[] = [];
  await Promise.all([0, 1, 2, 3].map((i) => rl.take().then(() => order.push(i))));
  assert.deepEqual(order, [0, 1, 2, 3]);
});

test('qps 0 disables limiting', async () => {
  const rl = new RateLimiter(0, 0);
  const start = performance.now();
  for (let i = 0; i < 1000; i++) await rl.take();
  assert.ok(performance.now() - start < 50);
});
