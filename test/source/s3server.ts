import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, createHmac } from 'node:crypto';
import { createInterface } from 'node:readline';
import { request } from 'node:http';
import { ensureS3Server } from '../../src/tools/localgo.ts';

// A real S3 endpoint for the Bucket tests: gofakes3's in-memory store
// (tools/s3-server) on 127.0.0.1, which checks every request's SigV4
// signature with the AWS SDK's signer. The test writes objects through it
// with a signer of its own, a minimal second implementation (so a mistake
// in Sluice's would not also be in the test's).

export interface S3Server {
  /** host:port, as a Bucket's spec.endpoint. */
  endpoint: string;
  createBucket(bucket: string): Promise<void>;
  put(bucket: string, key: string, body: string): Promise<void>;
  remove(bucket: string, key: string): Promise<void>;
  close(): Promise<void>;
}

export async function startS3Server(accessKey: string, secretKey: string): Promise<S3Server> {
  const bin = await ensureS3Server({ log: (m) => process.stderr.write(`# ${m}\n`) });
  const child: ChildProcess = spawn(bin, ['-addr', '127.0.0.1:0'], { env: { ...process.env, S3_ACCESS_KEY: accessKey, S3_SECRET_KEY: secretKey }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const endpoint = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`s3-server did not start within 10 s: ${stderr}`)), 10_000);
    createInterface({ input: child.stdout! }).once('line', (line) => {
      clearTimeout(timer);
      const m = /^listening on (127\.0\.0\.1:\d+)$/.exec(line.trim());
      if (m) resolve(m[1]!);
      else reject(new Error(`s3-server said '${line}'`));
    });
    child.once('exit', (code) => reject(new Error(`s3-server exited with ${code}: ${stderr}`)));
  }).catch((err: unknown) => {
    child.kill('SIGKILL');
    throw err;
  });

  const send = (method: string, path: string, body = ''): Promise<void> => {
    const date = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
    const day = date.slice(0, 8);
    const payload = createHash('sha256').update(body).digest('hex');
    const canonicalPath = path.split('/').map(encodeURIComponent).join('/');
    const canonical = `${method}\n${canonicalPath}\n\nhost:${endpoint}\nx-amz-content-sha256:${payload}\nx-amz-date:${date}\n\nhost;x-amz-content-sha256;x-amz-date\n${payload}`;
    const scope = `${day}/us-east-1/s3/aws4_request`;
    const toSign = `AWS4-HMAC-SHA256\n${date}\n${scope}\n${createHash('sha256').update(canonical).digest('hex')}`;
    let key: Buffer = createHmac('sha256', `AWS4${secretKey}`).update(day).digest();
    for (const part of ['us-east-1', 's3', 'aws4_request']) key = createHmac('sha256', key).update(part).digest();
    const sig = createHmac('sha256', key).update(toSign).digest('hex');
    return new Promise((resolve, reject) => {
      const req = request(`http://${endpoint}${canonicalPath}`, {
        method,
        headers: {
          'x-amz-date': date,
          'x-amz-content-sha256': payload,
          authorization: `AWS4-HMAC-SHA256 Credential=${accessKey}/${scope}, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=${sig}`,
          'content-length': Buffer.byteLength(body),
        },
      }, (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => (res.statusCode! < 300 ? resolve() : reject(new Error(`${method} ${path}: ${res.statusCode} ${text}`))));
      });
      req.on('error', reject);
      req.end(body);
    });
  };
  return {
    endpoint,
    createBucket: (bucket) => send('PUT', `/${bucket}`),
    put: (bucket, key, body) => send('PUT', `/${bucket}/${key}`, body),
    remove: (bucket, key) => send('DELETE', `/${bucket}/${key}`),
    async close() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}
