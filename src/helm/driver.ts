import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Socket } from 'node:net';
import { HelmError } from '../tools/helmcli.ts';

export interface HelmDriverOptions {
  /** Path of the helm-driver binary, or how to get it (built on first use). */
  bin: string | (() => Promise<string>);
}

export interface CallOptions {
  /** Give up (and cancel the action) after this long; helm's own timeout should fire first. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

interface Pending {
  op: string;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

/**
 * Runs Helm actions in one long-lived helm-driver process (tools/helm-driver,
 * the Helm SDK): requests and answers are lines of JSON on its stdin and
 * stdout, matched by id, any number in flight at once. The process keeps
 * each cluster identity's discovery and OpenAPI schema in memory, so an
 * action costs its API requests and nothing more. It is started on first
 * use and again after it dies; a death fails only the actions in flight.
 */
export class HelmDriver {
  private child: ChildProcess | undefined;
  private starting: Promise<ChildProcess> | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private stderrTail = '';

  constructor(private readonly o: HelmDriverOptions) {}

  /** Sends one request; resolves with its result, rejects with HelmError carrying Helm's message. */
  async call<T>(op: string, body: object, opts: CallOptions = {}): Promise<T> {
    if (opts.signal?.aborted) throw new HelmError('helm was interrupted', [op], -1, '');
    const child = await this.process();
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const cancel = (why: string) => {
        if (!this.pending.has(id)) return;
        finish();
        this.send(child, { id, op: 'cancel' });
        reject(new HelmError(why, [op], -1, ''));
      };
      const onAbort = () => cancel('helm was interrupted');
      const finish = () => {
        this.pending.delete(id);
        clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
        this.refWhileBusy(child);
      };
      this.pending.set(id, {
        op,
        resolve: (v) => {
          finish();
          resolve(v as T);
        },
        reject: (e) => {
          finish();
          reject(e);
        },
      });
      if (opts.timeoutMs) timer = setTimeout(() => cancel(`helm did not finish within ${opts.timeoutMs} ms`), opts.timeoutMs);
      opts.signal?.addEventListener('abort', onAbort);
      this.refWhileBusy(child);
      this.send(child, { ...body, id, op });
    });
  }

  /** The running driver's process id, if one runs. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Closes the driver's stdin: actions under way finish, then it exits. Kills it after `graceMs`. */
  async stop(graceMs = 30_000): Promise<void> {
    const child = this.child ?? (await this.starting?.catch(() => undefined));
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.stdin!.end();
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }

  private send(child: ChildProcess, msg: object): void {
    child.stdin!.write(`${JSON.stringify(msg)}\n`);
  }

  private process(): Promise<ChildProcess> {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) return Promise.resolve(this.child);
    this.starting ??= this.spawn().finally(() => (this.starting = undefined));
    return this.starting;
  }

  private async spawn(): Promise<ChildProcess> {
    const bin = typeof this.o.bin === 'string' ? this.o.bin : await this.o.bin();
    const env: NodeJS.ProcessEnv = {};
    // No HELM_* or KUBECONFIG from the parent: every request says which cluster.
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('HELM_') && k !== 'KUBECONFIG') env[k] = v;
    const child = spawn(bin, [], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.stderrTail = '';
    child.stderr!.on('data', (c: Buffer) => (this.stderrTail = (this.stderrTail + c.toString('utf8')).slice(-4000)));
    // A dead driver's stdin may report EPIPE; the exit handler below fails the actions.
    child.stdin!.on('error', () => {});
    createInterface({ input: child.stdout! }).on('line', (line) => this.answer(line));
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', () => resolve());
      child.once('error', (err) => reject(new Error(`cannot start the helm driver ${bin}: ${err.message}`)));
    });
    child.once('exit', (code, signal) => {
      if (this.child === child) this.child = undefined;
      const why = `the helm driver exited (${signal ?? `code ${code}`})${this.stderrTail ? `: ${this.stderrTail.trim().slice(-1000)}` : ''}`;
      for (const p of [...this.pending.values()]) p.reject(new HelmError(why, [p.op], -1, this.stderrTail));
    });
    this.child = child;
    this.refWhileBusy(child);
    return child;
  }

  private answer(line: string): void {
    let msg: { id?: number; result?: unknown; error?: string };
    try {
      msg = JSON.parse(line);
    } catch {
      return; // not ours: the driver writes nothing else to stdout
    }
    const p = msg.id === undefined ? undefined : this.pending.get(msg.id);
    if (!p) return; // cancelled or timed out already
    if (msg.error !== undefined) p.reject(new HelmError(msg.error, [p.op], 1, ''));
    else p.resolve(msg.result);
  }

  /** The driver keeps Node's event loop alive only while an action is in flight. */
  private refWhileBusy(child: ChildProcess): void {
    const busy = this.pending.size > 0;
    for (const h of [child, child.stdout as Socket | null, child.stderr as Socket | null, child.stdin as Socket | null]) {
      if (!h) continue;
      if (busy) h.ref();
      else h.unref();
    }
  }
}
