import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Metrics } from './metrics.ts';

async function readyValues(m: Metrics, name: string): Promise<Record<string, number>> {
  const { values } = await m.condition.get();
  return Object.fromEntries(values.filter((v) => v.labels.name === name && v.labels.type === 'Ready').map((v) => [String(v.labels.status), v.value]));
}

test('the Ready condition gauge follows every change, also after an object is forgotten and comes back', async () => {
  const m = new Metrics();
  m.recordCondition('Kustomization', 'ns', 'app', 'Ready', 'True');
  m.recordCondition('Kustomization', 'ns', 'app', 'Ready', 'True');
  assert.deepEqual(await readyValues(m, 'app'), { True: 1, False: 0, Unknown: 0, Deleted: 0 });
  m.recordCondition('Kustomization', 'ns', 'app', 'Ready', 'False');
  assert.deepEqual(await readyValues(m, 'app'), { True: 0, False: 1, Unknown: 0, Deleted: 0 });
  m.recordCondition('Kustomization', 'ns', 'app', 'Ready', undefined);
  assert.deepEqual(await readyValues(m, 'app'), { True: 0, False: 0, Unknown: 1, Deleted: 0 });
  m.forget('Kustomization', 'ns', 'app');
  assert.deepEqual(await readyValues(m, 'app'), { Deleted: 1 });
  m.recordCondition('Kustomization', 'ns', 'app', 'Ready', undefined);
  assert.deepEqual(await readyValues(m, 'app'), { True: 0, False: 0, Unknown: 1, Deleted: 0 }, 'recorded again after forget');
});
