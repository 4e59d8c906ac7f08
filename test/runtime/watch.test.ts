import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readState } from '../../src/dev/cluster/state.ts';
import { adminClient, eventually, testKubeconfig, testNamespace, type TestNamespace } from '../harness.ts';
import { ListWatch, type WatchEventType } from '../../src/kube/watch.ts';
import { Informer } from '../../src/kube/informer.ts';
import type { KubeObject } from '../../src/kube/object.ts';
import { TcpProxy, clientVia, sleep, spyOn } from './helpers.ts';

// ListWatch and Informer against the real API server, with a TCP proxy on
// 127.0.0.1 between them when a test needs to break the connection.

const cms = (ns: string) => `/api/v1/namespaces/${ns}/configmaps`;

async function createCm(ns: TestNamespace, name: string, value = 'v'): Promise<KubeObject> {
  return ns.client.request<KubeObject>({
    method: 'POST',
    path: cms(ns.name),
    body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { value } },
  });
}

async function patchCm(ns: TestNamespace, name: string, value: string): Promise<KubeObject> {
  return ns.client.request<KubeObject>({
    method: 'PATCH',
    path: `${cms(ns.name)}/${name}`,
    contentType: 'application/merge-patch+json',
    body: { data: { value } },
  });
}

async function deleteCm(ns: TestNamespace, name: string): Promise<void> {
  await ns.client.request({ method: 'DELETE', path: `${cms(ns.name)}/${name}` });
}

/** stop() ends the reflector's loop at once (test hook: the loop promise is private). */
async function assertStopsPromptly(lw: ListWatch, what: string): Promise<void> {
  const t = Date.now();
  lw.stop();
  await Promise.race([
    (lw as unknown as { loop: Promise<void> }).loop,
    sleep(2_000).then(() => assert.fail(`${what}: the loop did not end within 2 s of stop()`)),
  ]);
  assert.ok(Date.now() - t < 1_000, `${what}: stopped in ${Date.now() - t} ms`);
}

type Seen = { type: WatchEventType; name: string; rv: number; at: number };

function recorder() {
  const seen: Seen[] = [];
  const errors: Array<{ error: string; at: number }> = [];
  return {
    seen,
    errors,
    onEvent: (type: WatchEventType, obj: KubeObject) =>
      seen.push({ type, name: obj.metadata.name!, rv: Number(obj.metadata.resourceVersion), at: Date.now() }),
    onError: (err: unknown) => errors.push({ error: String((err as Error)?.message ?? err), at: Date.now() }),
    count: (type: WatchEventType, name: string) => seen.filter((s) => s.type === type && s.name === name).length,
  };
}

test('lists, then delivers every later change as an event, in order', async () => {
  const ns = await testNamespace('watch-events');
  const client = await adminClient();
  const r = recorder();
  const lw = new ListWatch(client, { path: cms(ns.name), onEvent: r.onEvent, onError: r.onError });
  try {
    await createCm(ns, 'pre');
    await lw.start();
    assert.ok(lw.isSynced);
    assert.ok(lw.store.has(`${ns.name}/pre`), 'the list fills the store');
    assert.equal(lw.store.get(`${ns.name}/pre`)!.kind, 'ConfigMap', 'list items get their kind back');
    await createCm(ns, 'a', '1');
    await patchCm(ns, 'a', '2');
    await deleteCm(ns, 'a');
    await eventually('ADDED, MODIFIED, DELETED of a', async () => (r.count('DELETED', 'a') ? true : undefined), 10_000);
    assert.deepEqual(
      r.seen.filter((s) => s.name === 'a').map((s) => s.type),
      ['ADDED', 'MODIFIED', 'DELETED'],
    );
    assert.equal(r.count('ADDED', 'pre'), 0, 'what the list returned is not sent again as an event');
    assert.ok(!lw.store.has(`${ns.name}/a`));
    assert.deepEqual(r.errors, []);
    await assertStopsPromptly(lw, 'with an open stream');
  } finally {
    lw.stop();
    client.close();
    await ns.cleanup();
  }
});

test('a watch closed by the server (timeoutSeconds) resumes from its resourceVersion: no re-list, nothing missed or repeated', async () => {
  const ns = await testNamespace('watch-resume');
  const client = await adminClient();
  const spy = spyOn(client);
  const r = recorder();
  const lw = new ListWatch(client, { path: cms(ns.name), watchTimeoutSeconds: 1, onEvent: r.onEvent, onError: r.onError });
  try {
    await lw.start();
    const names = ['r0', 'r1', 'r2', 'r3', 'r4', 'r5'];
    for (const n of names) {
      await createCm(ns, n);
      await sleep(900);
    }
    await eventually('every object seen', async () => (names.every((n) => r.count('ADDED', n) === 1) ? true : undefined), 10_000);
    await sleep(1_500); // one more stream round, to catch duplicates
    for (const n of names) assert.equal(r.count('ADDED', n), 1, `${n} delivered exactly once`);
    assert.equal(spy.lists.length, 1, 'a closed stream is resumed, not re-listed');
    assert.ok(spy.watches.length >= 4, `the server closed the stream several times (${spy.watches.length} watch requests)`);
    let prev = 0;
    for (const w of spy.watches) {
      assert.notEqual(w.resourceVersion, '', 'every watch names a resourceVersion');
      const rv = Number(w.resourceVersion);
      assert.ok(rv >= prev, `resourceVersions never go back (${prev} -> ${rv})`);
      prev = rv;
      const before = r.seen.filter((s) => s.at <= w.at).map((s) => s.rv);
      if (before.length) assert.ok(rv >= Math.max(...before), `watch at ${rv} resumes after the last event seen (${Math.max(...before)})`);
    }
    assert.deepEqual(r.errors, [], 'a server-side close is not an error');
  } finally {
    lw.stop();
    client.close();
    await ns.cleanup();
  }
});

test('410 Gone (resourceVersion too old) leads to a re-list; the Informer reports what changed meanwhile, deletions included', async () => {
  const kubeconfig = await testKubeconfig();
  const ns = await testNamespace('watch-gone');
  const proxy = await TcpProxy.forKubeconfig(kubeconfig);
  const client = await clientVia(proxy, kubeconfig);
  const spy = spyOn(client);
  const errors: string[] = [];
  const informer = new Informer(client, cms(ns.name), { onError: (e) => errors.push(String(e)) });
  const seen: string[] = [];
  informer.on((type, obj, old) => seen.push(`${type} ${obj.metadata.name}${old ? ` (was ${old.metadata.resourceVersion})` : ''}`));
  const count = (prefix: string) => seen.filter((s) => s.startsWith(prefix)).length;
  try {
    await createCm(ns, 'kept');
    await createCm(ns, 'changed', 'old');
    await createCm(ns, 'gone');
    await informer.start();
    assert.ok(informer.synced);
    assert.equal(count('ADDED gone'), 1);

    // Disconnected: every connection cut, new ones refused.
    await proxy.down();
    await deleteCm(ns, 'gone');
    await patchCm(ns, 'changed', 'new');
    await createCm(ns, 'born');
    // Test hook: the reflector's resourceVersion is private. Make it one the
    // API server no longer has, as after a long outage: compact etcd (a young
    // cluster has compacted nothing yet, and the server would replay from etcd),
    // so the resumed watch is answered with an ERROR event, 410 Expired.
    await compactEtcd();
    (informer as unknown as { lw: { resourceVersion: string } }).lw.resourceVersion = '1';
    await proxy.up();

    await eventually(
      'deletion, change and creation during the outage reported',
      async () => (count('DELETED gone') && count('MODIFIED changed') && count('ADDED born') ? true : undefined),
      15_000,
    );
    assert.ok(spy.watches.some((w) => w.resourceVersion === '1'), 'the watch was resumed from the stale resourceVersion');
    // Where the server still serves the old revision (a cluster minutes old can
    // replay from etcd) the watch resumes without a re-list; either way there
    // is at most one re-list, and every change of the outage is reported once.
    assert.ok(spy.lists.length <= 2, `at most one re-list, saw ${spy.lists.length - 1}`);
    assert.equal(count('DELETED gone'), 1);
    assert.equal(count('MODIFIED changed'), 1);
    assert.equal(count('ADDED born'), 1);
    // After a re-list an unchanged object is not reported again (a replay
    // from etcd, by contrast, sends every object's history anew).
    if (spy.lists.length === 2) assert.equal(count('ADDED kept') + count('MODIFIED kept'), 1, 'an unchanged object is not reported again');
    assert.equal(informer.get(ns.name, 'gone'), undefined);
    assert.equal((informer.get(ns.name, 'changed') as KubeObject & { data: Record<string, string> }).data.value, 'new');

    // And the watch goes on from the fresh list.
    await createCm(ns, 'after');
    await eventually('events after the re-list', async () => (count('ADDED after') ? true : undefined), 10_000);
    assert.ok(spy.lists.length <= 2, 'the watch goes on without another list');
  } finally {
    informer.stop();
    client.close();
    await proxy.close();
    await ns.cleanup();
  }
});

test('a silent, stalled stream is noticed and reopened, also when the new connection never answers', async () => {
  const kubeconfig = await testKubeconfig();
  const ns = await testNamespace('watch-stall');
  const proxy = await TcpProxy.forKubeconfig(kubeconfig);
  const client = await clientVia(proxy, kubeconfig);
  const spy = spyOn(client);
  const r = recorder();
  const idleTimeoutMs = 2_500;
  const lw = new ListWatch(client, { path: cms(ns.name), idleTimeoutMs, onEvent: r.onEvent, onError: r.onError });
  try {
    await lw.start();
    await eventually('the watch stream open', async () => (spy.watches.length && proxy.openConnections ? true : undefined));
    await sleep(300);
    // Every open connection goes silent (no FIN, no RST), and new ones are
    // accepted but never answered, like a dead NAT entry or a hung proxy.
    proxy.freeze();
    proxy.blackhole = true;
    const t0 = Date.now();
    await createCm(ns, 'during-stall');
    await eventually('the stalled stream noticed', async () => (r.errors.some((e) => /stream stalled/.test(e.error)) ? true : undefined), 10_000);
    const noticedAt = r.errors.find((e) => /stream stalled/.test(e.error))!.at;
    const openedAt = spy.watches.at(-1)!.at;
    assert.ok(noticedAt - openedAt >= idleTimeoutMs - 100, `noticed once the stream was silent for the idle timeout (${noticedAt - openedAt} ms)`);
    assert.ok(noticedAt - t0 <= idleTimeoutMs + 1_000, `noticed ${noticedAt - t0} ms after the stall`);
    await eventually(
      'the unanswered reconnect given up',
      async () => (r.errors.some((e) => /request stalled/.test(e.error)) ? true : undefined),
      idleTimeoutMs * 3 + 2_000,
    );
    assert.equal(r.count('ADDED', 'during-stall'), 0);
    proxy.blackhole = false;
    await eventually('the change made during the stall delivered', async () => (r.count('ADDED', 'during-stall') ? true : undefined), 15_000);
    assert.equal(r.count('ADDED', 'during-stall'), 1);
  } finally {
    lw.stop();
    client.close();
    await proxy.close();
    await ns.cleanup();
  }
});

test('an unreachable server is retried with jittered exponential backoff; the watch recovers and stop() ends a backoff at once', async () => {
  const kubeconfig = await testKubeconfig();
  const ns = await testNamespace('watch-backoff');
  const proxy = await TcpProxy.forKubeconfig(kubeconfig);
  const client = await clientVia(proxy, kubeconfig);
  const spy = spyOn(client);
  const r = recorder();
  const lw = new ListWatch(client, { path: cms(ns.name), onEvent: r.onEvent, onError: r.onError });
  try {
    await createCm(ns, 'doomed');
    await lw.start();
    await proxy.down();
    await deleteCm(ns, 'doomed');
    await eventually('five failed attempts', async () => (r.errors.length >= 5 ? true : undefined), 20_000);
    const at = r.errors.map((e) => e.at);
    const gaps = at.slice(1, 5).map((t, i) => t - at[i]!);
    const ratios = gaps.map((g, i) => g / (200 * 2 ** (i + 1)));
    for (const [i, ratio] of ratios.entries()) {
      assert.ok(ratio >= 0.45 && ratio <= 1.3, `retry ${i + 1} after ${gaps[i]} ms: within [base/2, base] of ${200 * 2 ** (i + 1)} ms`);
    }
    assert.ok(gaps[3]! > gaps[0]!, `the delay grows (${gaps.join(', ')} ms)`);
    assert.ok(new Set(ratios.map((x) => x.toFixed(2))).size > 1, `the delays are jittered (${gaps.join(', ')} ms)`);

    await createCm(ns, 'after-outage');
    await proxy.up();
    await eventually(
      'recovered: the changes made during the outage delivered',
      async () => (r.count('ADDED', 'after-outage') && r.count('DELETED', 'doomed') ? true : undefined),
      15_000,
    );
    assert.ok(!lw.store.has(`${ns.name}/doomed`));
    assert.equal(spy.lists.length, 1, 'resumed from the last resourceVersion, no re-list needed');
    await createCm(ns, 'after-recovery');
    await eventually('live again', async () => (r.count('ADDED', 'after-recovery') ? true : undefined), 10_000);

    // A new outage starts the backoff over (the stream was healthy in between)...
    const before = r.errors.length;
    await proxy.down();
    await eventually('failing again', async () => (r.errors.length >= before + 4 ? true : undefined), 20_000);
    const again = r.errors.slice(before).map((e) => e.at);
    assert.ok(again[1]! - again[0]! <= 600, `first retry of the new outage after ${again[1]! - again[0]!} ms, not the old outage's delay`);
    // ...and a long backoff must not keep a stopped reflector (and its process) alive.
    await assertStopsPromptly(lw, 'during a backoff');
  } finally {
    lw.stop();
    client.close();
    await proxy.close();
    await ns.cleanup();
  }
});

test('bookmarks are accepted: they move the resourceVersion forward and are not reported as events', async () => {
  const watched = await testNamespace('watch-bookmark');
  const other = await testNamespace('watch-bookmark-other');
  const client = await adminClient();
  const spy = spyOn(client);
  const r = recorder();
  // The API server sends a bookmark shortly before it closes a watch with a
  // timeout, when the resource's resourceVersion moved on meanwhile.
  const lw = new ListWatch(client, { path: cms(watched.name), watchTimeoutSeconds: 6, onEvent: r.onEvent, onError: r.onError });
  try {
    await lw.start();
    const listRv = Number(spy.watches[0]?.resourceVersion ?? 0);
    const written: number[] = [];
    for (const n of ['b0', 'b1', 'b2']) {
      await sleep(800);
      // Changes elsewhere: not delivered to this watch, but they advance the resourceVersion.
      written.push(Number((await createCm(other, n)).metadata.resourceVersion));
    }
    await eventually('the stream closed by the server and resumed', async () => (spy.watches.length >= 2 ? true : undefined), 15_000);
    const resumed = Number(spy.watches[1]!.resourceVersion);
    assert.ok(written[0]! > listRv);
    assert.ok(resumed >= written[0]!, `resumed at ${resumed}, past the other namespace's writes (${written.join(', ')}), list was at ${listRv}: the bookmark was taken`);
    assert.ok(r.seen.every((s) => s.name && ['ADDED', 'MODIFIED', 'DELETED'].includes(s.type)), 'no bookmark surfaced as an event');
    assert.deepEqual(r.errors, []);
  } finally {
    lw.stop();
    client.close();
    await watched.cleanup();
    await other.cleanup();
  }
});

/** Compacts the local cluster's etcd up to its current revision, through etcd's JSON gateway. */
async function compactEtcd(): Promise<void> {
  const state = readState();
  if (!state) throw new Error('no local cluster state: the 410 test needs the local control plane');
  const base = `http://127.0.0.1:${state.ports.etcdClient}/v3/kv`;
  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${base}/${path}`, { method: 'POST', body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`etcd ${path}: HTTP ${res.status} ${await res.text()}`);
    return (await res.json()) as { header: { revision: string } };
  };
  const { header } = await post('range', { key: Buffer.from('/registry').toString('base64') });
  await post('compaction', { revision: header.revision, physical: true });
}
