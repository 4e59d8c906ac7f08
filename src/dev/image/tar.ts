// A deterministic tar writer for image layers: the same entries give the same
// bytes whatever order they were listed in and whenever they are written.
// Every entry gets one fixed mtime (SOURCE_DATE_EPOCH), explicit numeric
// owners and no user or group names; entries are sorted by path; and a PAX
// header is added only for a path or link target too long for ustar, with no
// time fields in it. gzip is deterministic too: zlib writes no name and a zero
// mtime in the gzip header (RFC 1952 "no time stamp").
import { gzipSync } from 'node:zlib';

export type TarEntry =
  | { type: 'dir'; path: string; mode: number; uid?: number; gid?: number }
  | { type: 'file'; path: string; mode: number; data: Buffer; uid?: number; gid?: number }
  | { type: 'symlink'; path: string; target: string; uid?: number; gid?: number };

const BLOCK = 512;

/** The tar (POSIX ustar, PAX for long names) of `entries`, sorted by path, each with mtime `mtime` (seconds). */
export function writeTar(entries: TarEntry[], mtime: number): Buffer {
  const seen = new Set<string>();
  const sorted = entries.map((e) => ({ ...e, path: normalizePath(e.path, e.type === 'dir') })).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const parts: Buffer[] = [];
  for (const e of sorted) {
    if (seen.has(e.path)) throw new Error(`tar: ${e.path} listed twice`);
    seen.add(e.path);
    const data = e.type === 'file' ? e.data : Buffer.alloc(0);
    const link = e.type === 'symlink' ? e.target : '';
    const typeflag = e.type === 'file' ? '0' : e.type === 'symlink' ? '2' : '5';
    const mode = e.type === 'symlink' ? 0o777 : e.mode;
    const pax: Record<string, string> = {};
    const split = splitUstarPath(e.path);
    if (!split) pax.path = e.path;
    if (Buffer.byteLength(link) > 100) pax.linkpath = link;
    if (Object.keys(pax).length) {
      const body = paxRecords(pax);
      parts.push(header({ name: 'PaxHeaders/' + e.path.slice(-80).replace(/^\/+/, ''), prefix: '', mode: 0o644, uid: 0, gid: 0, size: body.length, mtime, typeflag: 'x', link: '' }));
      parts.push(body, padding(body.length));
    }
    const [prefix, name] = split ?? ['', e.path.slice(-100)];
    parts.push(header({ name, prefix, mode, uid: e.uid ?? 0, gid: e.gid ?? 0, size: data.length, mtime, typeflag, link: link.slice(0, 100) }));
    if (data.length) parts.push(data, padding(data.length));
  }
  parts.push(Buffer.alloc(BLOCK * 2));
  return Buffer.concat(parts);
}

/** gzip with no file name and a zero timestamp in its header, so equal input gives equal output. */
export function gzipDeterministic(data: Buffer): Buffer {
  return gzipSync(data, { level: 9 });
}

/** `./a/b` or `/a/b` becomes `a/b`; directories end with a slash, as tar writes them. */
function normalizePath(p: string, dir: boolean): string {
  const bare = p.replace(/^\.?\/+/, '').replace(/\/+$/, '');
  if (!bare || bare.split('/').some((s) => s === '..' || s === '.' || s === '')) throw new Error(`tar: bad path ${JSON.stringify(p)}`);
  return dir ? `${bare}/` : bare;
}

/** [prefix, name] when the path fits ustar's 155 + 100 bytes, else undefined. */
function splitUstarPath(p: string): [string, string] | undefined {
  if (Buffer.byteLength(p) <= 100) return ['', p];
  for (let i = p.indexOf('/'); i >= 0; i = p.indexOf('/', i + 1)) {
    const prefix = p.slice(0, i);
    const name = p.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100 && name) return [prefix, name];
  }
  return undefined;
}

function paxRecords(fields: Record<string, string>): Buffer {
  let out = '';
  for (const [k, v] of Object.entries(fields).sort()) {
    const rest = ` ${k}=${v}\n`;
    // The record's length counts its own digits.
    let len = Buffer.byteLength(rest) + 1;
    while (String(len).length + Buffer.byteLength(rest) !== len) len = String(len).length + Buffer.byteLength(rest);
    out += `${len}${rest}`;
  }
  return Buffer.from(out);
}

interface Header {
  name: string;
  prefix: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  typeflag: string;
  link: string;
}

function header(h: Header): Buffer {
  const b = Buffer.alloc(BLOCK);
  b.write(h.name, 0, 100, 'utf8');
  octal(b, 100, 8, h.mode & 0o7777);
  octal(b, 108, 8, h.uid);
  octal(b, 116, 8, h.gid);
  octal(b, 124, 12, h.size);
  octal(b, 136, 12, h.mtime);
  b.fill(' ', 148, 156); // checksum field counts as spaces while summing
  b.write(h.typeflag, 156, 1, 'latin1');
  b.write(h.link, 157, 100, 'utf8');
  b.write('ustar\u000000', 257, 8, 'latin1');
  b.write(h.prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const byte of b) sum += byte;
  b.write(`${sum.toString(8).padStart(6, '0')}\u0000 `, 148, 8, 'latin1');
  return b;
}

function octal(b: Buffer, offset: number, width: number, value: number): void {
  const s = value.toString(8).padStart(width - 1, '0');
  if (s.length > width - 1) throw new Error(`tar: ${value} does not fit a ${width}-byte field`);
  b.write(`${s}\u0000`, offset, width, 'latin1');
}

function padding(n: number): Buffer {
  return Buffer.alloc((BLOCK - (n % BLOCK)) % BLOCK);
}
