import assert from 'node:assert/strict';
import test from 'node:test';
import { consoleLogger, jsonLogger } from './log.ts';

test('jsonLogger: one JSON object per line, below the level dropped', () => {
  const lines: string[] = [];
  const log = jsonLogger({ logger: 'sluice' }, 'info', (l) => lines.push(l));
  log.debug('hidden');
  log.with({ kind: 'Kustomization' }).info('reconciled', { name: 'app' });
  assert.equal(lines.length, 1);
  const rec = JSON.parse(lines[0]!);
  assert.deepEqual({ level: rec.level, msg: rec.msg, logger: rec.logger, kind: rec.kind, name: rec.name }, { level: 'info', msg: 'reconciled', logger: 'sluice', kind: 'Kustomization', name: 'app' });
});

test("consoleLogger (--log-encoding=console): time, level, message and fields, tab-separated as zap's console encoder", () => {
  const lines: string[] = [];
  const log = consoleLogger({ logger: 'sluice' }, 'debug', (l) => lines.push(l));
  log.debug('looking', { key: 'ns/app' });
  log.error('failed', { error: new Error('boom') });
  const [first, second] = lines.map((l) => l.replace(/\n$/, '').split('\t'));
  assert.match(first![0]!, /^\d{4}-\d\d-\d\dT/);
  assert.deepEqual(first!.slice(1), ['DEBUG', 'looking', '{"logger":"sluice","key":"ns/app"}']);
  assert.deepEqual(second!.slice(1), ['ERROR', 'failed', '{"logger":"sluice","error":"boom"}']);
  const quiet: string[] = [];
  consoleLogger({}, 'error', (l) => quiet.push(l)).info('dropped');
  assert.deepEqual(quiet, []);
});
