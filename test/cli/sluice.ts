// Runs the sluice command as a child process against the test cluster.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { testKubeconfig } from '../harness.ts';

const bin = fileURLToPath(new URL('../../bin/sluice.js', import.meta.url));

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `sluice ARGS` to its end; asynchronous, so an operator in this process keeps working meanwhile. */
export async function sluice(args: string[], env: Record<string, string> = {}): Promise<Result> {
  const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, KUBECONFIG: await testKubeconfig(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  return collect(child);
}

export function collect(child: ChildProcess): Promise<Result> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (c) => (stdout += c));
    child.stderr!.on('data', (c) => (stderr += c));
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : -1), stdout, stderr }));
  });
}

/** Starts `sluice ARGS` and leaves it running (get --watch). */
export async function start(args: string[]): Promise<{ child: ChildProcess; output: () => string; done: Promise<Result> }> {
  const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, KUBECONFIG: await testKubeconfig() }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (c) => (out += c));
  const done = collect(child);
  return { child, output: () => out, done };
}
