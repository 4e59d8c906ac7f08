import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Handler, Informer } from '../kube/informer.ts';
import type { KubeObject } from '../kube/object.ts';
import { DashboardStore, type RowChanges } from './store.ts';

/** An informer's surface, fed by the test (the store's own logic is what is checked here). */
class FakeInformer {
  readonly handlers: Handler[] = [];
  readonly objects = new Map<string, KubeObject>();
  synced = true;
  on(h: Handler) { this.handlers.push(h); }
  off(h: Handler) { this.handlers.splice(this.handlers.indexOf(h), 1); }
  async start() {}
  stop() {}
  list() { return [...this.objects.values()]; }
  get(ns: string | undefined, name: string) { return this.objects.get(`${ns}/${name}`); }
  emit(type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: KubeObject, old?: KubeObject) {
    if (type === 'DELETED') this.objects.delete(`${obj.metadata.namespace}/${obj.metadata.name}`);
    else this.objects.set(`${obj.metadata.namespace}/${obj.metadata.name}`, obj);
    for (const h of this.handlers) h(type, obj, old);
  }
}

const ks = (name: string, ready: string, message = '', rv = '1'): KubeObject => ({
  apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization', metadata: { name, namespace: 'n', resourceVersion: rv },
  status: { conditions: [{ type: 'Ready', status: ready, reason: ready === 'True' ? 'ReconciliationSucceeded' : 'BuildFailed', message, lastTransitionTime: '2026-01-01T00:00:00Z' }] },
});

test('rows from the caches, one coalesced message per burst, condition changes remembered, deletes', async () => {
  const fakes = new Map<string, FakeInformer>();
  const store = new DashboardStore((k) => {
    const f = new FakeInformer();
    fakes.set(k.kind, f);
    return f as unknown as Informer;
  }, false);
  const kss = () => fakes.get('Kustomization')!;
  await store.start();
  assert.equal(store.size, 0);
  const got: RowChanges[] = [];
  store.subscribe((c) => got.push(c));
  const a1 = ks('a', 'True');
  kss().emit('ADDED', a1);
  const a2 = ks('a', 'False', 'first', '2');
  kss().emit('MODIFIED', a2, a1);
  const a3 = ks('a', 'False', 'second', '3');
  kss().emit('MODIFIED', a3, a2);
  kss().emit('ADDED', ks('b', 'True'));
  // A write that changes nothing the row shows sends nothing.
  kss().emit('MODIFIED', { ...ks('b', 'True'), metadata: { name: 'b', namespace: 'n', resourceVersion: '9' } }, ks('b', 'True'));
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(got.length, 1, 'one message for the burst');
  assert.deepEqual(got[0]!.upsert.map((r) => [r.name, r.state, r.message]), [['a', 'failed', 'second'], ['b', 'ready', '']]);
  assert.deepEqual(store.conditionHistory('Kustomization/n/a').map((c) => [c.status, c.message]), [['False', 'second'], ['False', 'first']]);
  assert.equal(JSON.parse(store.snapshot()).rows.length, 2);
  kss().emit('DELETED', a3);
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(got[1], { upsert: [], remove: ['Kustomization/n/a'] });
  assert.equal(JSON.parse(store.snapshot()).rows.length, 1);
  store.stop();
  assert.equal(kss().handlers.length, 0, 'the controller\'s caches keep running, without the store\'s handlers');
});
