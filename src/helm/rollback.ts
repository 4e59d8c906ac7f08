import { flag, helmDuration, type HelmCli, type HelmTarget } from './cli.ts';

export interface RollbackRequest {
  target: HelmTarget;
  name: string;
  namespace: string;
  /** Revision to roll back to; 0 is the previous one. */
  revision: number;
  timeoutMs: number;
  historyMax: number;
  force?: boolean;
  cleanupOnFail?: boolean;
  noHooks?: boolean;
  recreatePods?: boolean;
  signal?: AbortSignal;
}

/** `helm rollback`: makes a new revision with the old one's chart, values and manifest. */
export async function rollbackRelease(cli: HelmCli, r: RollbackRequest): Promise<void> {
  await cli.run(
    [
      'rollback',
      r.name,
      String(r.revision),
      '--timeout',
      helmDuration(r.timeoutMs),
      '--history-max',
      String(r.historyMax),
      ...flag(r.force, '--force'),
      ...flag(r.cleanupOnFail, '--cleanup-on-fail'),
      ...flag(r.noHooks, '--no-hooks'),
      ...flag(r.recreatePods, '--recreate-pods'),
    ],
    { target: r.target, namespace: r.namespace, timeoutMs: r.timeoutMs + 60_000, signal: r.signal },
  );
}
