import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { registryConfigJson } from '../../src/source/helm/ociref.ts';
import { packageChart } from '../../src/source/helm/package.ts';
import { ensureOciRegistry } from '../../src/tools/localgo.ts';
import { testHelm } from './helpers.ts';

// A real OCI registry for the Helm tests: go-containerregistry's in-memory
// registry (tools/oci-registry) on 127.0.0.1, optionally behind basic auth,
// with charts pushed by the real `helm push`.

export interface OciRegistryServer {
  /** host:port */
  host: string;
  /** Packages a chart directory and pushes it to oci://host/<path> (helm push, plain HTTP); the package's sha256 digest. */
  push(chartDir: string, path?: string): Promise<string>;
  close(): Promise<void>;
}

export async function startOciRegistry(opts: { username?: string; password?: string } = {}): Promise<OciRegistryServer> {
  const bin = await ensureOciRegistry({ log: (m) => process.stderr.write(`# ${m}\n`) });
  // Credentials through the environment, so they never show in ps.
  const env: NodeJS.ProcessEnv = { ...process.env, OCI_REGISTRY_USERNAME: opts.username ?? '', OCI_REGISTRY_PASSWORD: opts.password ?? '' };
  const child: ChildProcess = spawn(bin, ['-addr', '127.0.0.1:0'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const host = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const timer = setTimeout(() => reject(new Error(`oci-registry did not start within 10 s: ${stderr}`)), 10_000);
    lines.once('line', (line) => {
      clearTimeout(timer);
      const m = /^listening on (127\.0\.0\.1:\d+)$/.exec(line.trim());
      if (m) resolve(m[1]!);
      else reject(new Error(`oci-registry said '${line}'`));
    });
    child.once('exit', (code) => reject(new Error(`oci-registry exited with ${code}: ${stderr}`)));
    child.once('error', (e) => reject(new Error(`cannot run ${bin}: ${e.message}`)));
  }).catch((err: unknown) => {
    // Not left running when it did not start as it should.
    child.kill('SIGKILL');
    throw err;
  });
  const work = await mkdtemp(join(tmpdir(), 'sluice-oci-push-'));
  const creds = opts.username ? { username: opts.username, password: opts.password ?? '' } : undefined;
  return {
    host,
    async push(chartDir, path = 'charts') {
      const cli = await testHelm();
      const out = await mkdtemp(join(work, 'pkg-'));
      const tgz = await packageChart(cli, chartDir, out);
      await cli.run(['push', tgz, `oci://${host}/${path}`, '--plain-http'], {
        files: { 'registry.json': registryConfigJson(host, creds) },
        env: { HELM_REGISTRY_CONFIG: '@file:registry.json' },
      });
      return `sha256:${createHash('sha256').update(await readFile(tgz)).digest('hex')}`;
    },
    async close() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      await rm(work, { recursive: true, force: true });
    },
  };
}
