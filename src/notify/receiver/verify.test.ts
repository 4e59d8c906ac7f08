import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { safeEqual, verify } from './verify.ts';
import { webhookPath } from './hookpath.ts';

const TOKEN = 't0ken';
const body = Buffer.from('{"ref":"refs/heads/main"}');
const sig = (algo: string, key = TOKEN, b = body) => createHmac(algo, key).update(b).digest('hex');

test('the hook path is Flux\'s: /hook/ + hex sha256(token + name + namespace)', () => {
  assert.equal(webhookPath('tok', 'gh', 'flux-system'), `/hook/${createHash('sha256').update('tokghflux-system').digest('hex')}`);
});

test('github: X-Hub-Signature-256 (or sha1), events filter, ping', () => {
  const h = (s: string, event = 'push') => ({ 'x-hub-signature-256': s, 'x-github-event': event });
  assert.deepEqual(verify({ type: 'github', headers: h(`sha256=${sig('sha256')}`), body, token: TOKEN, events: ['push'] }), { ok: true, event: 'push' });
  assert.deepEqual(verify({ type: 'github', headers: { 'x-hub-signature': `sha1=${sig('sha1')}`, 'x-github-event': 'push' }, body, token: TOKEN }), { ok: true, event: 'push' });
  assert.equal((verify({ type: 'github', headers: h(`sha256=${sig('sha256', 'x')}`), body, token: TOKEN }) as { status: number }).status, 401);
  assert.equal((verify({ type: 'github', headers: h('sha256=zz'), body, token: TOKEN }) as { status: number }).status, 401);
  assert.equal((verify({ type: 'github', headers: h(`md5=${sig('md5')}`), body, token: TOKEN }) as { status: number }).status, 401);
  assert.equal((verify({ type: 'github', headers: h(`sha256=${sig('sha256')}`, 'issues'), body, token: TOKEN, events: ['push'] }) as { status: number }).status, 400);
  assert.deepEqual(verify({ type: 'github', headers: h(`sha256=${sig('sha256')}`, 'ping'), body, token: TOKEN, events: ['push'] }), { ok: true, event: 'ping', pingOnly: true });
  const notJson = Buffer.from('nope');
  assert.equal((verify({ type: 'github', headers: h(`sha256=${sig('sha256', TOKEN, notJson)}`), body: notJson, token: TOKEN }) as { status: number }).status, 400);
});

test('generic, generic-hmac, gitlab, bitbucket, harbor, nexus', () => {
  assert.deepEqual(verify({ type: 'generic', headers: {}, body, token: TOKEN }), { ok: true });
  assert.deepEqual(verify({ type: 'generic-hmac', headers: { 'x-signature': `sha256=${sig('sha256')}` }, body, token: TOKEN }), { ok: true });
  assert.equal((verify({ type: 'generic-hmac', headers: {}, body, token: TOKEN }) as { status: number }).status, 401);
  assert.deepEqual(verify({ type: 'gitlab', headers: { 'x-gitlab-token': TOKEN, 'x-gitlab-event': 'Push Hook' }, body, token: TOKEN, events: ['push hook'] }), { ok: true, event: 'Push Hook' });
  assert.equal((verify({ type: 'gitlab', headers: { 'x-gitlab-token': 'no' }, body, token: TOKEN }) as { status: number }).status, 401);
  assert.deepEqual(verify({ type: 'bitbucket', headers: { 'x-hub-signature': `sha256=${sig('sha256')}`, 'x-event-key': 'repo:refs_changed' }, body, token: TOKEN }), { ok: true, event: 'repo:refs_changed' });
  assert.equal((verify({ type: 'harbor', headers: { authorization: 'nope' }, body, token: TOKEN }) as { status: number }).status, 401);
  assert.deepEqual(verify({ type: 'harbor', headers: { authorization: TOKEN }, body, token: TOKEN }), { ok: true });
  const nexusBody = Buffer.from('{"action":"CREATED","repositoryName":"r"}');
  assert.deepEqual(verify({ type: 'nexus', headers: { 'x-nexus-webhook-signature': sig('sha1', TOKEN, nexusBody) }, body: nexusBody, token: TOKEN }), { ok: true, event: 'CREATED' });
  assert.equal((verify({ type: 'nexus', headers: { 'x-nexus-webhook-signature': 'ab' }, body: nexusBody, token: TOKEN }) as { status: number }).status, 401);
});

test('registries that do not sign: the body must be theirs', () => {
  const dh = Buffer.from('{"push_data":{"tag":"v1"},"repository":{"repo_url":"https://hub.docker.com/r/a/b"}}');
  assert.deepEqual(verify({ type: 'dockerhub', headers: {}, body: dh, token: TOKEN }), { ok: true, event: 'push' });
  assert.equal((verify({ type: 'dockerhub', headers: {}, body, token: TOKEN }) as { status: number }).status, 400);
  assert.deepEqual(verify({ type: 'quay', headers: {}, body: Buffer.from('{"docker_url":"quay.io/a/b","updated_tags":["v1"]}'), token: TOKEN }), { ok: true, event: 'push' });
  assert.deepEqual(verify({ type: 'acr', headers: {}, body: Buffer.from('{"action":"push","target":{"repository":"a","tag":"v1"}}'), token: TOKEN }), { ok: true, event: 'push' });
  assert.equal((verify({ type: 'gcr', headers: {}, body, token: TOKEN }) as { status: number }).status, 501);
});

test('safeEqual compares whole strings of any length', () => {
  assert.ok(safeEqual('abc', 'abc'));
  assert.ok(!safeEqual('abc', 'abd'));
  assert.ok(!safeEqual('abc', 'abcd'));
  assert.ok(!safeEqual('', 'a'));
});

test('cdevents: a CDEvent body (context and subject), Ce-Type against spec.events', () => {
  const cd = {
    context: { version: '0.4.1', id: '271069a8-fc18-44f1-b38f-9d70a1695819', source: '/event/source/123', type: 'dev.cdevents.pipelinerun.finished.0.2.0', timestamp: '2026-12-07T22:00:00Z' },
    subject: { id: 'mySubject123', source: '/event/source/123', content: { pipelineName: 'myPipeline', outcome: 'success' } },
  };
  const b = (v: unknown) => Buffer.from(JSON.stringify(v));
  const headers = { 'ce-type': 'dev.cdevents.pipelinerun.finished.0.2.0' };
  assert.deepEqual(verify({ type: 'cdevents', headers, body: b(cd), token: TOKEN, events: ['dev.cdevents.pipelinerun.finished.0.2.0'] }), { ok: true, event: 'dev.cdevents.pipelinerun.finished.0.2.0' });
  const status = (v: unknown, events?: string[]) => (verify({ type: 'cdevents', headers, body: b(v), token: TOKEN, events }) as { status?: number }).status;
  assert.equal(status(cd, ['dev.cdevents.taskrun.started.0.2.0']), 400);
  assert.equal(status({ ...cd, context: { ...cd.context, type: 'com.example.thing' } }), 400);
  assert.equal(status({ ...cd, context: { ...cd.context, id: undefined } }), 400);
  assert.equal(status({ ...cd, subject: { id: 'x' } }), 400);
  assert.equal(status([cd]), 400);
});
