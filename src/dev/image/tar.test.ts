import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { gzipDeterministic, writeTar, type TarEntry } from './tar.ts';

/** Reads back name, type, mode, uid, mtime, size and data of each ustar entry (PAX path records applied). */
function readTar(b: Buffer): Array<{ name: string; type: string; mode: number; uid: number; mtime: number; data: string; link: string }> {
  const out = [];
  let pax: Record<string, string> = {};
  for (let off = 0; off + 512 <= b.length; ) {
    const h = b.subarray(off, off + 512);
    if (h.every((x) => x === 0)) break;
    const str = (s: number, n: number) => h.subarray(s, s + n).toString('utf8').replace(/\0.*$/s, '');
    const num = (s: number, n: number) => parseInt(str(s, n).trim() || '0', 8);
    const size = num(124, 12);
    const data = b.subarray(off + 512, off + 512 + size);
    const type = str(156, 1);
    off += 512 + Math.ceil(size / 512) * 512;
    if (type === 'x') {
      for (const m of data.toString('utf8').matchAll(/\d+ ([^=]+)=([^\n]*)\n/g)) pax[m[1]!] = m[2]!;
      continue;
    }
    const prefix = str(345, 155);
    const name = pax.path ?? (prefix ? `${prefix}/${str(0, 100)}` : str(0, 100));
    out.push({ name, type, mode: num(100, 8), uid: num(108, 8), mtime: num(136, 12), data: data.toString('utf8'), link: pax.linkpath ?? str(157, 100) });
    pax = {};
  }
  return out;
}

const entries: TarEntry[] = [
  { type: 'file', path: '/opt/app/b.js', mode: 0o644, data: Buffer.from('b') },
  { type: 'dir', path: 'opt/', mode: 0o755 },
  { type: 'symlink', path: './opt/app/current', target: 'b.js' },
  { type: 'dir', path: 'opt/app', mode: 0o755, uid: 65532, gid: 65532 },
  { type: 'file', path: 'opt/app/a.js', mode: 0o755, data: Buffer.from('a') },
];

test('the same entries in any order give the same bytes, sorted, with one mtime and numeric owners', () => {
  const a = writeTar(entries, 1_700_000_000);
  const b = writeTar([...entries].reverse(), 1_700_000_000);
  assert.ok(a.equals(b));
  assert.ok(gzipDeterministic(a).equals(gzipDeterministic(b)), 'gzip has no timestamp');
  assert.equal(gzipDeterministic(a).readUInt32LE(4), 0, 'gzip MTIME field is zero');
  assert.ok(gunzipSync(gzipDeterministic(a)).equals(a));
  assert.notEqual(writeTar(entries, 1_700_000_001).toString('hex'), a.toString('hex'), 'the mtime is in the bytes');
  const read = readTar(a);
  assert.deepEqual(read.map((e) => [e.name, e.type]), [['opt/', '5'], ['opt/app/', '5'], ['opt/app/a.js', '0'], ['opt/app/b.js', '0'], ['opt/app/current', '2']]);
  assert.ok(read.every((e) => e.mtime === 1_700_000_000));
  assert.equal(read[1]!.uid, 65532);
  assert.equal(read[2]!.mode, 0o755);
  assert.equal(read[3]!.data, 'b');
  assert.equal(read[4]!.link, 'b.js');
});

test('long paths and link targets survive through PAX records; bad paths are refused', () => {
  const long = `opt/${'d'.repeat(120)}/${'f'.repeat(120)}`;
  const target = `/${'t'.repeat(150)}`;
  const read = readTar(writeTar([{ type: 'file', path: long, mode: 0o644, data: Buffer.from('x') }, { type: 'symlink', path: 'opt/l', target }], 0));
  assert.deepEqual(read.map((e) => e.name), [long, 'opt/l']);
  assert.equal(read[1]!.link, target);
  const split = `${'p'.repeat(120)}/${'n'.repeat(90)}`;
  assert.equal(readTar(writeTar([{ type: 'file', path: split, mode: 0o644, data: Buffer.alloc(0) }], 0))[0]!.name, split, 'ustar prefix split');
  for (const bad of ['../etc/passwd', 'a/../b', '', '/']) assert.throws(() => writeTar([{ type: 'dir', path: bad, mode: 0o755 }], 0), /bad path/);
  assert.throws(() => writeTar([{ type: 'dir', path: 'a', mode: 0o755 }, { type: 'dir', path: './a/', mode: 0o755 }], 0), /listed twice/);
});
