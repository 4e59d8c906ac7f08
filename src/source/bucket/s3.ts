// A small client for the part of the S3 API a Bucket source needs: whether
// the bucket exists, ListObjectsV2 (every page) and GetObject to a file,
// path-style, signed with AWS Signature Version 4. No SDK: these three calls
// and the signature are a page of code, where the AWS SDK would be tens of
// MiB in the bundle.
import { createHash, createHmac } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { pipeline } from 'node:stream/promises';

export interface S3Options {
  /** host[:port], as Bucket's spec.endpoint. */
  endpoint: string;
  insecure?: boolean;
  region: string;
  accessKey?: string;
  secretKey?: string;
  /** PEM CA bundle for the endpoint. */
  ca?: Buffer;
  timeoutMs: number;
  clock?: () => Date;
}

export interface S3Object {
  key: string;
  etag: string;
  size: number;
}

/** An S3 error answer: its code (NoSuchBucket, AccessDenied, SignatureDoesNotMatch, ...) and HTTP status. */
export class S3Error extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'S3Error';
  }

  get auth(): boolean {
    return this.status === 403 || this.status === 401 || ['AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'RequestTimeTooSkewed'].includes(this.code);
  }
}

const EMPTY_SHA256 = createHash('sha256').update('').digest('hex');

/** RFC 3986 encoding, as SigV4 wants it: everything but A-Z a-z 0-9 - _ . ~ */
export function uriEncode(s: string, keepSlash = false): string {
  return Array.from(Buffer.from(s, 'utf8'))
    .map((b) => {
      const c = String.fromCharCode(b);
      if (/[A-Za-z0-9\-_.~]/.test(c) || (keepSlash && c === '/')) return c;
      return `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
    })
    .join('');
}

const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();

/**
 * The Authorization header of a SigV4-signed request (pure): the canonical
 * request (method, path, sorted query, the signed headers, the payload
 * hash), the string to sign, and the signature with the key derived from
 * the secret, the day, the region and the service.
 */
export function signV4(o: {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  payloadHash: string;
  accessKey: string;
  secretKey: string;
  region: string;
  amzDate: string;
}): string {
  const day = o.amzDate.slice(0, 8);
  const query = Object.keys(o.query)
    .sort()
    .map((k) => `${uriEncode(k)}=${uriEncode(o.query[k]!)}`)
    .join('&');
  const names = Object.keys(o.headers).map((h) => h.toLowerCase()).sort();
  const lower = Object.fromEntries(Object.entries(o.headers).map(([k, v]) => [k.toLowerCase(), v.trim().replace(/\s+/g, ' ')]));
  const canonical = [o.method, uriEncode(o.path, true), query, names.map((n) => `${n}:${lower[n]}\n`).join(''), names.join(';'), o.payloadHash].join('\n');
  const scope = `${day}/${o.region}/s3/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', o.amzDate, scope, createHash('sha256').update(canonical).digest('hex')].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${o.secretKey}`, day), o.region), 's3'), 'aws4_request');
  const signature = createHmac('sha256', key).update(toSign).digest('hex');
  return `AWS4-HMAC-SHA256 Credential=${o.accessKey}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`;
}

const amzDate = (d: Date) => d.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');

/** The first value of an XML element (S3's answers are flat enough for this). */
function xmlValue(xml: string, tag: string): string | undefined {
  const m = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(xml);
  return m ? decodeXml(m[1]!) : undefined;
}

function decodeXml(s: string): string {
  return s.replace(/&(lt|gt|amp|quot|apos|#\d+|#x[0-9a-fA-F]+);/g, (_, e: string) =>
    e === 'lt' ? '<' : e === 'gt' ? '>' : e === 'amp' ? '&' : e === 'quot' ? '"' : e === 'apos' ? "'" : String.fromCodePoint(e.startsWith('#x') ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10)),
  );
}

export class S3Client {
  constructor(private readonly o: S3Options) {}

  private request(method: string, path: string, query: Record<string, string> = {}): Promise<http.IncomingMessage> {
    const date = amzDate(this.o.clock?.() ?? new Date());
    const headers: Record<string, string> = { host: this.o.endpoint, 'x-amz-content-sha256': EMPTY_SHA256, 'x-amz-date': date };
    if (this.o.accessKey && this.o.secretKey) {
      headers.authorization = signV4({ method, path, query, headers: { ...headers }, payloadHash: EMPTY_SHA256, accessKey: this.o.accessKey, secretKey: this.o.secretKey, region: this.o.region, amzDate: date });
    }
    const qs = Object.keys(query)
      .sort()
      .map((k) => `${uriEncode(k)}=${uriEncode(query[k]!)}`)
      .join('&');
    const url = new URL(`${this.o.insecure ? 'http' : 'https'}://${this.o.endpoint}${uriEncode(path, true)}${qs ? `?${qs}` : ''}`);
    const mod = this.o.insecure ? http : https;
    return new Promise((resolve, reject) => {
      const req = mod.request(url, { method, headers, timeout: this.o.timeoutMs, ...(this.o.ca ? { ca: this.o.ca } : {}) }, resolve);
      req.on('timeout', () => req.destroy(new Error(`timed out after ${Math.round(this.o.timeoutMs / 1000)} s`)));
      req.on('error', reject);
      req.end();
    });
  }

  private async fail(res: http.IncomingMessage, what: string): Promise<never> {
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const code = xmlValue(body, 'Code') ?? `HTTP${res.statusCode}`;
    const message = xmlValue(body, 'Message') ?? (res.statusMessage || 'no message');
    throw new S3Error(`${what}: ${code}: ${message}`, code, res.statusCode ?? 0);
  }

  /** Whether the bucket exists (HEAD bucket; 404 is no). */
  async bucketExists(bucket: string): Promise<boolean> {
    const res = await this.request('HEAD', `/${bucket}`);
    res.resume();
    if (res.statusCode === 404) return false;
    // A HEAD answer has no body to say why access was refused: the listing that follows does.
    if (res.statusCode === 403) return true;
    if (res.statusCode && res.statusCode < 300) return true;
    throw new S3Error(`checking bucket '${bucket}': HTTP ${res.statusCode}`, res.statusCode === 403 ? 'AccessDenied' : `HTTP${res.statusCode}`, res.statusCode ?? 0);
  }

  /** Every object under `prefix`, all pages of ListObjectsV2. */
  async list(bucket: string, prefix = ''): Promise<S3Object[]> {
    const out: S3Object[] = [];
    let token: string | undefined;
    do {
      const query: Record<string, string> = { 'list-type': '2', ...(prefix ? { prefix } : {}), ...(token ? { 'continuation-token': token } : {}) };
      const res = await this.request('GET', `/${bucket}`, query);
      if (res.statusCode !== 200) await this.fail(res, `listing objects of bucket '${bucket}'`);
      const chunks: Buffer[] = [];
      for await (const c of res) chunks.push(c as Buffer);
      const xml = Buffer.concat(chunks).toString('utf8');
      for (const m of xml.matchAll(/<Contents>([\s\S]*?)<\/Contents>/g)) {
        const key = xmlValue(m[1]!, 'Key');
        if (key === undefined) continue;
        out.push({ key, etag: (xmlValue(m[1]!, 'ETag') ?? '').replace(/^"|"$/g, ''), size: Number(xmlValue(m[1]!, 'Size') ?? 0) });
      }
      token = xmlValue(xml, 'IsTruncated') === 'true' ? xmlValue(xml, 'NextContinuationToken') : undefined;
    } while (token);
    return out;
  }

  /** Downloads an object to `file`; refuses one larger than `maxBytes`. */
  async download(bucket: string, key: string, file: string, maxBytes: number): Promise<void> {
    const res = await this.request('GET', `/${bucket}/${key}`);
    if (res.statusCode !== 200) await this.fail(res, `downloading object '${key}'`);
    const length = Number(res.headers['content-length'] ?? 0);
    if (length > maxBytes) {
      res.destroy();
      throw new S3Error(`object '${key}' is ${length} bytes, more than the limit of ${maxBytes}`, 'TooLarge', 0);
    }
    await pipeline(res, createWriteStream(file));
  }
}
