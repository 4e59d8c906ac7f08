// Restarting one component of a running local control plane, for the
// reliability tests (test/faults/): the API server or etcd goes away and
// comes back on the same port with the same data, as after a crash or an
// upgrade of a real control plane.
import { join } from 'node:path';
import { componentArgs } from './flags.ts';
import { portAnswers } from './ports.ts';
import { isOurProcess, startDetached, stopProcess } from './processes.ts';
import { clusterDir, readState, writeState, type ComponentName } from './state.ts';
import { sluiceHome } from '../../util/paths.ts';

export interface RestartOptions {
  home?: string;
  /** SIGKILL (a crash) instead of SIGTERM (an orderly stop). */
  kill?: boolean;
  /** How long the component stays down before it starts again. */
  downMs?: number;
}

/** Stops a component of the cluster under `home`; returns once the process is gone. */
export async function stopComponent(name: ComponentName, opts: RestartOptions = {}): Promise<void> {
  const home = opts.home ?? sluiceHome();
  const state = readState(home);
  if (!state) throw new Error(`no cluster runs under ${home}`);
  const pid = state.pids[name];
  if (!pid || !isOurProcess(pid, state.binary, name)) throw new Error(`${name} does not run under ${home}`);
  if (opts.kill) {
    process.kill(pid, 'SIGKILL');
    // Wait for the process to go, so its port is free for the new one.
    await stopProcess(pid, 5_000);
  } else {
    await stopProcess(pid);
  }
}

/** Starts a stopped component again with the flags `up` gave it; resolves once its port answers. */
export async function startComponent(name: ComponentName, opts: RestartOptions = {}): Promise<void> {
  const home = opts.home ?? sluiceHome();
  const state = readState(home);
  if (!state) throw new Error(`no cluster runs under ${home}`);
  const dir = clusterDir(home);
  const args = componentArgs(name, { dir, pkiDir: join(dir, 'pki'), ports: state.ports, profile: state.profile });
  state.pids[name] = startDetached(state.binary, [name, ...args], join(dir, 'logs', `${name}.log`));
  await writeState(state, home);
  const port = name === 'etcd' ? state.ports.etcdClient : name === 'kube-apiserver' ? state.ports.apiserver : undefined;
  if (port === undefined) return;
  const deadline = Date.now() + 60_000;
  while (!(await portAnswers(port))) {
    if (!isOurProcess(state.pids[name]!, state.binary, name)) throw new Error(`${name} exited while starting again; see ${join(dir, 'logs', `${name}.log`)}`);
    if (Date.now() > deadline) throw new Error(`${name} did not listen on ${port} within 60 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Stop, stay down for `downMs`, start again. */
export async function restartComponent(name: ComponentName, opts: RestartOptions = {}): Promise<void> {
  await stopComponent(name, opts);
  if (opts.downMs) await new Promise((r) => setTimeout(r, opts.downMs));
  await startComponent(name, opts);
}
