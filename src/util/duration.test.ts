import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDuration, parseDuration } from './duration.ts';

test('parses Go durations', () => {
  const cases: Array<[string, number]> = [
    ['0', 0],
    ['30s', 30_000],
    ['5m', 300_000],
    ['1h30m', 5_400_000],
    ['1.5s', 1_500],
    ['250ms', 250],
    ['2h0m10s', 7_210_000],
  ];
  for (const [text, ms] of cases) assert.equal(parseDuration(text), ms, text);
});

test('rejects what Go rejects, saying what is expected', () => {
  for (const bad of ['', '5', 'm', '5x', '1h 30m', '-5s', 'five minutes']) {
    assert.throws(() => parseDuration(bad), /invalid duration .*Go duration such as 30s/, bad);
  }
});

test('formats milliseconds as Go does', () => {
  assert.equal(formatDuration(90_000), '1m30s');
  assert.equal(formatDuration(3_600_000), '1h0m0s');
  assert.equal(formatDuration(1_500), '1.5s');
  assert.equal(formatDuration(250), '250ms');
  assert.equal(formatDuration(0), '0s');
});
