import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Discovery } from './discovery.ts';
import type { KubeClient } from './client.ts';

const core = {
  items: [{ metadata: { name: '' }, versions: [{ version: 'v1', resources: [{ resource: 'configmaps', responseKind: { group: '', version: 'v1', kind: 'ConfigMap' }, scope: 'Namespaced', verbs: ['get'] }] }] }],
};
const groups = { items: [] };

/** Answers discovery as the API server does, after failing the first `failures` requests. */
function flakyClient(failures: number): { client: KubeClient; calls: () => number } {
  let calls = 0;
  const client = {
    async request(o: { path: string }) {
      calls++;
      if (calls <= failures) throw new Error(`GET ${o.path}: socket hang up`);
      return o.path === '/api' ? core : groups;
    },
  } as unknown as KubeClient;
  return { client, calls: () => calls };
}

test('a failed discovery load is not kept: the next lookup loads again', async () => {
  const { client } = flakyClient(1);
  const d = new Discovery(client);
  await assert.rejects(d.mapping('v1', 'ConfigMap'), /socket hang up/);
  const m = await d.mapping('v1', 'ConfigMap');
  assert.equal(m?.resource, 'configmaps');
  assert.equal(m?.namespaced, true);
});

test('a loaded discovery answers from memory', async () => {
  const { client, calls } = flakyClient(0);
  const d = new Discovery(client);
  await d.mapping('v1', 'ConfigMap');
  await d.mapping('v1', 'ConfigMap');
  assert.equal(calls(), 2, 'one load: /api and /apis');
});
