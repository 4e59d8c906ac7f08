import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseControllerFlags } from '../../src/cli/controllerflags.ts';
// test: no cluster

// notification-controller's flags that matter to Sluice, with Flux's names.

test('--receiverAddr and --rate-limit-interval, with Flux\'s defaults', () => {
  const d = parseControllerFlags([]).settings!;
  assert.equal(d.receiverAddress, '127.0.0.1:9292');
  assert.equal(d.rateLimitIntervalMs, 5 * 60_000);
  const s = parseControllerFlags(['--receiverAddr=:9393', '--rate-limit-interval=30s']).settings!;
  assert.equal(s.receiverAddress, '0.0.0.0:9393');
  assert.equal(s.rateLimitIntervalMs, 30_000);
  assert.equal(parseControllerFlags(['--receiver-addr=127.0.0.1:0']).settings!.receiverAddress, '127.0.0.1:0');
});
