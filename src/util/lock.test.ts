import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ownerId, withLock } from './lock.ts';

// A lock left by a process that was killed while holding it is taken over
// at once (issue 20: a controller SIGKILLed during a Git fetch left its
// mirror locked for 30 minutes to the controller that replaced it).

const tmp = () => mkdtemp(join(tmpdir(), 'sluice-lock-'));

test('one holder at a time within a process', async () => {
  const dir = await tmp();
  const lock = join(dir, 'x.lock');
  const order: string[] = [];
  const a = withLock(lock, async () => {
    order.push('a in');
    await new Promise((r) => setTimeout(r, 300));
    order.push('a out');
  });
  await new Promise((r) => setTimeout(r, 20));
  const b = withLock(lock, async () => void order.push('b'));
  await Promise.all([a, b]);
  assert.deepEqual(order, ['a in', 'a out', 'b']);
  await rm(dir, { recursive: true });
});

test('a lock whose owner died is taken over at once', async () => {
  const dir = await tmp();
  const lock = join(dir, 'x.lock');
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
  await new Promise((r) => child.once('spawn', r));
  const id = ownerId(child.pid!);
  assert.ok(id, 'the child has an owner id');
  await mkdir(lock);
  await writeFile(join(lock, 'owner'), id);
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  const t = Date.now();
  await withLock(lock, async () => {});
  assert.ok(Date.now() - t < 2_000, `taken over in ${Date.now() - t} ms`);
  await rm(dir, { recursive: true });
});

test('a live owner is waited for; a recycled pid with another start time is not the owner', async () => {
  const dir = await tmp();
  const lock = join(dir, 'x.lock');
  await mkdir(lock);
  await writeFile(join(lock, 'owner'), ownerId(process.pid)!);
  let got = false;
  const waiting = withLock(lock, async () => void (got = true));
  await new Promise((r) => setTimeout(r, 600));
  assert.equal(got, false, 'a lock of a live process is respected');
  await writeFile(join(lock, 'owner'), `${hostname()} ${process.pid} 1`);
  await waiting;
  assert.equal(got, true);
  await rm(dir, { recursive: true });
});

test('a lock of a process on another host (shared storage) is judged by its age only', async () => {
  const dir = await tmp();
  const lock = join(dir, 'x.lock');
  await mkdir(lock);
  await writeFile(join(lock, 'owner'), `some-other-host 1 1`);
  let got = false;
  const waiting = withLock(lock, async () => void (got = true), 1_000);
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(got, false, 'not taken over while young');
  await waiting;
  assert.equal(got, true, 'taken over once older than staleMs');
  await rm(dir, { recursive: true });
});

test('a lock without an owner file is taken over after a grace period, or when older than staleMs', async () => {
  const dir = await tmp();
  const lock = join(dir, 'x.lock');
  await mkdir(lock);
  const old = new Date(Date.now() - 60_000);
  await utimes(lock, old, old);
  const t = Date.now();
  await withLock(lock, async () => {});
  assert.ok(Date.now() - t < 2_000);
  await mkdir(lock);
  await withLock(lock, async () => {}, 100).then(() => assert.ok(true));
  await rm(dir, { recursive: true });
});
