import { rm } from 'node:fs/promises';
import { isOurProcess, stopProcess } from './processes.ts';
import { componentOrder, readState, statePath } from './state.ts';
import { sluiceHome } from '../../util/paths.ts';

/** Stops every component `up` started under this SLUICE_HOME, in reverse order. */
export async function stopCluster(home = sluiceHome()): Promise<string[]> {
  const state = readState(home);
  if (!state) return [];
  const stopped: string[] = [];
  for (const name of [...componentOrder].reverse()) {
    const pid = state.pids[name];
    if (pid && isOurProcess(pid, state.binary, name)) {
      await stopProcess(pid);
      stopped.push(name);
    }
  }
  await rm(statePath(home), { force: true });
  return stopped;
}
