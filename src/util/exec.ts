import { spawn, type SpawnOptions } from 'node:child_process';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions extends SpawnOptions {
  /** Written to the child's stdin, then closed. */
  input?: string | Buffer;
  /** Reject when the exit code is not 0 (default true). */
  check?: boolean;
  /** Called with each chunk of stderr, e.g. to show build progress. */
  onStderr?: (chunk: string) => void;
}

/** Runs a program without a shell and collects its output. */
export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const { input, check = true, onStderr, ...spawnOpts } = opts;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...spawnOpts, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (c: Buffer) => out.push(c));
    child.stderr!.on('data', (c: Buffer) => {
      err.push(c);
      onStderr?.(c.toString('utf8'));
    });
    child.once('error', (e) => reject(new Error(`cannot run ${cmd}: ${e.message}`)));
    child.once('close', (code) => {
      const res = {
        code: code ?? -1,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      };
      if (check && res.code !== 0) {
        reject(new Error(`${cmd} ${args.join(' ')} exited with ${res.code}: ${res.stderr.trim().slice(-2000)}`));
      } else resolve(res);
    });
    child.stdin!.end(input);
  });
}
